import { Type } from 'typebox';
import { Address, Closed, Id, ListQuery, Reason, SearchText, Timestamp } from './common.js';

export const CreateAliasBody = Closed({
  localPart: Type.String({ minLength: 1, maxLength: 64 }),
  targets: Type.Array(Address, { minItems: 1, maxItems: 50 }),
});
export const Alias = Type.Object({ id: Id, tenantId: Id, domainId: Id, address: Type.String(), targets: Type.Array(Type.String()), status: Type.String(), createdAt: Timestamp }, { title: 'Alias' });
export const AliasParams = Closed({ aliasId: Id });
export const UpdateAliasBody = Closed({
  targets: Type.Optional(Type.Array(Address, { minItems: 1, maxItems: 50 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
  reason: Type.Optional(Reason),
});
export const AliasListQuery = ListQuery({ domainId: Type.Optional(Id), q: Type.Optional(SearchText) });
export const DomainAliasListQuery = ListQuery({ q: Type.Optional(SearchText) });
export const AliasDeleteQuery = Closed({ reason: Type.Optional(Reason) });
