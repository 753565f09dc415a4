import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const msg = (subject: string, body = 'Hello there.\r\n') =>
  Buffer.from(
    `From: Alice <alice@example.org>\r\nTo: bob@store.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.org>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\n${body}`,
  );

describe('mail store', () => {
  let core: TestCore;
  let bob: { id: string; address: string };
  let carol: { id: string; address: string };

  beforeAll(async () => {
    core = await createTestCore();
    bob = await core.createMailbox('bob@store.test', 'Correct-Horse-42');
    carol = await core.createMailbox('carol@store.test', 'Correct-Horse-43', { quotaBytes: 4096 });
  });
  afterAll(async () => core?.close());

  it('creates the standard folders with special-use flags', async () => {
    const folders = await core.store.listFolders(bob.id);
    expect(folders.map((f) => [f.name, f.specialUse]).sort()).toEqual([
      ['Archive', '\\Archive'],
      ['Drafts', '\\Drafts'],
      ['INBOX', null],
      ['Junk', '\\Junk'],
      ['Sent', '\\Sent'],
      ['Trash', '\\Trash'],
    ]);
    expect(new Set(folders.map((f) => f.uidValidity)).size).toBe(folders.length);
  });

  it('delivers with strictly increasing UIDs, a Delivered-To prefix and quota accounting', async () => {
    const inbox = (await core.store.getFolder(bob.id, 'inbox'))!;
    const events: unknown[] = [];
    const stop = core.store.watch(inbox.id, (e) => events.push(e));
    const r1 = await core.deliver(bob.address, msg('one'));
    const r2 = await core.deliver(bob.address, msg('two'));
    stop();
    expect(r2[0]!.uid).toBeGreaterThan(r1[0]!.uid);
    expect(events).toHaveLength(2);
    const entries = await core.store.listMessages(inbox.id);
    expect(entries.map((e) => e.uid)).toEqual([r1[0]!.uid, r2[0]!.uid]);
    const raw = (await core.store.readMessage(entries[0]!.messageId)).toString();
    expect(raw.startsWith('Delivered-To: bob@store.test\r\nFrom: Alice')).toBe(true);
    expect(entries[0]!.size).toBe(raw.length);
    const part = await core.store.readMessage(entries[0]!.messageId, { start: 4, end: 20 });
    expect(part.toString()).toBe(raw.slice(4, 20));
    const q = await core.store.quota(bob.id);
    expect(q.messages).toBe(2);
    expect(q.usedBytes).toBe(entries.reduce((s, e) => s + e.size, 0));
    const meta = await core.store.getMeta([entries[0]!.messageId]);
    expect(meta.get(entries[0]!.messageId)!.envelope.subject).toBe('one');
  });

  it('stores a message for several recipients once and references it', async () => {
    const raw = msg('shared', 'x'.repeat(100) + '\r\n');
    await core.store.ingest.ingest(
      raw,
      [
        { mailboxId: bob.id, folder: 'INBOX', prefix: '' },
        { mailboxId: carol.id, folder: 'INBOX', prefix: '' },
      ],
      { enforceQuota: false },
    );
    const rows = await core.db.selectFrom('messages').select(['id', 'refs', 'blob_id']).where('meta', 'like', '%shared%').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.refs).toBe(2);
  });

  it('tracks flags with MODSEQ and reports changes since a MODSEQ', async () => {
    const inbox = (await core.store.getFolder(bob.id, 'INBOX'))!;
    const before = (await core.store.folderStatus(inbox.id)).highestModseq;
    const uids = (await core.store.listMessages(inbox.id)).map((e) => e.uid);
    const res = await core.store.storeFlags(inbox.id, [uids[0]!], 'add', ['\\seen', '$Important']);
    expect(res.updated[0]!.flags).toEqual(['\\Seen', '$Important']);
    expect(res.updated[0]!.modseq).toBeGreaterThan(before);
    const conflict = await core.store.storeFlags(inbox.id, [uids[0]!], 'remove', ['\\Seen'], before);
    expect(conflict.conflicts).toEqual([uids[0]]);
    const changes = await core.store.changesSince(inbox.id, before);
    expect(changes.changed.map((c) => c.uid)).toEqual([uids[0]]);
    const status = await core.store.folderStatus(inbox.id);
    expect(status.unseen).toBe(status.messages - 1);
  });

  it('copies, moves and expunges, keeping quota right and collecting unreferenced messages', async () => {
    const inbox = (await core.store.getFolder(bob.id, 'INBOX'))!;
    const archive = (await core.store.getFolder(bob.id, 'Archive'))!;
    const trash = (await core.store.getFolder(bob.id, 'Trash'))!;
    const [first, second] = await core.store.listMessages(inbox.id);
    const copied = await core.store.copyMessages(inbox.id, [first!.uid], archive.id);
    expect(copied.pairs).toEqual([[first!.uid, 1]]);
    const moved = await core.store.moveMessages(inbox.id, [second!.uid], trash.id);
    expect(moved.pairs[0]![0]).toBe(second!.uid);
    expect((await core.store.changesSince(inbox.id, 0)).expunged).toContain(second!.uid);
    await core.store.storeFlags(trash.id, [moved.pairs[0]![1]], 'add', ['\\Deleted']);
    expect(await core.store.folderStatus(trash.id)).toMatchObject({ messages: 1, deleted: 1, unseen: 1, size: second!.size });
    const usedBefore = (await core.store.quota(bob.id)).usedBytes;
    expect(await core.store.expunge(trash.id)).toEqual([moved.pairs[0]![1]]);
    expect((await core.store.quota(bob.id)).usedBytes).toBe(usedBefore - second!.size);
    expect(await core.db.selectFrom('messages').select('id').where('id', '=', second!.messageId).executeTakeFirst()).toBeUndefined();
  });

  it('appends through the ingest path and refuses over quota', async () => {
    const ok = await core.store.append(carol.id, 'Drafts', msg('draft'), { flags: ['\\Draft'] });
    expect(ok.uid).toBe(1);
    await expect(core.store.append(carol.id, 'INBOX', msg('big', 'y'.repeat(5000)))).rejects.toMatchObject({ code: 'QuotaExceeded' });
  });

  it('creates, renames (with children) and deletes folders', async () => {
    await core.store.createFolder(bob.id, 'Projects');
    await core.store.createFolder(bob.id, 'Projects/2026');
    await expect(core.store.createFolder(bob.id, 'Projects')).rejects.toMatchObject({ code: 'AlreadyExists' });
    await core.store.renameFolder(bob.id, 'Projects', 'Work');
    const names = (await core.store.listFolders(bob.id)).map((f) => f.name);
    expect(names).toContain('Work/2026');
    expect(names).not.toContain('Projects');
    await core.store.deleteFolder(bob.id, 'Work/2026');
    await expect(core.store.deleteFolder(bob.id, 'INBOX')).rejects.toMatchObject({ code: 'Invalid' });
  });

  it('group-commits concurrent deliveries', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => core.deliver(bob.address, msg(`burst${i}`))));
    const uids = results.map((r) => r[0]!.uid);
    expect(new Set(uids).size).toBe(40);
    expect(core.store.queue.maxBatch).toBeGreaterThan(1);
  });
});

