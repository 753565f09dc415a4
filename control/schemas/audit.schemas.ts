import { Type } from 'typebox';
import { Closed, Id, Timestamp } from './common.js';

const Json = Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]);
const Str = Type.Union([Type.String(), Type.Null()]);

export const AuditEvent = Type.Object(
  {
    id: Type.Integer(),
    at: Timestamp,
    tenantId: Str,
    actor: Type.Object({ type: Type.String(), id: Str, tokenId: Str }),
    sourceIp: Str,
    userAgent: Str,
    action: Type.String(),
    target: Type.Object({ type: Type.String(), id: Str }),
    before: Json,
    after: Json,
    reason: Str,
    requestId: Str,
    approvalId: Str,
  },
  { title: 'AuditEvent' },
);
export const AuditQuery = Closed({
  tenantId: Type.Optional(Id),
  targetType: Type.Optional(Type.String({ maxLength: 64 })),
  targetId: Type.Optional(Type.String({ maxLength: 64 })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Events with an id above this one' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
});
export const AuditVerification = Type.Object({ ok: Type.Boolean(), events: Type.Integer(), firstBadEventId: Type.Optional(Type.Integer()) });
