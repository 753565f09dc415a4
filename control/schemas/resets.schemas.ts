/** Resets, the tenant access policy, high-value flags and the forwarding report. */
import { Type } from 'typebox';
import { Address, Closed, Id, Reason, Timestamp } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ResetParams = Closed({ resetId: Id });

export const CreateResetBody = Closed(
  {
    kind: Type.Union([Type.Literal('admin'), Type.Literal('emergency')]),
    delivery: Type.Optional(
      Type.Union([Type.Literal('email'), Type.Literal('link')], { description: 'email (default): to the reset destination; link: returned to the caller, only where the tenant policy allows it' }),
    ),
    reason: Reason,
    verification: Type.Optional(
      Closed(
        {
          method: Type.Union(['video-call', 'in-person', 'callback-known-number', 'id-document', 'manager-confirmation', 'other'].map((m) => Type.Literal(m))),
          evidence: Type.String({ minLength: 10, maxLength: 2000, description: 'What was checked, by whom, against what' }),
        },
        { description: 'Emergency resets: the recorded identity verification' },
      ),
    ),
    newResetDestination: Type.Optional(Type.String({ minLength: 3, maxLength: 254, description: 'Emergency resets: the new, validated reset destination' })),
  },
  { title: 'CreateReset' },
);

export const ApproveResetBody = Type.Union([Closed({ note: Type.Optional(Reason) }), Type.Null()], { description: 'Optional: {note} recorded in the audit event' });

export const SetupLink = Type.Object({ token: Type.String(), url: Type.String(), expiresAt: Timestamp }, { description: 'Shown once' });

export const Reset = Type.Object(
  {
    id: Type.String(),
    mailboxId: Type.String(),
    kind: Type.String({ description: 'admin | emergency | self' }),
    delivery: Type.String({ description: 'email | link' }),
    status: Type.String({ description: 'pending-approval | issued | completed | cancelled | expired' }),
    reason: Nullable(Type.String()),
    requestedBy: Type.String(),
    requestedAt: Timestamp,
    verification: Nullable(Type.Object({ method: Type.String(), evidence: Type.String() })),
    destination: Nullable(Type.String()),
    newResetDestination: Nullable(Type.String()),
    requiresOperatorApproval: Type.Boolean(),
    approvedBy: Nullable(Type.String()),
    approvedAt: Nullable(Timestamp),
    deliveryState: Nullable(Type.String({ description: 'sent | failed | unavailable (no mailer) | returned' })),
    completedAt: Nullable(Timestamp),
    setup: Type.Optional(SetupLink),
    names: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Display names of requestedBy and approvedBy (lists)' })),
  },
  { title: 'Reset' },
);

const policyFields = {
  resetLinkToCaller: Type.Boolean({ description: 'A reset link may be returned to the API caller (default false: email only)' }),
  resetRevokesAppPasswords: Type.Boolean({ description: 'A reset revokes app passwords too (default true)' }),
  resetRatePerHour: Type.Integer({ minimum: 1, maximum: 100, description: 'Reset requests per mailbox and hour (default 3)' }),
  emergencyHighValueApprover: Type.Union([Type.Literal('operator'), Type.Literal('tenant')], { description: 'Who approves emergency resets of high-value mailboxes (default operator)' }),
  externalForwarding: Type.Boolean({ description: 'Forwards to external addresses may be created (default false)' }),
  staleForwardDays: Type.Integer({ minimum: 1, maximum: 3650, description: 'A forward unused this long is reported stale (default 90)' }),
  offboardingUndoDays: Type.Integer({ minimum: 0, maximum: 365, description: 'Grace period of offboarding undo (default 30)' }),
  ownersManageSharing: Type.Boolean({ description: 'Mailbox owners may grant and remove access to their own mailbox over IMAP (SETACL/DELETEACL), audited (default false)' }),
};

export const AccessPolicy = Type.Object({ tenantId: Type.String(), ...policyFields, updatedBy: Nullable(Type.String()), updatedAt: Nullable(Timestamp) }, { title: 'AccessPolicy' });
export const AccessPolicyBody = Closed(
  {
    resetLinkToCaller: Type.Optional(policyFields.resetLinkToCaller),
    resetRevokesAppPasswords: Type.Optional(policyFields.resetRevokesAppPasswords),
    resetRatePerHour: Type.Optional(policyFields.resetRatePerHour),
    emergencyHighValueApprover: Type.Optional(policyFields.emergencyHighValueApprover),
    externalForwarding: Type.Optional(policyFields.externalForwarding),
    staleForwardDays: Type.Optional(policyFields.staleForwardDays),
    offboardingUndoDays: Type.Optional(policyFields.offboardingUndoDays),
    ownersManageSharing: Type.Optional(policyFields.ownersManageSharing),
    reason: Type.Optional(Reason),
  },
  { title: 'AccessPolicyChange' },
);

export const HighValue = Type.Object(
  { mailboxId: Type.String(), highValue: Type.Boolean(), reason: Nullable(Type.String()), updatedBy: Nullable(Type.String()), updatedAt: Nullable(Timestamp) },
  { title: 'HighValueFlag' },
);
export const HighValueBody = Closed({ highValue: Type.Boolean(), reason: Type.Optional(Reason) });

export const ForwardReport = Type.Object(
  {
    tenantId: Type.String(),
    staleAfterDays: Type.Integer(),
    externalForwardingAllowed: Type.Boolean(),
    summary: Type.Object({ total: Type.Integer(), active: Type.Integer(), external: Type.Integer(), stale: Type.Integer(), expired: Type.Integer() }),
    forwards: Type.Array(
      Type.Object({
        id: Type.String(),
        mailboxId: Type.String(),
        mailbox: Type.String(),
        target: Type.String(),
        destinationType: Type.String({ description: 'external | internal' }),
        status: Type.String(),
        createdBy: Type.String(),
        createdByName: Type.Optional(Type.String({ description: 'Who created it, by name (token or person name, or the mailbox address)' })),
        reason: Nullable(Type.String()),
        createdAt: Timestamp,
        ageDays: Type.Integer(),
        expiresAt: Nullable(Timestamp),
        lastUsedAt: Nullable(Timestamp),
        flags: Type.Array(Type.String(), { description: 'external, stale, expired, no-expiry' }),
      }),
    ),
  },
  { title: 'ForwardingReport' },
);

// ---- self-service

export const ChangePasswordBody = Closed({ currentPassword: Type.String({ maxLength: 1024 }), newPassword: Type.String({ maxLength: 1024 }) });
export const CurrentPasswordBody = Closed({ currentPassword: Type.String({ maxLength: 1024 }) });
export const RecoverBody = Closed({ address: Address, recoveryCode: Type.String({ minLength: 1, maxLength: 32 }), newPassword: Type.String({ maxLength: 1024 }) });
export const ResetLinkRequestBody = Closed({ address: Address });
export const Accepted = Type.Object({ status: Type.String(), message: Type.String() });
export const RecoveryCodeStatus = Type.Object({ remaining: Type.Integer() });
export const MailboxRecoveryCodes = Type.Object({ recoveryCodes: Type.Array(Type.String(), { description: 'One-time codes, shown once; generating new ones voids the old' }) });
