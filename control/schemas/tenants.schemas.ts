import { Type } from 'typebox';
import { Closed, Id, Timestamp } from './common.js';

export const CreateTenantBody = Closed({ name: Type.String({ minLength: 1, maxLength: 100 }) });
export const TenantCreated = Type.Object({ id: Id, name: Type.String() });
export const TenantQuota = Type.Object({
  poolBytes: Type.Union([Type.Integer(), Type.Null()], { description: 'Pooled quota all mailbox quotas must fit in (null: none)' }),
  allocatedBytes: Type.Integer({ description: 'Sum of the mailbox quotas (recycle bin included)' }),
  usedBytes: Type.Integer(),
});
export const Tenant = Type.Object({ id: Id, name: Type.String(), status: Type.String(), quota: TenantQuota, createdAt: Timestamp }, { title: 'Tenant' });
export const UpdateTenantBody = Closed({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  quotaBytes: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()])),
});
export const TenantParams = Closed({ tenantId: Id });
