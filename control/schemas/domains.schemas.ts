import { Type } from 'typebox';
import { Address, BoolString, Closed, Id, ListQuery, Reason, SearchText, Timestamp } from './common.js';

export const CreateDomainBody = Closed({
  name: Type.String({ minLength: 1, maxLength: 253 }),
  aliasOf: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Make it an alias of this domain (same tenant): local@new is local@that' })),
});
export const UpdateDomainBody = Closed({
  aliasOf: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], { description: 'Domain id to alias, or null for a primary domain' })),
  reason: Type.Optional(Reason),
});
export const DomainListQuery = ListQuery({
  verification: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('verified')])),
  isAlias: Type.Optional(BoolString),
  q: Type.Optional(SearchText),
});
export const DomainCreated = Type.Object({ id: Id, name: Type.String() });
export const Domain = Type.Object(
  {
    id: Id,
    tenantId: Id,
    name: Type.String(),
    status: Type.String(),
    verification: Type.String(),
    catchAll: Type.Union([Type.String(), Type.Null()]),
    aliasOf: Type.Union([Id, Type.Null()], { description: 'The primary domain of a domain alias' }),
    createdAt: Timestamp,
    requiredAddresses: Type.Optional(
      Type.Array(
        Type.Object({
          address: Type.String(),
          purpose: Type.String(),
          kind: Type.String({ description: 'alias | mailbox | missing' }),
          deliversTo: Type.Array(Type.String()),
        }),
        { description: 'GET of one domain: the addresses every mail domain must have (postmaster@, abuse@, the DMARC/TLS-RPT report address) and where each delivers' },
      ),
    ),
  },
  { title: 'Domain' },
);
export const DomainParams = Closed({ domainId: Id });
export const DnsRecord = Type.Object(
  {
    type: Type.String({ description: 'MX, TXT, CNAME or SRV' }),
    name: Type.String(),
    value: Type.String(),
    priority: Type.Optional(Type.Integer({ description: 'MX preference' })),
    unpublishable: Type.Optional(
      Type.String({
        description:
          'Why this record cannot be published as is, and which setting fixes it. When the target would be an IP address or loopback name, value is empty: publish nothing until the setting is fixed',
      }),
    ),
  },
  { title: 'DnsRecord' },
);
export const CatchAllBody = Closed({ target: Type.Union([Address, Type.Null()], { description: 'Mailbox or alias of the tenant; null turns catch-all off' }) });
export const CatchAll = Type.Object({ domainId: Id, target: Type.Union([Type.String(), Type.Null()]) });
