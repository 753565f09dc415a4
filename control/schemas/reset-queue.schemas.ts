/** The tenant-wide list of resets (the second approver's queue). */
import { Type } from 'typebox';
import { ListQuery } from './common.js';
import { Reset } from './resets.schemas.js';

export const ResetListQuery = ListQuery({
  status: Type.Optional(
    Type.Union(
      ['pending-approval', 'issued', 'completed', 'cancelled', 'expired'].map((s) => Type.Literal(s)),
      { description: 'pending-approval: the approver’s queue; expired: pending past the approval window' },
    ),
  ),
  kind: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('emergency'), Type.Literal('self')])),
});

export const TenantReset = Type.Object({ ...Reset.properties, tenantId: Type.String(), mailboxAddress: Type.String() }, { title: 'TenantReset' });
