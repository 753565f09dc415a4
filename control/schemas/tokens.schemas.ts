import { Type } from 'typebox';
import { ALL_PERMISSIONS, ROLE_NAMES } from '../../appliance/core/kernel/authz.js';
import { Closed, Id, Timestamp } from './common.js';

export const PermissionName = Type.Union(ALL_PERMISSIONS.map((p) => Type.Literal(p)));
export const RoleName = Type.Union(ROLE_NAMES.map((r) => Type.Literal(r)));

export const CreateTokenBody = Closed({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  permissions: Type.Optional(Type.Array(PermissionName, { maxItems: 64 })),
  role: Type.Optional(RoleName),
  readOnly: Type.Optional(Type.Boolean()),
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
});
export const TokenCreated = Type.Object({
  id: Id,
  token: Type.String({ description: 'The secret; shown once' }),
  name: Type.String(),
  permissions: Type.Array(Type.String()),
  readOnly: Type.Boolean(),
  expiresAt: Type.Union([Timestamp, Type.Null()]),
});
export const Token = Type.Object(
  {
    id: Id,
    tenantId: Type.Union([Id, Type.Null()]),
    name: Type.String(),
    role: Type.Union([Type.String(), Type.Null()]),
    permissions: Type.Array(Type.String()),
    readOnly: Type.Boolean(),
    expiresAt: Type.Union([Timestamp, Type.Null()]),
    revokedAt: Type.Union([Timestamp, Type.Null()]),
    lastUsedAt: Type.Union([Timestamp, Type.Null()]),
    createdAt: Timestamp,
  },
  { title: 'ApiToken' },
);
export const TokenParams = Closed({ tokenId: Id });
