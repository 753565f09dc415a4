import { Type } from 'typebox';
import { Address, Closed, Id, Timestamp } from './common.js';

export const CreateDomainBody = Closed({ name: Type.String({ minLength: 1, maxLength: 253 }) });
export const DomainCreated = Type.Object({ id: Id, name: Type.String() });
export const Domain = Type.Object(
  {
    id: Id,
    tenantId: Id,
    name: Type.String(),
    status: Type.String(),
    verification: Type.String(),
    catchAll: Type.Union([Type.String(), Type.Null()]),
    createdAt: Timestamp,
  },
  { title: 'Domain' },
);
export const DomainParams = Closed({ domainId: Id });
export const DnsRecord = Type.Object(
  {
    type: Type.String({ description: 'MX or TXT' }),
    name: Type.String(),
    value: Type.String(),
    priority: Type.Optional(Type.Integer({ description: 'MX preference' })),
  },
  { title: 'DnsRecord' },
);
export const CatchAllBody = Closed({ target: Type.Union([Address, Type.Null()], { description: 'Mailbox or alias of the tenant; null turns catch-all off' }) });
export const CatchAll = Type.Object({ domainId: Id, target: Type.Union([Type.String(), Type.Null()]) });