describe('mail store: batch reads and line endings', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => core?.close());

  it('stores bare-LF input (APPEND, imports) with CRLF line endings', async () => {
    const box = await core.createMailbox('lf@store.test', 'Correct-Horse-44');
    const { uid } = await core.store.append(box.id, 'INBOX', Buffer.from('Subject: lf\nFrom: a@b.test\n\nline one\nline two\r\nthree\rfour\n'));
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    const [entry] = (await core.store.listMessages(inbox.id)).filter((e) => e.uid === uid);
    const raw = (await core.store.readMessage(entry!.messageId)).toString('latin1');
    expect(raw).toBe('Subject: lf\r\nFrom: a@b.test\r\n\r\nline one\r\nline two\r\nthree\r\nfour\r\n');
    expect(entry!.size).toBe(raw.length);
  });

  it('reads many messages in one call, prefixes included', async () => {
    const box = await core.createMailbox('batch@store.test', 'Correct-Horse-45');
    for (let i = 0; i < 30; i++) await core.deliver(box.address, msg(`batch${i}`));
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    const entries = await core.store.listMessages(inbox.id);
    const all = await core.store.readMessages(entries.map((e) => e.messageId));
    expect(all.size).toBe(30);
    for (const e of entries) expect(all.get(e.messageId)!.equals(await core.store.readMessage(e.messageId))).toBe(true);
    // One or two messages (read on the calling thread from a file store): the same bytes, and a
    // lost blob fails the read as the parallel path does (FETCH then skips the message).
    for (const ids of [[entries[0]!.messageId], [entries[1]!.messageId, entries[2]!.messageId]]) {
      const few = await core.store.readMessages(ids);
      expect([...few.keys()].sort()).toEqual([...ids].sort());
      for (const id of ids) expect(few.get(id)!.equals(all.get(id)!)).toBe(true);
    }
    const row = await core.db.selectFrom('messages').select('blob_id').where('id', '=', entries[3]!.messageId).executeTakeFirstOrThrow();
    await core.blobs.delete(row.blob_id);
    await expect(core.store.readMessages([entries[3]!.messageId])).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(core.store.readMessages(entries.slice(3, 10).map((e) => e.messageId))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('lends many bodies while a write transaction is open (their rows are not read on the writer connection)', async () => {
    const box = await core.createMailbox('lend@store.test', 'Correct-Horse-48');
    for (let i = 0; i < 12; i++) await core.deliver(box.address, msg(`lend${i}`));
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    const entries = await core.store.listMessages(inbox.id);
    const expected = await core.store.readMessages(entries.map((e) => e.messageId));
    let release: (() => void) | undefined;
    const held = core.store.queue.run(() => new Promise<void>((r) => (release = r)));
    for (let i = 0; !release && i < 1000; i++) await new Promise((r) => setImmediate(r));
    expect(release).toBeDefined(); // a transaction is open and holds the writer connection
    try {
      // On the writer connection this would wait for the release below, which comes only after it.
      const lent = await core.store.lendMessages(entries.map((e) => e.messageId));
      expect(lent.bytes.size).toBe(12);
      for (const e of entries) expect(Buffer.from(lent.bytes.get(e.messageId)!).equals(expected.get(e.messageId)!)).toBe(true);
      lent.release();
    } finally {
      release?.();
    }
    await held;
  });
});

describe('mail store: orphan sweep', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => core?.close());

  it('removes only blobs no message refers to, and only past the age given', async () => {
    const box = await core.createMailbox('sweep@store.test', 'Correct-Horse-46');
    for (let i = 0; i < 3; i++) await core.deliver(box.address, msg(`kept${i}`));
    const orphans = await Promise.all(Array.from({ length: 600 }, () => core.blobs.put(Buffer.from('orphan'))));
    expect(await core.store.sweepOrphanBlobs(60_000)).toBe(0); // too fresh
    expect(await core.store.sweepOrphanBlobs(0)).toBe(orphans.length);
    const left: string[] = [];
    for await (const b of core.blobs.list()) left.push(b.id);
    expect(left).toHaveLength(3);
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    for (const e of await core.store.listMessages(inbox.id)) expect((await core.store.readMessage(e.messageId)).length).toBe(e.size);
  });

  it('asks the index first and looks at the age of unreferenced files only (no stat per stored message)', async (ctx) => {
    const blobs = core.blobs;
    if (!(blobs instanceof FileBlobStore)) return ctx.skip(); // local files only (an S3 listing carries the ages)
    const box = await core.createMailbox('sweep-ages@store.test', 'Correct-Horse-46');
    for (let i = 0; i < 5; i++) await core.deliver(box.address, msg(`aged${i}`));
    const orphans = await Promise.all(Array.from({ length: 2 }, () => blobs.put(Buffer.from('orphan'))));
    const asked: string[] = [];
    const mtimeOf = blobs.mtimeOf.bind(blobs);
    blobs.mtimeOf = (id: string) => (asked.push(id), mtimeOf(id));
    try {
      expect(await core.store.sweepOrphanBlobs(0)).toBe(2);
    } finally {
      blobs.mtimeOf = mtimeOf;
    }
    expect(asked.sort()).toEqual([...orphans].sort());
  });
});

