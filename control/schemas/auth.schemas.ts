import { Type } from 'typebox';
import { Address, Closed, Id, Timestamp } from './common.js';
import { Principal } from './principals.schemas.js';

export const LoginBody = Closed({
  email: Address,
  password: Type.String({ maxLength: 1024 }),
  totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'Current TOTP code (required once TOTP is enrolled)' })),
  recoveryCode: Type.Optional(Type.String({ maxLength: 32, description: 'A one-time recovery code instead of the TOTP code' })),
});
export const LoggedIn = Type.Object({
  csrfToken: Type.String({ description: 'Send in the x-csrf-token header of every state-changing request (also set as the postern_csrf cookie)' }),
  expiresAt: Timestamp,
  mfa: Type.String({ description: 'ok, or enrol: TOTP must be enrolled before anything else' }),
  principal: Principal,
});
export const SelfLoginBody = Closed({
  address: Address,
  password: Type.String({ maxLength: 1024 }),
  totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'When the owner has turned TOTP on' })),
  recoveryCode: Type.Optional(Type.String({ maxLength: 32, description: 'A one-time recovery code instead of the TOTP code' })),
});
export const SelfLoggedIn = Type.Object({ csrfToken: Type.String(), expiresAt: Timestamp, mailboxId: Id, address: Type.String() });
export const TotpEnrolment = Type.Object({
  secret: Type.String({ description: 'Base32 secret, for manual entry' }),
  otpauthUri: Type.String({ description: 'otpauth:// URI to show as a QR code' }),
});
export const TotpConfirmBody = Closed({ code: Type.String({ pattern: '^[0-9]{6}$' }) });
export const RecoveryCodes = Type.Object({ recoveryCodes: Type.Array(Type.String(), { description: 'One-time codes, shown once' }) });
const SelfMailbox = Type.Object({
  id: Id,
  address: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  quotaBytes: Type.Integer(),
  usedBytes: Type.Integer(),
  messageCount: Type.Integer(),
  owner: Type.Object({ name: Type.String(), email: Type.String() }),
  resetDestination: Type.String(),
});
export const SessionInfo = Type.Object(
  {
    kind: Type.String({ description: 'principal | mailbox' }),
    mfa: Type.String(),
    expiresAt: Timestamp,
    principal: Type.Union([Principal, Type.Null()]),
    mailbox: Type.Union([SelfMailbox, Type.Null()]),
  },
  { title: 'Session' },
);
