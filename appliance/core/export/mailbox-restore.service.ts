/**
 * Point-in-time restore of one mailbox (or one folder) from a `postern backup` snapshot into the
 * LIVE appliance, without touching any other mailbox. The appliance reads the snapshot on its
 * own disk (the operator names the backup directory) and stores every message through the mail
 * store's one ingest path (quota checks, MODSEQ, change notifications), so open IMAP sessions
 * see restored mail at once.
 *
 * Where the mail goes: back into the folder it was in (a deleted folder is re-created), because
 * that is where the user looks for a message they deleted. A message still present (same
 * internal date, size and bytes) is skipped, so a restore can be repeated safely. Flags come
 * back as they were, except \Deleted (restored mail should not vanish at the next EXPUNGE).
 * Every blob is checked against the backup's manifest before it is stored. Audited
 * (mailbox.restore_backup: snapshot, folders, counts).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BackupError, type BlobEntry, blobPath, readManifest, resolveSnapshot, sha256File } from '../../backup/manifest.js';
import { type BackupFolder, readBackupMailbox } from '../../db/backup.js';
import { repos } from '../../db/repos/index.js';
import type { MailStore } from '../../mailstore/store.types.js';
import { appendAuditIn } from '../audit/audit.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError } from '../kernel/errors.js';

export type RestoreMailTarget = Pick<MailStore, 'listFolders' | 'getFolder' | 'createFolder' | 'listMessages' | 'readMessage' | 'append'>;

export interface RestoreDeps extends CoreDeps {
  mail: RestoreMailTarget | null;
}

export interface MailboxRestoreResult {
  mailboxId: string;
  address: string;
  snapshot: string;
  created: string;
  restored: number;
  skipped: number;
  folders: Array<{ name: string; restored: number; skipped: number; created: boolean }>;
}

async function openSnapshot(from: string, snapshot: string | undefined) {
  if (!path.isAbsolute(from)) throw new AppError('Invalid', 'from must be an absolute path on the appliance');
  try {
    const { repo, dir } = await resolveSnapshot(from, snapshot);
    const manifest = await readManifest(dir);
    if (manifest.database.engine !== 'sqlite') throw new BackupError('a point-in-time mailbox restore reads SQLite snapshots; restore a PostgreSQL backup whole (postern restore --data-dir)');
    const file = path.join(dir, manifest.database.file);
    const db = await sha256File(file);
    if (db.sha256 !== manifest.database.sha256) throw new BackupError('corrupt backup: the database snapshot does not match its checksum');
    return { repo, file, manifest };
  } catch (err) {
    if (err instanceof BackupError) throw new AppError('Invalid', err.message);
    throw err;
  }
}

async function readBackupMessage(repo: string, blobs: Map<string, BlobEntry>, e: BackupFolder['entries'][number]): Promise<Buffer> {
  const want = blobs.get(e.blobId);
  if (!want) throw new AppError('Invalid', `corrupt backup: blob ${e.blobId} is not in the manifest`);
  const bytes = await readFile(blobPath(path.join(repo, 'blobs'), e.blobId)).catch(() => {
    throw new AppError('Invalid', `corrupt backup: blob ${e.blobId} is missing`);
  });
  if (createHash('sha256').update(bytes).digest('hex') !== want.sha256) throw new AppError('Invalid', `corrupt backup: blob ${e.blobId} does not match its checksum`);
  return e.headerPrefix ? Buffer.concat([Buffer.from(e.headerPrefix, 'utf8'), bytes]) : bytes;
}

async function restoreFolder(mail: RestoreMailTarget, mailboxId: string, f: BackupFolder, repo: string, blobs: Map<string, BlobEntry>) {
  let live = await mail.getFolder(mailboxId, f.name);
  let created = false;
  if (!live) {
    const taken = f.specialUse ? (await mail.listFolders(mailboxId)).some((x) => x.specialUse === f.specialUse) : false;
    live = await mail.createFolder(mailboxId, f.name, taken ? null : (f.specialUse as Parameters<RestoreMailTarget['createFolder']>[2]));
    created = true;
  }
  // Present already: same internal date and size, then the same bytes.
  const present = new Map<string, number[]>();
  for (const e of await mail.listMessages(live.id)) {
    const k = `${e.internalDate}:${e.size}`;
    present.set(k, [...(present.get(k) ?? []), e.messageId]);
  }
  let restored = 0;
  let skipped = 0;
  for (const e of f.entries) {
    const raw = await readBackupMessage(repo, blobs, e);
    const candidates = present.get(`${e.internalDate}:${raw.length}`) ?? [];
    let dup = false;
    for (const id of candidates) if ((await mail.readMessage(id)).equals(raw)) dup = true;
    if (dup) {
      skipped++;
      continue;
    }
    const flags = e.flags ? e.flags.split(' ').filter((x) => x && x !== '\\Deleted' && x !== '\\Recent') : [];
    await mail.append(mailboxId, f.name, raw, { flags, internalDate: e.internalDate });
    restored++;
  }
  return { name: f.name, restored, skipped, created };
}

/** Restores the mailbox (or `folder`) from the snapshot; platform permission backups.restore. */
export async function restoreMailboxFromBackup(actor: Actor, deps: RestoreDeps, mailboxId: string, input: { from: string; snapshot?: string; folder?: string }): Promise<MailboxRestoreResult> {
  authorize(actor, 'backups.restore');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  if (!deps.mail) throw new AppError('TempFailure', 'the mail store is not available to this control plane');
  const { repo, file, manifest } = await openSnapshot(input.from, input.snapshot);
  const snap = readBackupMailbox(file, m.id);
  if (!snap) throw new AppError('NotFound', `snapshot ${manifest.snapshot} holds no mailbox ${m.address}`);
  const folders = input.folder === undefined ? snap.folders : snap.folders.filter((f) => f.name === (input.folder!.toUpperCase() === 'INBOX' ? 'INBOX' : input.folder));
  if (!folders.length) throw new AppError('NotFound', `snapshot ${manifest.snapshot} holds no folder ${input.folder} in ${m.address}`);
  const blobs = new Map(manifest.blobs.map((b) => [b.id, b]));
  const done: MailboxRestoreResult['folders'] = [];
  for (const f of folders) done.push(await restoreFolder(deps.mail, m.id, f, repo, blobs));
  const result: MailboxRestoreResult = {
    mailboxId: m.id,
    address: m.address,
    snapshot: manifest.snapshot,
    created: manifest.created,
    restored: done.reduce((n, f) => n + f.restored, 0),
    skipped: done.reduce((n, f) => n + f.skipped, 0),
    folders: done,
  };
  await r.transaction((t) =>
    appendAuditIn(
      t,
      actor,
      {
        action: 'mailbox.restore_backup',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        after: { snapshot: result.snapshot, snapshotCreated: result.created, folder: input.folder ?? null, restored: result.restored, skipped: result.skipped, folders: done },
      },
      deps.now(),
    ),
  );
  return result;
}
