/** Shared mailboxes and delegated access (issue 19): grants, the shared mailboxes a person reaches, the sharing report. */
import { Type } from 'typebox';
import { GRANT_RIGHTS } from '../../appliance/core/access/grants.types.js';
import { Closed, Id, OrNull, Reason, Timestamp } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const GrantRight = Type.Union(
  GRANT_RIGHTS.map((r) => Type.Literal(r)),
  {
    description: 'read: list, select and read; seen: keep \\Seen; write: other flags; insert: append, copy and move in; delete: expunge; create: create folders; send: submit as the shared address',
  },
);
export const Rights = Type.Array(GrantRight, { minItems: 1, maxItems: GRANT_RIGHTS.length, uniqueItems: true });

export const GrantParams = Closed({ grantId: Id });

export const CreateGrantBody = Closed(
  {
    memberMailboxId: Id,
    rights: Rights,
    seenPerMember: Type.Optional(Type.Boolean({ description: 'true: \\Seen is kept per member (a delegate); false (default): shared with everyone (a team inbox)' })),
    reason: Reason,
    expiresAt: Type.Optional(Nullable(Timestamp)),
  },
  { title: 'GrantAccess' },
);

export const UpdateGrantBody = Closed(
  {
    rights: Type.Optional(Rights),
    seenPerMember: Type.Optional(Type.Boolean()),
    reason: Type.Optional(Reason),
    expiresAt: Type.Optional(Nullable(Timestamp)),
  },
  { title: 'ChangeAccess' },
);

export const RollbackGrantBody = Closed({ eventId: Type.Integer({ minimum: 1, description: 'An audit event of this mailbox (mailbox.access.*)' }), reason: Type.Optional(Reason) });

export const Grant = Type.Object(
  {
    id: Type.String(),
    mailboxId: Type.String(),
    mailbox: Type.String({ description: "The shared mailbox's address" }),
    memberMailboxId: Type.String(),
    member: Type.String({ description: "The member's address" }),
    rights: Type.Array(Type.String()),
    seenPerMember: Type.Boolean(),
    reason: Type.String(),
    grantedBy: Type.String({ description: 'Who granted or last changed it (name)' }),
    grantedById: Type.String(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    expiresAt: Nullable(Timestamp),
    lastUsedAt: Nullable(Timestamp),
    live: Type.Boolean({ description: 'Members reach it now (unexpired, shared mailbox active)' }),
  },
  { title: 'Grant' },
);

export const OwnershipAccess = Type.Object({
  member: Type.String(),
  memberMailboxId: Type.String(),
  rights: Type.Array(Type.String()),
  grantedBy: Type.String(),
  expiresAt: OrNull(Timestamp),
  seenPerMember: Type.Boolean(),
});

export const SharingReportQuery = Closed({
  staleDays: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'A grant unused this many days is stale, 1 to 3650 (default 30)' })),
  expiringDays: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'A grant expiring within this many days is listed, 1 to 3650 (default 14)' })),
});

export const SharingReport = Type.Object(
  {
    tenantId: Type.String(),
    staleDays: Type.Integer(),
    expiringDays: Type.Integer(),
    generatedAt: Timestamp,
    summary: Type.Object({ sharedMailboxes: Type.Integer(), grants: Type.Integer(), stale: Type.Integer(), expiring: Type.Integer(), sendAs: Type.Integer() }),
    sharedMailboxes: Type.Array(Type.Object({ mailboxId: Type.String(), address: Type.String(), status: Type.String(), members: Type.Array(Grant) })),
    stale: Type.Array(Grant),
    expiring: Type.Array(Grant),
  },
  { title: 'SharingReport' },
);
