/**
 * The backup's consistency rule: every blob the database snapshot refers to is in the backup.
 * When mail is expunged (its blob deleted) between the snapshot and the blob copy, the snapshot
 * is taken again; when a referenced blob stays missing, the backup fails instead of writing a
 * snapshot that cannot be restored.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../appliance/backup/backup.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

let core: TestCore;
let mailboxId: string;
const work = mkdtempSync(path.join(tmpdir(), 'postern-backup-consistency-'));

beforeAll(async () => {
  core = await createTestCore();
  mailboxId = (await core.createMailbox('keep@consistency.test', 'Sturdy-Passw0rd!')).id;
  for (let i = 0; i < 4; i++) await core.store.append(mailboxId, 'INBOX', Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
});
afterAll(async () => {
  await core.close();
  rmSync(work, { recursive: true, force: true });
});

const blobFile = (id: string) => path.join(core.dataDir, 'blobs', id.slice(0, 2), id);

describe('backup consistency', () => {
  it('takes the snapshot again when a referenced blob was expunged after the snapshot', async () => {
    const live = new Database(path.join(core.dataDir, 'postern.db'));
    const victim = live.prepare('SELECT id, blob_id FROM messages ORDER BY id LIMIT 1').get() as { id: number; blob_id: string };
    let first = true;
    const m = await takeBackup({
      dataDir: core.dataDir,
      out: path.join(work, 'b1'),
      progress: (line) => {
        if (!first || !line.startsWith('database snapshot taken')) return;
        first = false;
        // What an EXPUNGE does to the last reference: the rows go, then the blob file.
        live.prepare('DELETE FROM folder_messages WHERE message_id = ?').run(victim.id);
        live.prepare('DELETE FROM messages WHERE id = ?').run(victim.id);
        unlinkSync(blobFile(victim.blob_id));
      },
    });
    live.close();
    expect(m.stats.attempts).toBe(2);
    expect(m.blobs).toHaveLength(3);
    expect(m.blobs.map((b) => b.id)).not.toContain(victim.blob_id);
    for (const b of m.blobs) expect(existsSync(path.join(work, 'b1', 'blobs', b.id.slice(0, 2), b.id))).toBe(true);
  });

  it('fails, writing no snapshot, when a referenced blob stays missing', async () => {
    const live = new Database(path.join(core.dataDir, 'postern.db'), { readonly: true });
    const { blob_id } = live.prepare('SELECT blob_id FROM messages ORDER BY id LIMIT 1').get() as { blob_id: string };
    live.close();
    unlinkSync(blobFile(blob_id));
    await expect(takeBackup({ dataDir: core.dataDir, out: path.join(work, 'b2') })).rejects.toThrow(/1 blobs the database refers to are missing .* after 5 snapshots/);
    expect(existsSync(path.join(work, 'b2', 'LATEST'))).toBe(false);
  });
});
