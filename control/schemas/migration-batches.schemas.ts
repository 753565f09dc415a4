import { Type } from 'typebox';
import { Closed, Id, Timestamp } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** One source account; every field optional here so that the plan names what is wrong, row by row. */
export const MigrationBatchRow = Closed(
  {
    address: Type.Optional(Type.String({ maxLength: 254, description: 'The target mailbox in this tenant' })),
    sourceHost: Type.Optional(Type.String({ maxLength: 253 })),
    sourcePort: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ maxLength: 5 })])),
    tls: Type.Optional(Type.String({ maxLength: 10, description: 'implicit | starttls' })),
    user: Type.Optional(Type.String({ maxLength: 320 })),
    password: Type.Optional(Type.String({ maxLength: 8192, description: 'Sealed at once; never returned' })),
  },
  { title: 'MigrationBatchRow' },
);

export const CreateMigrationBatchBody = Closed({
  rows: Type.Array(MigrationBatchRow, { minItems: 1, maxItems: 10000 }),
  name: Type.Optional(Type.String({ maxLength: 200 })),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'Jobs at once when applying (default 4)' })),
});

/** For text/csv bodies, the options travel in the query. */
export const CreateMigrationBatchQuery = Closed({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  concurrency: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}$' })),
});

export const MigrationBatchParams = Closed({ migrationBatchId: Id });
export const ApplyMigrationBatchBody = Type.Union([Closed({ concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })) }), Type.Null()]);

const FolderSize = Type.Object({ name: Type.String(), messages: Type.Integer(), bytes: Type.Integer() });
const JobFolder = Type.Object({ source: Type.String(), target: Type.String(), copied: Type.Integer(), total: Type.Integer(), bytes: Type.Integer(), totalBytes: Type.Integer(), done: Type.Boolean() });

export const MigrationBatchItem = Type.Object(
  {
    row: Type.Integer(),
    address: Type.String(),
    mailboxId: Nullable(Id),
    source: Type.Object({ host: Type.String(), port: Type.Integer(), tls: Type.String(), user: Type.String() }),
    check: Type.Object({
      state: Type.String({ description: 'pending | ok | bad-credentials | unreachable | no-mailbox | invalid' }),
      error: Nullable(Type.String()),
      messages: Nullable(Type.Integer()),
      bytes: Nullable(Type.Integer()),
      folders: Type.Array(FolderSize),
    }),
    status: Type.String({ description: 'planned | skipped | started | done | failed | cancelled' }),
    migration: Nullable(
      Type.Object({
        id: Id,
        state: Type.String(),
        error: Nullable(Type.String()),
        percent: Type.Integer(),
        progress: Type.Object({ messages: Type.Integer(), bytes: Type.Integer(), totalMessages: Type.Integer(), totalBytes: Type.Integer(), folders: Type.Array(JobFolder) }),
      }),
    ),
  },
  { title: 'MigrationBatchItem' },
);

const summaryProps = {
  id: Id,
  tenantId: Id,
  name: Type.String(),
  state: Type.String({ description: 'planning | planned | applying | applied | cancelled' }),
  concurrency: Type.Integer(),
  plan: Type.Object({
    total: Type.Integer(),
    checked: Type.Integer(),
    ok: Type.Integer(),
    badCredentials: Type.Integer(),
    unreachable: Type.Integer(),
    noMailbox: Type.Integer(),
    invalid: Type.Integer(),
    messages: Type.Integer(),
    bytes: Type.Integer(),
  }),
  progress: Type.Object({
    mailboxes: Type.Integer(),
    ended: Type.Integer(),
    running: Type.Integer(),
    messages: Type.Integer(),
    bytes: Type.Integer(),
    totalMessages: Type.Integer(),
    totalBytes: Type.Integer(),
    percent: Type.Integer(),
  }),
  report: Type.Object({ done: Type.Integer(), failed: Type.Integer(), cancelled: Type.Integer(), skipped: Type.Integer(), messages: Type.Integer(), bytes: Type.Integer() }),
  error: Nullable(Type.String()),
  createdAt: Timestamp,
  appliedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
};

export const MigrationBatchSummary = Type.Object(summaryProps, { title: 'MigrationBatchSummary' });
export const MigrationBatch = Type.Object({ ...summaryProps, items: Type.Array(MigrationBatchItem) }, { title: 'MigrationBatch' });
