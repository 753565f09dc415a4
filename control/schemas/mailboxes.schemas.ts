import { OwnershipAccess } from './access.schemas.js';
import { Type } from 'typebox';
import { Address, BoolString, Closed, Id, ListQuery, OrNull, Reason, SearchText, Timestamp } from './common.js';

export const PersonInput = Closed({ name: Type.String({ minLength: 1, maxLength: 200 }), email: Address });
export const Person = Type.Object({ name: Type.String(), email: Type.String() });

export const CreateMailboxBody = Closed({
  localPart: Type.String({ minLength: 1, maxLength: 64 }),
  displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  quotaBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  owner: PersonInput,
  businessOwner: Type.Optional(PersonInput),
  resetDestination: Type.Optional(Address),
  credentialDelivery: Type.Literal('link'),
  isRole: Type.Optional(Type.Boolean({ description: 'Role or shared account (defaults from the local part: info, support, admin…)' })),
});

export const MailboxCreated = Type.Object({
  id: Id,
  address: Type.String(),
  setup: Type.Object({ token: Type.String(), url: Type.String(), expiresAt: Timestamp }),
});

export const Mailbox = Type.Object(
  {
    id: Id,
    tenantId: Id,
    domainId: Id,
    address: Type.String(),
    displayName: Type.Union([Type.String(), Type.Null()]),
    status: Type.String({ description: 'pending | active | suspended | offboarded' }),
    quotaBytes: Type.Integer(),
    usedBytes: Type.Integer(),
    messageCount: Type.Integer(),
    isRole: Type.Boolean(),
    owner: Person,
    businessOwner: OrNull(Person),
    resetDestination: Type.String(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'Mailbox' },
);
export const MailboxParams = Closed({ mailboxId: Id });

export const Ownership = Type.Object(
  {
    mailboxId: Id,
    address: Type.String(),
    status: Type.String(),
    owner: Person,
    businessOwner: OrNull(Person),
    resetDestination: Type.String(),
    resetPaths: Type.Array(
      Type.Object({
        path: Type.String(),
        description: Type.String(),
        heldBy: Type.Object({ type: Type.String(), id: OrNull(Type.String()) }),
        expiresAt: Type.Optional(Timestamp),
        whoMayTrigger: Type.Optional(Type.Array(Type.String())),
        destination: Type.Optional(Type.String()),
      }),
    ),
    lastChange: OrNull(Type.Object({ event: Type.String(), actor: Type.Object({ type: Type.String(), id: OrNull(Type.String()) }), at: Timestamp })),
    rollback: Type.Array(
      Type.Object({
        eventId: Type.Integer(),
        event: Type.String(),
        at: Timestamp,
        actor: Type.Object({ type: Type.String(), id: OrNull(Type.String()) }),
        description: Type.String(),
        restores: Type.Object({}, { additionalProperties: true, description: 'The values POST …/rollback {eventId} puts back' }),
      }),
    ),
    receivesFor: Type.Array(Type.Object({ address: Type.String(), required: Type.Boolean({ description: 'postmaster@, abuse@ or the report address: an address every mail domain must have' }) }), {
      description: 'Aliases that deliver into this mailbox',
    }),
    access: Type.Array(OwnershipAccess, { description: 'The people with access (shared-mailbox grants), next to the owner of record' }),
    names: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Display names of the actor ids above' })),
  },
  { title: 'Ownership' },
);

/** Optional body of suspend/resume: `{reason?}` or no body at all. */
export const ReasonBody = Type.Union([Closed({ reason: Type.Optional(Type.String({ maxLength: 500 })) }), Type.Null()], {
  description: 'Optional: {reason} recorded in the audit event',
});

const MailboxSortParam = Type.Optional(
  Type.Union([Type.Literal('address'), Type.Literal('-address'), Type.Literal('createdAt'), Type.Literal('-createdAt')], {
    description: 'Order (default: id); a leading - sorts descending. Page on with after = the last id of the previous page.',
  }),
);

export const MailboxListQuery = ListQuery({
  sort: MailboxSortParam,
  domainId: Type.Optional(Id),
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('suspended'), Type.Literal('offboarded')])),
  isRole: Type.Optional(BoolString),
  q: Type.Optional(SearchText),
});
export const DomainMailboxListQuery = ListQuery({
  sort: MailboxSortParam,
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('suspended'), Type.Literal('offboarded')])),
  isRole: Type.Optional(BoolString),
  q: Type.Optional(SearchText),
});

export const UpdateMailboxBody = Closed({
  displayName: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
  quotaBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Must fit in the tenant quota pool, if any' })),
  isRole: Type.Optional(Type.Boolean()),
  resetDestination: Type.Optional(Address),
  businessOwner: Type.Optional(Type.Union([PersonInput, Type.Null()])),
  reason: Type.Optional(Reason),
});

export const TransferOwnershipBody = Closed({
  newOwner: PersonInput,
  approvedBy: PersonInput,
  approvalReference: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Ticket or request id of the approval' })),
  reason: Reason,
  resetDestination: Type.Optional(Address),
  revokeSessions: Type.Optional(Type.Boolean({ description: 'Close open sessions and cached logins (default true)' })),
});

export const RollbackBody = Closed({ eventId: Type.Integer({ minimum: 1 }), reason: Type.Optional(Reason) });

export const RecycleBin = Type.Object(
  {
    mailboxes: Type.Array(
      Type.Object({
        id: Id,
        address: Type.String(),
        domainId: Id,
        deletedAt: Timestamp,
        purgeAfter: Timestamp,
        statusBeforeDelete: Type.Union([Type.String(), Type.Null()]),
        usedBytes: Type.Integer(),
        messageCount: Type.Integer(),
      }),
    ),
    domains: Type.Array(Type.Object({ id: Id, name: Type.String(), deletedAt: Timestamp, purgeAfter: Timestamp, mailboxes: Type.Integer() })),
  },
  { title: 'RecycleBin' },
);
