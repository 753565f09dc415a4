/**
 * THREAD of a large folder from its sort-key copy's columns (issue 18, eighth round): a server
 * whose store has no sort rows of the folder answers THREAD REFERENCES and ORDEREDSUBJECT, UID
 * THREAD and THREAD with a search from the copy (store.threadColumns) without sort rows, exactly
 * as the sort rows answer them — also after messages were added that the copy lacks and removed
 * that it still holds.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import { SORT_COPY_MIN_ENTRIES } from '../../appliance/mailstore/sort-key-copy.js';
import { formatThreads, referenceThreads, threadReferences } from '../../appliance/imap/sort.js';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'threads@sort.test';
const PASS = 'thread columns passphrase';
const COUNT = SORT_COPY_MIN_ENTRIES + 60;

/** Reply chains (References, In-Reply-To), missing parents, duplicate Message-IDs, subject-only threads, no Date header now and then. */
const msg = (i: number) =>
  Buffer.from(
    [
      `From: s${i % 13}@example.org`,
      `Subject: ${i % 3 ? 'Re: ' : ''}topic ${i % 17}`,
      ...(i % 10 ? [`Date: Mon, ${1 + (i % 27)} Jan 2024 ${String(i % 24).padStart(2, '0')}:00:00 +0000`] : []),
      ...(i % 31 ? [`Message-ID: <t${i % 997}@t>`] : []),
      ...(i % 4 === 1 ? [`References: <t${i % 50}@t> <gone${i % 7}@t> <t${(i - 1) % 997}@t>`] : []),
      ...(i % 4 === 2 ? [`In-Reply-To: <t${Math.floor(i / 2) % 997}@t>`] : []),
      '',
      `body ${i}`,
      '',
    ].join('\r\n'),
  );

describe('THREAD from the sort-key copy columns', () => {
  let env: ImapTestEnv;
  let mailboxId: string;
  let inbox: FolderInfo;
  const freshStore = () => new SqlMailStore({ db: env.core.db, blobs: env.core.blobs, maxMessageBytes: env.core.config.maxMessageBytes });

  beforeAll(async () => {
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    const items = Array.from({ length: COUNT }, (_, i) => ({ raw: msg(i), internalDate: Date.UTC(2024, 1, 1 + (i % 5)) }));
    for (let i = 0; i < items.length; i += 250) await env.core.store.appendMany(mailboxId, 'INBOX', items.slice(i, i + 250));
    inbox = (await env.core.store.getFolder(mailboxId, 'INBOX'))!;
    await env.core.store.sortRows(inbox.id); // writes the folder's copy
    await env.core.store.queue.drain();
  }, 120_000);
  afterAll(async () => env?.close());

  it("threads the folder's columns as its sort rows, also when the copy lacks messages and holds removed ones", async () => {
    const other = freshStore();
    await other.appendMany(mailboxId, 'INBOX', [{ raw: msg(5001) }, { raw: msg(5002) }, { raw: msg(4) }]);
    await other.storeFlags(inbox.id, [2, 40, 41, 700], 'add', ['\\Deleted']);
    await other.expunge(inbox.id);
    await other.queue.drain();
    const rows = await freshStore().sortRows(inbox.id);
    const store = freshStore();
    const column = await store.threadColumns(inbox.id);
    expect(column).not.toBeNull();
    // Kept while the membership stands, made again after a change.
    expect(await store.threadColumns(inbox.id)).toBe(column);
    await store.appendMany(mailboxId, 'Archive', [{ raw: msg(7000) }]);
    expect(await store.threadColumns(inbox.id)).toBe(column);
    expect(Array.from(column!.uids)).toEqual(rows.map((r) => r.uid));
    expect(formatThreads(referenceThreads(column!), column!.uids)).toBe(formatThreads(threadReferences(rows), (r) => r.uid));
    await store.appendMany(mailboxId, 'INBOX', [{ raw: msg(7001) }]);
    const after = await store.threadColumns(inbox.id);
    expect(after).not.toBe(column);
    expect(after!.uids.length).toBe(column!.uids.length + 1);
    await store.expunge(inbox.id); // nothing marked: the membership stands
    expect(await store.threadColumns(inbox.id)).toBe(after);
  });

  it('answers THREAD and UID THREAD, with and without a search, over IMAP without sort rows, as the sort rows answer them', async () => {
    const store = env.core.store;
    // A delivery after the server's rows were read: the next THREAD finds no rows of this membership.
    await store.appendMany(mailboxId, 'INBOX', [{ raw: msg(6000) }]);
    const c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await c.cmd('s', 'SELECT INBOX');
    const commands = [
      'THREAD REFERENCES UTF-8 ALL',
      'UID THREAD REFERENCES UTF-8 ALL',
      'THREAD ORDEREDSUBJECT UTF-8 ALL',
      'UID THREAD ORDEREDSUBJECT UTF-8 ALL',
      'THREAD REFERENCES UTF-8 NOT FROM s3@example.org',
      'UID THREAD ORDEREDSUBJECT UTF-8 1:500',
      'THREAD REFERENCES UTF-8 SUBJECT "topic 1"',
    ];
    const spy = vi.spyOn(store, 'sortRows');
    const fromColumns: string[] = [];
    for (const [i, command] of commands.entries()) fromColumns.push(await c.cmd(`a${i}`, command));
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    await store.sortRows(inbox.id); // the rows of this membership: THREAD takes them from now on
    for (const [i, command] of commands.entries()) expect((await c.cmd(`b${i}`, command)).replaceAll(`b${i}`, 'T')).toBe(fromColumns[i]!.replaceAll(`a${i}`, 'T'));
    expect(fromColumns[0]).toMatch(/^\* THREAD \(/);
    expect(fromColumns[0]!.match(/\d+/g)!.length).toBeGreaterThan(SORT_COPY_MIN_ENTRIES);
    c.close();
  });
});
