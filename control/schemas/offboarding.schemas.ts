/** Offboarding: plan, apply, verify, undo. */
import { Type } from 'typebox';
import { Address, Closed, Id, Reason, Timestamp } from './common.js';
import { Rights } from './access.schemas.js';
import { PersonInput } from './mailboxes.schemas.js';

const ConvertTo = Type.Union([Type.Literal('disabled'), Type.Literal('shared'), Type.Literal('alias')], {
  description: 'disabled (default): no login, no mail; shared: keeps receiving, no direct login, owned by transferTo; alias: its address delivers to the successor',
});

const OwnerLeaves = Type.Boolean({ description: 'The owner of record leaves too: their address is swept as well (default: true when they own no other mailbox of the tenant)' });

const ExportBeforeDeleteFlag = Type.Boolean({ description: 'Export before delete: apply refuses unless the mailbox was exported (GET …/export) in the last 24 hours, and records that export' });

export const PlanBody = Type.Union([Closed({ convertTo: Type.Optional(ConvertTo), ownerLeaves: Type.Optional(OwnerLeaves), exportBeforeDelete: Type.Optional(ExportBeforeDeleteFlag) }), Type.Null()], {
  description: 'Optional: the mode the plan is for',
});

export const ApplyBody = Closed(
  {
    reason: Reason,
    convertTo: Type.Optional(ConvertTo),
    ownerLeaves: Type.Optional(OwnerLeaves),
    successor: Type.Optional(Address),
    transferTo: Type.Optional(PersonInput),
    forwards: Type.Optional(Type.Union([Type.Literal('remove'), Type.Literal('repoint')], { description: 'remove (default), or re-point to the successor' })),
    autoReply: Type.Optional(Closed({ subject: Type.String({ minLength: 1, maxLength: 200 }), text: Type.String({ minLength: 1, maxLength: 5000 }), until: Type.Optional(Timestamp) })),
    retainUntil: Type.Optional(Timestamp),
    exportBeforeDelete: Type.Optional(ExportBeforeDeleteFlag),
    members: Type.Optional(
      Type.Array(Closed({ mailboxId: Id, rights: Rights, seenPerMember: Type.Optional(Type.Boolean()) }), {
        maxItems: 200,
        description: 'Convert to shared: mailboxes of the tenant that get access, with their rights',
      }),
    ),
  },
  { title: 'OffboardingOptions' },
);

export const UndoBody = Closed({ reason: Reason });

export const ResidualPath = Type.Object({ kind: Type.String(), id: Type.String(), description: Type.String() }, { title: 'ResidualPath' });

export const Plan = Type.Object(
  {
    mailboxId: Type.String(),
    address: Type.String(),
    identities: Type.Array(Type.String()),
    paths: Type.Array(ResidualPath),
    export: Type.Object(
      { requested: Type.Boolean(), url: Type.String({ description: 'The export call (permission mailboxes.export)' }), lastExportAt: Type.Union([Timestamp, Type.Null()]) },
      { description: 'Export before delete: offered with every plan; apply with exportBeforeDelete requires an export in the last 24 hours' },
    ),
  },
  { title: 'OffboardingPlan' },
);
export const Verification = Type.Object(
  {
    mailboxId: Type.String(),
    address: Type.String(),
    identities: Type.Array(Type.String()),
    paths: Type.Array(ResidualPath),
    offboardingId: Type.Union([Type.String(), Type.Null()]),
    ok: Type.Boolean(),
  },
  { title: 'OffboardingVerification' },
);

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const Offboarding = Type.Object(
  {
    id: Type.String(),
    mailboxId: Type.String(),
    status: Type.String({ description: 'applied | undone' }),
    convertTo: Type.String(),
    identities: Type.Array(Type.String()),
    successor: Nullable(Type.String()),
    transferTo: Nullable(Type.Object({ name: Type.String(), email: Type.String() })),
    autoReply: Nullable(
      Type.Object({
        subject: Type.String(),
        text: Type.String(),
        until: Nullable(Timestamp),
        engine: Type.String({ description: 'postern: one RFC 3834 auto-reply per sender per week, never to lists, bulk or automatic mail' }),
      }),
    ),
    retainUntil: Nullable(Timestamp),
    exportedBeforeDelete: Nullable(Timestamp),
    appliedBy: Type.String(),
    appliedAt: Timestamp,
    undoUntil: Timestamp,
    undoneAt: Nullable(Timestamp),
    steps: Type.Array(Type.Object({ eventId: Type.Integer(), action: Type.String() })),
  },
  { title: 'Offboarding' },
);

export const Applied = Type.Object({ offboarding: Offboarding, remaining: Type.Array(ResidualPath) });
export const Undone = Type.Object({ offboarding: Offboarding, notRestored: Type.Array(Type.String()) });
