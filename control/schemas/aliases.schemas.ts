import { Type } from 'typebox';
import { Address, Closed, Id, Timestamp } from './common.js';

export const CreateAliasBody = Closed({
  localPart: Type.String({ minLength: 1, maxLength: 64 }),
  targets: Type.Array(Address, { minItems: 1, maxItems: 50 }),
});
export const Alias = Type.Object(
  { id: Id, tenantId: Id, domainId: Id, address: Type.String(), targets: Type.Array(Type.String()), status: Type.String(), createdAt: Timestamp },
  { title: 'Alias' },
);
export const AliasParams = Closed({ aliasId: Id });
