/**
 * The store's APPEND path (issue 18): the target folder is read once, inside the ingest
 * transaction, not also before the blob is written; an APPEND to a folder that does not exist
 * is still refused (NotFound), commits nothing and leaves no blob behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../appliance/core/kernel/errors.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { installStatementCounter } from '../helpers/statements.js';

const statements = installStatementCounter();

const msg = (i: number) => Buffer.from(`From: a@example.org\r\nTo: p@path.test\r\nSubject: path ${i}\r\nMessage-ID: <path${i}@example.org>\r\n\r\nBody ${i}\r\n`);

describe('store APPEND path', () => {
  let core: TestCore;
  let box: { id: string };
  /** The stored blobs (the store's pre-created, still empty files are not blobs: blobstore-pool-r7append.test.ts). */
  const blobFiles = async () => {
    const ids: string[] = [];
    for await (const b of core.blobs.list()) ids.push(b.id);
    return ids.sort();
  };

  beforeAll(async () => {
    core = await createTestCore();
    box = await core.createMailbox('p@path.test', 'Correct-Horse-77');
  });
  afterAll(async () => {
    statements.restore();
    await core?.close();
  });

  it('reads the target folder once per APPEND: the update that takes its UID finds it', async () => {
    await core.store.append(box.id, 'INBOX', msg(0)); // statements prepared, caches filled
    if (process.env.POSTERN_TEST_PG_URL) return; // statements are counted where they run in-process (SQLite)
    const { ran } = await statements.count(() => core.store.append(box.id, 'inbox', msg(1)));
    expect(ran.filter((s) => /^select .* from "folders"/i.test(s))).toHaveLength(0);
    expect(ran.filter((s) => /^update "folders"/i.test(s))).toHaveLength(1);
  });

  it('refuses a folder that does not exist: nothing committed, no blob left', async () => {
    const before = await core.store.quota(box.id);
    const files = await blobFiles();
    const err = await core.store.append(box.id, 'No Such Folder', msg(2)).catch((e: unknown) => e);
    expect(isAppError(err, 'NotFound')).toBe(true);
    expect(await core.store.quota(box.id)).toEqual(before);
    expect(await blobFiles()).toEqual(files);
    // Still listed as unsynced: at most earlier messages' blobs (unlisted with a later transaction), never the refused one.
    const stored = new Set((await core.db.selectFrom('messages').select('blob_id').execute()).map((r) => r.blob_id));
    for (const r of await core.db.selectFrom('unsynced_blobs').select('blob_id').execute()) expect(stored.has(r.blob_id)).toBe(true);
  });
});
