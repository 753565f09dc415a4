/** Mailbox owners' own TOTP and forwards (self-service). */
import { Type } from 'typebox';
import { Closed, Id, Timestamp } from './common.js';
import { Forward } from './sending.schemas.js';

export const OwnerTotpStatus = Type.Object({ enabled: Type.Boolean(), enabledAt: Type.Union([Timestamp, Type.Null()]) }, { title: 'OwnerTotpStatus' });
export const OwnerTotpConfirmBody = Closed({ code: Type.String({ pattern: '^[0-9]{6}$' }) });
export const OwnerTotpDisableBody = Closed({
  currentPassword: Type.String({ maxLength: 1024 }),
  code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
  recoveryCode: Type.Optional(Type.String({ maxLength: 32 })),
});

export const OwnForward = Type.Object({ ...Forward.properties, removable: Type.Boolean({ description: 'The owner created it and may remove it' }) }, { title: 'OwnForward' });
export const OwnForwards = Type.Object(
  {
    forwards: Type.Array(OwnForward),
    policy: Type.Object({ externalAllowed: Type.Boolean(), externalMaxDays: Type.Integer() }),
  },
  { title: 'OwnForwards' },
);
export const OwnForwardParams = Closed({ forwardId: Id });
