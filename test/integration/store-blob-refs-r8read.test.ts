/**
 * FETCH of many bodies after a FETCH of their ENVELOPEs (issue 18): the mail store reads where each
 * message's bytes are (its blob, the header lines kept before it) with its meta, so lending the
 * bodies, or reading one or two of them, looks up no rows. A message removed by another process since (row and blob gone, this
 * store's cache not told) does not fail the batch: it is read the way without the cache.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { READERS_OF } from '../../appliance/db/sqlite-readers.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { testOnPostgres } from '../helpers/database.js';

const USER = 'refs@store.test';

function message(i: number): Buffer {
  return Buffer.from(`From: a${i}@example.org\r\nTo: ${USER}\r\nSubject: ref ${i}\r\nMessage-ID: <ref-${i}@example.org>\r\n\r\nbody ${i} ${'x'.repeat(i * 300)}\r\n`);
}

describe('lending bodies after their meta was read', () => {
  let core: TestCore;
  let folderId: number;
  const sent = new Map<number, Buffer>();

  beforeAll(async () => {
    core = await createTestCore();
    const mb = await core.createMailbox(USER, 'refs passphrase');
    for (let i = 0; i < 6; i++) await core.store.append(mb.id, 'INBOX', message(i));
    folderId = (await core.store.getFolder(mb.id, 'INBOX'))!.id;
    const entries = await core.store.listMessages(folderId);
    entries.forEach((e, i) => sent.set(e.messageId, message(i)));
  }, 60_000);
  afterAll(async () => core?.close());

  async function lend(ids: number[]): Promise<Map<number, Buffer>> {
    const lent = await core.store.lendMessages!(ids);
    const copy = new Map([...lent.bytes].map(([id, b]) => [id, Buffer.from(b)]));
    lent.release();
    return copy;
  }

  it.skipIf(testOnPostgres())('looks up no rows for messages whose meta it read, and one lookup otherwise', async () => {
    const ids = [...sent.keys()];
    const readers = READERS_OF.get(core.db)!;
    const read = vi.spyOn(readers, 'read');
    try {
      const first = await lend(ids.slice(0, 3)); // meta never read: the rows are looked up
      expect(read).toHaveBeenCalledTimes(1);
      await core.store.getMeta(ids);
      read.mockClear();
      const again = await lend(ids);
      expect(read).toHaveBeenCalledTimes(0);
      for (const [id, b] of first) expect(b.equals(sent.get(id)!)).toBe(true);
      for (const id of ids) expect(again.get(id)?.equals(sent.get(id)!), `message ${id}`).toBe(true);
    } finally {
      read.mockRestore();
    }
  });

  it('reads one or two messages whose meta it read without looking their rows up', async () => {
    const ids = [...sent.keys()].slice(0, 2);
    await core.store.getMeta(ids);
    const select = vi.spyOn(core.db, 'selectFrom');
    try {
      const got = await core.store.readMessages(ids);
      expect(select).not.toHaveBeenCalled();
      for (const id of ids) expect(got.get(id)?.equals(sent.get(id)!), `message ${id}`).toBe(true);
    } finally {
      select.mockRestore();
    }
  });

  it('a message removed elsewhere since its meta was read is left out, the others are lent', async () => {
    const ids = [...sent.keys()];
    await core.store.getMeta(ids);
    // another process removed the last message: its row and its blob (this store was not told)
    const gone = ids[ids.length - 1]!;
    const row = await core.db.selectFrom('messages').select('blob_id').where('id', '=', gone).executeTakeFirstOrThrow();
    await core.db.deleteFrom('folder_messages').where('message_id', '=', gone).execute();
    await core.db.deleteFrom('messages').where('id', '=', gone).execute();
    await rm(path.join(core.dataDir, 'blobs', row.blob_id.slice(0, 2), row.blob_id));
    const got = await lend(ids);
    expect(got.has(gone)).toBe(false);
    expect((await core.store.readMessages([gone])).size).toBe(0);
    for (const id of ids.slice(0, -1)) expect(got.get(id)?.equals(sent.get(id)!), `message ${id}`).toBe(true);
  });
});
