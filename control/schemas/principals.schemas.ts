import { Type } from 'typebox';
import { Address, Closed, Id, Reason, Timestamp } from './common.js';
import { PermissionName, RoleName } from './tokens.schemas.js';

export const Principal = Type.Object(
  {
    id: Id,
    tenantId: Type.Union([Id, Type.Null()]),
    kind: Type.String({ description: 'operator | tenant-admin' }),
    name: Type.String(),
    email: Type.String(),
    status: Type.String({ description: 'pending (setup link not used yet) | active | disabled' }),
    role: Type.Union([Type.String(), Type.Null()]),
    permissions: Type.Array(Type.String()),
    totpEnabled: Type.Boolean(),
    lastLoginAt: Type.Union([Timestamp, Type.Null()]),
    createdAt: Timestamp,
  },
  { title: 'Principal' },
);
export const InvitePrincipalBody = Closed({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  email: Address,
  role: Type.Optional(RoleName),
  permissions: Type.Optional(Type.Array(PermissionName, { maxItems: 64 })),
});
export const PrincipalInvited = Type.Object({
  id: Id,
  email: Type.String(),
  setup: Type.Object({ token: Type.String(), url: Type.String({ description: 'Single-use link where the person sets their password' }), expiresAt: Timestamp }),
});
export const UpdatePrincipalBody = Closed({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  role: Type.Optional(RoleName),
  permissions: Type.Optional(Type.Array(PermissionName, { maxItems: 64 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
  reason: Type.Optional(Reason),
});
export const PrincipalParams = Closed({ principalId: Id });
