import { Type } from 'typebox';
import { BoolString, Closed, Id, Reason, Timestamp } from './common.js';

const Text = (max: number, description?: string) => Type.String({ maxLength: max, ...(description ? { description } : {}) });

/** One row; every field optional here so that the plan can name what is missing, row by row. */
export const BatchRow = Closed(
  {
    localPart: Type.Optional(Text(200)),
    domain: Type.Optional(Text(253)),
    displayName: Type.Optional(Text(300)),
    ownerName: Type.Optional(Text(300)),
    ownerEmail: Type.Optional(Text(300)),
    businessOwnerName: Type.Optional(Text(300)),
    businessOwnerEmail: Type.Optional(Text(300)),
    resetDestination: Type.Optional(Text(300, 'Where the setup link goes (default: ownerEmail)')),
    quota: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Text(30)], { description: 'Bytes, or 500M / 5G' })),
    role: Type.Optional(Type.Union([Type.Boolean(), Text(10)], { description: 'A role/shared account (needs approval); default from the local part' })),
    aliases: Type.Optional(Type.Union([Type.Array(Text(254), { maxItems: 20 }), Text(2000)], { description: 'Local parts or addresses in the same domain' })),
  },
  { title: 'BatchRow' },
);

export const CreateBatchBody = Closed({
  rows: Type.Array(BatchRow, { minItems: 1, maxItems: 10000 }),
  requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Idempotency key (or the Idempotency-Key header)' })),
  approvalRef: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Reference of the approval of this batch (ticket, approver)' })),
  allowUnverifiedDomains: Type.Optional(Type.Boolean({ description: 'Operator override: accept domains not verified yet' })),
});

/** For text/csv bodies, the batch options travel in the query. */
export const CreateBatchQuery = Closed({
  requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  approvalRef: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  allowUnverifiedDomains: Type.Optional(BoolString),
});

export const BatchParams = Closed({ batchId: Id });

const RowReason = Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) });

export const BatchPlan = Type.Object(
  {
    create: Type.Array(
      Type.Object({
        row: Type.Integer(),
        address: Type.String(),
        owner: Type.String(),
        resetDestination: Type.String(),
        quotaBytes: Type.Integer(),
        isRole: Type.Boolean(),
        aliases: Type.Array(Type.String()),
      }),
    ),
    refused: Type.Array(Type.Object({ row: Type.Integer(), address: Type.Union([Type.String(), Type.Null()]), reasons: Type.Array(RowReason) })),
    needsApproval: Type.Array(Type.Object({ row: Type.Integer(), address: Type.String(), reasons: Type.Array(RowReason) })),
    totals: Type.Object({ rows: Type.Integer(), create: Type.Integer(), refused: Type.Integer(), needsApproval: Type.Integer(), quotaBytes: Type.Integer() }),
  },
  { title: 'BatchPlan' },
);

const BatchState = Type.String({ description: 'planned | applying | applied | failed | rolling-back | rolled-back' });

export const Batch = Type.Object(
  {
    id: Id,
    tenantId: Id,
    requestId: Type.String(),
    approvalRef: Type.Union([Type.String(), Type.Null()]),
    state: BatchState,
    mode: Type.Union([Type.String(), Type.Null()]),
    progress: Type.Object({ total: Type.Integer(), done: Type.Integer(), percent: Type.Integer() }),
    plan: BatchPlan,
    report: Type.Object({
      created: Type.Integer(),
      failed: Type.Integer(),
      linksDelivered: Type.Integer(),
      deliveryFailed: Type.Integer(),
      linksUsed: Type.Integer(),
      pending: Type.Integer({ description: 'Created mailboxes whose setup link is not used yet' }),
      rolledBack: Type.Integer(),
    }),
    error: Type.Union([Type.String(), Type.Null()]),
    createdAt: Timestamp,
    appliedAt: Type.Union([Timestamp, Type.Null()]),
    rolledBackAt: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'Batch' },
);

export const BatchSummary = Type.Object({
  id: Id,
  tenantId: Id,
  requestId: Type.String(),
  approvalRef: Type.Union([Type.String(), Type.Null()]),
  state: BatchState,
  mode: Type.Union([Type.String(), Type.Null()]),
  progress: Type.Object({ total: Type.Integer(), done: Type.Integer(), percent: Type.Integer() }),
  totals: Type.Object({ rows: Type.Integer(), create: Type.Integer(), refused: Type.Integer(), needsApproval: Type.Integer(), quotaBytes: Type.Integer() }),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  appliedAt: Type.Union([Timestamp, Type.Null()]),
  rolledBackAt: Type.Union([Timestamp, Type.Null()]),
});

export const ApplyBatchBody = Closed({
  mode: Type.Union([Type.Literal('all-or-nothing'), Type.Literal('valid-rows')]),
  approvedRows: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 10000, description: 'Role-account rows approved for creation' })),
  approvalRef: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Who approved (required with approvedRows unless the batch has one)' })),
});

export const BatchAccepted = Type.Object({ id: Id, state: BatchState });

export const RollbackBatchBody = Type.Union([Closed({ reason: Type.Optional(Reason) }), Type.Null()]);

export const VerifyBatchBody = Type.Union([
  Closed({ sample: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'How many new mailboxes get a test message (default 3)' })) }),
  Type.Null(),
]);

export const BatchVerification = Type.Object({
  batch: Batch,
  deliveryTest: Type.Object({
    sampled: Type.Integer(),
    results: Type.Array(Type.Object({ address: Type.String(), routable: Type.Boolean(), delivered: Type.Union([Type.Boolean(), Type.Null()]), error: Type.Optional(Type.String()) })),
  }),
});
