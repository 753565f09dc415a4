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
    names: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Display names of the ids above: tenant, domain, token and person names, mailbox and alias addresses' })),
  },
  { title: 'AuditEvent' },
);
const filters = {
  tenantId: Type.Optional(Id),
  targetType: Type.Optional(Type.String({ maxLength: 64 })),
  targetId: Type.Optional(Type.String({ maxLength: 64 })),
  action: Type.Optional(Type.String({ maxLength: 64, description: 'An action, or a prefix ending in .* (mailbox.*)' })),
  actorType: Type.Optional(Type.String({ maxLength: 32, description: 'operator, tenant-admin, token, system, public, mailbox-owner' })),
  actorId: Type.Optional(Type.String({ maxLength: 100, description: 'The acting principal or token id' })),
  tokenId: Type.Optional(Id),
  requestId: Type.Optional(Type.String({ maxLength: 64 })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Events before this time' })),
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Events with an id above this one' })),
};
export const AuditQuery = Closed({ ...filters, limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })) });
export const AuditExportQuery = Closed({ ...filters, format: Type.Optional(Type.Union([Type.Literal('jsonl'), Type.Literal('csv')], { description: 'jsonl (default) or csv' })) });
export const AuditVerification = Type.Object({ ok: Type.Boolean(), events: Type.Integer(), firstBadEventId: Type.Optional(Type.Integer()) });
