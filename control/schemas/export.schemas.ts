import { Type } from 'typebox';
import { Closed } from './common.js';

export const ExportQuery = Closed({
  format: Type.Optional(Type.Union([Type.Literal('mbox'), Type.Literal('maildir')], { description: 'mbox (mboxrd, one file per folder; default) or maildir (Maildir++)' })),
});

export const ExportArchive = Type.String({
  description:
    'A tar archive, streamed: per mailbox "<address>/control.json" (mailbox, ownership record, forwards, aliases, audit extract), the mail (mbox/<folder>.mbox or Maildir/) and messages.json (every message with folder, flags, internal date, size and sha256); a tenant export adds tenant.json at the top',
});

export const RestoreFromBackupBody = Closed({
  from: Type.String({ minLength: 1, maxLength: 4096, description: 'The backup directory on the appliance (postern backup --out), an absolute path' }),
  snapshot: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'A snapshot name in it (default: the newest)' })),
  folder: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Only this folder (it is re-created if it was deleted)' })),
});

const RestoredFolder = Closed({ name: Type.String(), restored: Type.Integer(), skipped: Type.Integer(), created: Type.Boolean() });

export const RestoreFromBackupResult = Closed({
  mailboxId: Type.String(),
  address: Type.String(),
  snapshot: Type.String(),
  created: Type.String({ description: 'When the snapshot was taken (ISO time)' }),
  restored: Type.Integer({ description: 'Messages stored back' }),
  skipped: Type.Integer({ description: 'Messages still present (same date, size and bytes), left alone' }),
  folders: Type.Array(RestoredFolder),
});
