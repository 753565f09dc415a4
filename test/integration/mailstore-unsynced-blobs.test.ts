/**
 * APPEND commits a message's index rows while its blob's fsync still runs (issue 18, migration
 * 0054): the answer waits for both, and a blob whose rows were committed before it was durable
 * is listed in `unsynced_blobs`. A crash in that window may lose the bytes; recovery at boot
 * (`recoverUnsyncedBlobs`) must then remove the rows, so nothing is served without its bytes,
 * and keep (and sync) a blob that did reach the disk. The blob's sync is held behind a gate here
 * to stand in for a slow disk; the crash is what it leaves: the file missing or cut short.
 */
import { rm, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlobStore, FileBlobStore, type UnsyncedBlob } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const msg = (i: number) => Buffer.from(`From: a@example.org\r\nTo: u@unsynced.test\r\nSubject: unsynced ${i}\r\nMessage-ID: <u${i}@example.org>\r\n\r\nBody of message ${i}\r\n`);

/** The real file store, with every blob's `durable` held until `release` (or failed by `fail`). */
async function gatedBlobs(dir: string) {
  const real = await FileBlobStore.open(dir);
  let open!: () => void;
  let refuse!: (err: Error) => void;
  const gate = new Promise<void>((resolve, reject) => {
    open = resolve;
    refuse = reject;
  });
  gate.catch(() => undefined);
  const blobs: BlobStore = Object.create(real) as FileBlobStore;
  blobs.write = async (data): Promise<UnsyncedBlob> => {
    const b = await real.write(data);
    const durable = b.durable.then(() => gate);
    durable.catch(() => undefined); // as the real store's: the caller decides, an unobserved failure is no crash
    return { id: b.id, durable };
  };
  return { blobs, release: () => open(), fail: (err: Error) => refuse(err) };
}

async function until(what: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('APPEND overlapping the blob fsync with the index commit', () => {
  let core: TestCore;
  let box: { id: string; address: string };
  const blobDir = () => path.join(core.dataDir, 'blobs');
  const blobFile = (id: string) => path.join(blobDir(), id.slice(0, 2), id);
  const listed = async () => (await core.db.selectFrom('unsynced_blobs').select('blob_id').execute()).map((r) => r.blob_id);
  const restarted = async () => new SqlMailStore({ db: core.db, blobs: await FileBlobStore.open(blobDir()), maxMessageBytes: core.config.maxMessageBytes });

  beforeAll(async () => {
    core = await createTestCore();
    box = await core.createMailbox('u@unsynced.test', 'Correct-Horse-77');
  });
  afterAll(async () => core?.close());

  it('answers only after the blob is durable; after a crash, rows whose blob was lost or cut short are removed and a whole one is kept', async () => {
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    const before = await core.store.quota(box.id);
    const gated = await gatedBlobs(blobDir());
    const crashed = new SqlMailStore({ db: core.db, blobs: gated.blobs, maxMessageBytes: core.config.maxMessageBytes });
    let answered = 0;
    const appends = [0, 1, 2].map((i) => crashed.append(box.id, 'INBOX', msg(i)).then(() => answered++));
    appends.forEach((p) => p.catch(() => undefined));
    // The rows are committed (and listed) while the blobs' syncs are held: nobody is answered.
    await until(async () => (await listed()).length === 3);
    const rows = await core.db
      .selectFrom('folder_messages')
      .innerJoin('messages', 'messages.id', 'folder_messages.message_id')
      .select(['folder_messages.uid', 'messages.blob_id'])
      .where('folder_messages.folder_id', '=', inbox.id)
      .orderBy('folder_messages.uid')
      .execute();
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.blob_id))).toEqual(new Set(await listed()));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(0);

    // The crash: the process dies before the syncs end; the first blob never reached the disk,
    // the second only partly, the third did.
    await rm(blobFile(rows[0]!.blob_id));
    await truncate(blobFile(rows[1]!.blob_id), 10);
    const fresh = await restarted();
    expect(await fresh.recoverUnsyncedBlobs()).toEqual({ checked: 3, removed: 2 });
    await fresh.queue.drain();

    expect(await listed()).toEqual([]);
    const entries = await fresh.listMessages(inbox.id);
    expect(entries.map((e) => e.uid)).toEqual([rows[2]!.uid]);
    // the three were committed in any order: the kept one is whole, byte for byte
    const kept = await fresh.readMessage(entries[0]!.messageId);
    expect([0, 1, 2].some((i) => msg(i).equals(kept))).toBe(true);
    // Removed like an expunge: journaled (QRESYNC clients learn of it), quota released.
    const ch = await fresh.changesSince(inbox.id, 0);
    expect(ch.expunged).toEqual([rows[0]!.uid, rows[1]!.uid]);
    const after = await fresh.quota(box.id);
    expect(after.messages).toBe(before.messages + 1);
    expect(after.usedBytes).toBe(before.usedBytes + kept.length);
    expect(await core.db.selectFrom('messages').select('id').where('blob_id', 'in', [rows[0]!.blob_id, rows[1]!.blob_id]).execute()).toEqual([]);
    expect(answered).toBe(0);
  });

  it('a blob whose sync fails is never acknowledged and its rows go at once', async () => {
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    const before = await core.store.listMessages(inbox.id);
    const gated = await gatedBlobs(blobDir());
    const store = new SqlMailStore({ db: core.db, blobs: gated.blobs, maxMessageBytes: core.config.maxMessageBytes });
    const p = store.append(box.id, 'INBOX', msg(10));
    p.catch(() => undefined);
    await until(async () => (await listed()).length === 1);
    gated.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(p).rejects.toThrow(/EIO/);
    await store.queue.drain();
    expect(await listed()).toEqual([]);
    expect((await core.store.changesSince(inbox.id, 0)).changed.map((e) => e.uid)).toEqual(before.map((e) => e.uid));
  });

  it('in normal operation every blob is unlisted once durable: with the next APPEND, or on its own shortly after', async () => {
    const a = await core.store.append(box.id, 'INBOX', msg(20));
    const b = await core.store.append(box.id, 'INBOX', msg(21));
    expect(b.uid).toBeGreaterThan(a.uid);
    // the first one's row went with the second APPEND's transaction
    expect((await listed()).length).toBeLessThanOrEqual(1);
    await until(async () => (await listed()).length === 0, 4000);
    const fresh = await restarted();
    expect(await fresh.recoverUnsyncedBlobs()).toEqual({ checked: 0, removed: 0 });
  });
});
