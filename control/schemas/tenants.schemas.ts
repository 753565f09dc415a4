import { Type } from 'typebox';
import { Closed, Id, Timestamp } from './common.js';

export const CreateTenantBody = Closed({ name: Type.String({ minLength: 1, maxLength: 100 }) });
export const TenantCreated = Type.Object({ id: Id, name: Type.String() });
export const Tenant = Type.Object({ id: Id, name: Type.String(), status: Type.String(), createdAt: Timestamp }, { title: 'Tenant' });
export const TenantParams = Closed({ tenantId: Id });
