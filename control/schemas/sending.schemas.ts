import { Type } from 'typebox';
import { Address, Closed, Id, Timestamp } from './common.js';

export const ForwardParams = Closed({ forwardId: Id });
export const GrantParams = Closed({ grantId: Id });
export const DkimKeyParams = Closed({ domainId: Id, keyId: Id });

export const Forward = Closed({
  id: Id,
  mailboxId: Id,
  target: Address,
  external: Type.Boolean(),
  keepCopy: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()]),
  status: Type.String({ description: 'active | expired' }),
  createdBy: Type.String(),
  createdByName: Type.Optional(Type.String({ description: 'Who created it, by name (token or person name, or the mailbox address)' })),
  createdAt: Timestamp,
  expiresAt: Type.Union([Timestamp, Type.Null()]),
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
});

export const CreateForwardBody = Closed({
  target: Address,
  keepCopy: Type.Optional(Type.Boolean({ description: 'Keep a copy in the mailbox (default true)' })),
  reason: Type.Optional(Type.String({ maxLength: 500, description: 'Required for an external target' })),
  expiresAt: Type.Optional(Type.String({ description: 'ISO date-time after which the forward stops by itself' })),
});

export const SendAsGrant = Closed({
  id: Id,
  mailboxId: Id,
  address: Address,
  createdBy: Type.String(),
  createdByName: Type.Optional(Type.String({ description: 'Who created it, by name (token or person name, or the mailbox address)' })),
  createdAt: Timestamp,
});
export const CreateSendAsBody = Closed({ address: Address });

export const Route = Closed({
  id: Id,
  scope: Type.Union([Type.Literal('domain'), Type.Literal('tenant'), Type.Literal('global')]),
  tenantId: Type.Union([Id, Type.Null()]),
  domainId: Type.Union([Id, Type.Null()]),
  host: Type.String(),
  port: Type.Integer(),
  tls: Type.String(),
  authUser: Type.Union([Type.String(), Type.Null()]),
  hasPassword: Type.Boolean(),
  updatedAt: Timestamp,
});

export const PutRouteBody = Closed({
  host: Type.String({ minLength: 1, maxLength: 253 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  tls: Type.Optional(Type.Literal('opportunistic', { description: 'STARTTLS whenever the smarthost offers it (implicit-TLS port 465 smarthosts are not supported)' })),
  authUser: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  authPassword: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
});

export const DkimKey = Closed({
  id: Id,
  domainId: Id,
  selector: Type.String(),
  algorithm: Type.String(),
  status: Type.String({ description: 'active (signing) | published (in DNS) | retired' }),
  dnsName: Type.String(),
  createdAt: Timestamp,
  retiredAt: Type.Union([Timestamp, Type.Null()]),
});

export const RotateDkimBody = Closed({
  algorithms: Type.Optional(Type.Array(Type.Union([Type.Literal('rsa-sha256'), Type.Literal('ed25519-sha256')]), { minItems: 1, maxItems: 2 })),
});

export const SendingState = Closed({
  mailboxId: Id,
  blocked: Type.Boolean(),
  blockedAt: Type.Union([Timestamp, Type.Null()]),
  blockedReason: Type.Union([Type.String(), Type.Null()]),
  messagesPerHour: Type.Union([Type.Integer(), Type.Null()]),
  recipientsPerHour: Type.Union([Type.Integer(), Type.Null()]),
});

export const SendLimitsBody = Closed({
  messagesPerHour: Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()]),
  recipientsPerHour: Type.Union([Type.Integer({ minimum: 1, maximum: 10_000_000 }), Type.Null()]),
});

export const LiftBlockBody = Closed({ reason: Type.Optional(Type.String({ maxLength: 500 })) });
