import { Type } from 'typebox';
import { Address, Closed, Id, Timestamp } from './common.js';

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
    businessOwner: Type.Union([Person, Type.Null()]),
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
    businessOwner: Type.Union([Person, Type.Null()]),
    resetDestination: Type.String(),
    resetPaths: Type.Array(
      Type.Object({
        path: Type.String(),
        description: Type.String(),
        heldBy: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
        expiresAt: Timestamp,
      }),
    ),
    lastChange: Type.Union([
      Type.Object({ event: Type.String(), actor: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }), at: Timestamp }),
      Type.Null(),
    ]),
    rollback: Type.Array(Type.Object({ eventId: Type.Integer(), description: Type.String() })),
  },
  { title: 'Ownership' },
);

/** Optional body of suspend/resume: `{reason?}` or no body at all. */
export const ReasonBody = Type.Union([Closed({ reason: Type.Optional(Type.String({ maxLength: 500 })) }), Type.Null()], {
  description: 'Optional: {reason} recorded in the audit event',
});