describe('mail store: \\Recent claims on a single node', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => core?.close());

  it('are decided at once, even while the write queue is held, exactly once per message, and written behind', async () => {
    const box = await core.createMailbox('recent@store.test', 'Correct-Horse-47');
    for (let i = 0; i < 3; i++) await core.deliver(box.address, msg(`recent${i}`));
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    const top = inbox.uidNext; // claims cover UIDs below this
    expect(await core.store.claimRecent(inbox.id, top - 1)).toBeLessThan(top - 1); // the folder's mark, read once
    let release: (() => void) | undefined;
    const held = core.store.queue.run(() => new Promise<void>((r) => (release = r)));
    for (let i = 0; !release && i < 1000; i++) await new Promise((r) => setImmediate(r));
    expect(release).toBeDefined(); // a transaction is open and holds the queue
    try {
      // Two sessions learn of the same messages: the first gets them, the second nothing.
      const first = await core.store.claimRecent(inbox.id, top);
      const second = await core.store.claimRecent(inbox.id, top);
      expect(first).toBe(top - 1);
      expect(second).toBe(top);
    } finally {
      release?.();
    }
    await held;
    await core.store.queue.drain();
    const row = await core.db.selectFrom('folders').select('recent_uid').where('id', '=', inbox.id).executeTakeFirstOrThrow();
    expect(Number(row.recent_uid)).toBe(top);
    // EXAMINE and STATUS count from the claim
    expect((await core.store.getFolder(box.id, 'INBOX'))!.recentUid).toBe(top);
    expect((await core.store.folderStatus(inbox.id)).recent).toBe(0);
  });
});
