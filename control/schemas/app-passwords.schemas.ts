/** App passwords: named, scoped to IMAP and/or SMTP, shown once. */
import { Type } from 'typebox';
import { Closed, Id, Timestamp } from './common.js';

export const AppPasswordParams = Closed({ mailboxId: Id, appPasswordId: Id });
export const OwnAppPasswordParams = Closed({ appPasswordId: Id });

export const CreateAppPasswordBody = Closed({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'Which client uses it, e.g. "Phone"' }),
  scopes: Type.Array(Type.Union([Type.Literal('imap'), Type.Literal('smtp')]), { minItems: 1, maxItems: 2, uniqueItems: true }),
});

const fields = {
  id: Type.String(),
  mailboxId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdBy: Type.String(),
  createdByName: Type.Optional(Type.String({ description: 'Who created it, by name (token or person name, or the mailbox address)' })),
  createdAt: Timestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
};

export const AppPassword = Type.Object(fields, { title: 'AppPassword' });
export const CreatedAppPassword = Type.Object(
  { ...fields, password: Type.String({ description: 'Shown once: four groups of four letters (spaces optional when typed)' }) },
  { title: 'CreatedAppPassword' },
);
