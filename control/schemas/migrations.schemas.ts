/** IMAP migration jobs (issue 20): a mailbox's copy from another provider. Credentials go in, never out. */
import { Type } from 'typebox';
import { Closed, Id, Timestamp } from './common.js';

export const MigrationParams = Closed({ migrationId: Id });

const Secret = {
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: 'The source password (stored sealed, wiped when the job ends, never returned)' })),
  accessToken: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: 'An OAuth2 access token for XOAUTH2 (Google, Microsoft) instead of a password' })),
};

export const StartMigrationBody = Closed({
  source: Closed({
    host: Type.String({ minLength: 1, maxLength: 253, description: 'The source IMAP server' }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    tls: Type.Union([Type.Literal('implicit'), Type.Literal('starttls')], { description: 'implicit: TLS from the first byte (993); starttls: upgraded plain port (143)' }),
    user: Type.String({ minLength: 1, maxLength: 320 }),
    ...Secret,
  }),
  folders: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 1000, description: 'Source folder names to copy (as the source lists them); default: every folder' })),
});

export const RunMigrationBody = Type.Union([Closed(Secret), Type.Null()], { description: 'The source credential again when the job ended (it was wiped); optional otherwise' });

const Folder = Type.Object({
  source: Type.String(),
  target: Type.String({ description: 'Our folder it is copied into (special-use folders map to ours: Sent, Drafts, Junk, Trash, Archive)' }),
  copied: Type.Integer(),
  total: Type.Integer(),
  bytes: Type.Integer(),
  totalBytes: Type.Integer(),
  done: Type.Boolean(),
});

const Report = Type.Object(
  {
    run: Type.Integer(),
    state: Type.String(),
    startedAt: Timestamp,
    finishedAt: Type.Union([Timestamp, Type.Null()]),
    copied: Type.Integer({ description: 'Messages copied by this run' }),
    bytes: Type.Integer(),
    folders: Type.Array(Type.Object({ source: Type.String(), target: Type.String(), copied: Type.Integer(), bytes: Type.Integer(), created: Type.Boolean(), uidValidityChanged: Type.Boolean() })),
    skipped: Type.Array(Type.Object({ folder: Type.String(), uid: Type.Integer(), size: Type.Integer(), reason: Type.String() })),
    deduplicated: Type.Integer({ description: 'Not copied again: the Message-ID was already in the target folder' }),
    reconnects: Type.Integer({ description: 'Times the source connection dropped and the copy resumed' }),
  },
  { title: 'MigrationReport' },
);

export const Migration = Type.Object(
  {
    id: Type.String(),
    mailbox: Type.Object({ id: Type.String(), address: Type.String() }),
    state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('cancelled'), Type.Literal('interrupted')]),
    source: Type.Object({ host: Type.String(), port: Type.Integer(), tls: Type.String(), user: Type.String(), auth: Type.String({ description: 'password | xoauth2' }) }),
    folders: Type.Union([Type.Array(Type.String()), Type.Null()]),
    progress: Type.Object({ messages: Type.Integer(), bytes: Type.Integer(), totalMessages: Type.Integer(), totalBytes: Type.Integer(), folders: Type.Array(Folder) }),
    report: Type.Union([Report, Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    credentialsHeld: Type.Boolean({ description: 'Whether the sealed source credential is still held (wiped when the job ends)' }),
    runs: Type.Integer(),
    createdBy: Type.String(),
    createdFrom: Type.Union([Type.String(), Type.Null()]),
    createdAt: Timestamp,
    startedAt: Type.Union([Timestamp, Type.Null()]),
    finishedAt: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'Migration' },
);
