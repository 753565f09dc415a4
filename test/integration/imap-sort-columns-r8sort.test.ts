/**
 * SORT of a large folder from its sort-key copy's columns (issue 18, eighth round): a store that
 * has no sort rows of the folder answers SORT by DATE or by a string key from one column of the
 * copy (store.sortColumn), with no sort row made, and its order is exactly the one the sort rows
 * give (RFC 5256 3: ties in sequence order) — after messages were added that the copy lacks and
 * removed that it still holds, for every key and REVERSE, for a search and for RETURN.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import { SORT_COPY_MIN_ENTRIES } from '../../appliance/mailstore/sort-key-copy.js';
import { type SortKeyName, columnOrder, sortOrder } from '../../appliance/imap/sort.js';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'columns@sort.test';
const PASS = 'sort columns passphrase';
const COUNT = SORT_COPY_MIN_ENTRIES + 60;

/** Few distinct subjects and senders (ties), some messages without a Date header (DATE falls back to the internal date). */
const msg = (i: number) =>
  Buffer.from(
    [
      `From: ${i % 7 ? `"Sender ${i % 11}" <s${i % 13}@example.org>` : `plain${i % 3}@example.org`}`,
      `To: t${i % 5}@example.org`,
      ...(i % 4 ? [`Cc: c${i % 9}@example.org`] : []),
      `Subject: ${i % 3 ? 'Re: ' : ''}topic ${i % 17}${i % 29 ? '' : ' ünïcödé'}`,
      ...(i % 10 ? [`Date: Mon, ${1 + (i % 27)} Jan 2024 ${String(i % 24).padStart(2, '0')}:00:00 +0000`] : []),
      `Message-ID: <c${i}@t>`,
      '',
      `body ${i}`,
      '',
    ].join('\r\n'),
  );

const FIELDS: Array<[SortKeyName, 'd' | 's' | 'f' | 't' | 'c' | 'df' | 'dt']> = [
  ['DATE', 'd'],
  ['SUBJECT', 's'],
  ['FROM', 'f'],
  ['TO', 't'],
  ['CC', 'c'],
  ['DISPLAYFROM', 'df'],
  ['DISPLAYTO', 'dt'],
];

describe('SORT from the sort-key copy columns', () => {
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

  /** Every key's column order (a store without rows) against the sort rows' order (another fresh store). */
  const expectSameOrders = async () => {
    const rows = await freshStore().sortRows(inbox.id);
    const store = freshStore();
    for (const [key, field] of FIELDS) {
      const column = await store.sortColumn(inbox.id, field);
      expect(column, key).not.toBeNull();
      expect(Array.from(column!.uids)).toEqual(rows.map((r) => r.uid));
      for (const reverse of [false, true]) expect(Array.from(columnOrder(column!.keys, reverse)), `${reverse ? 'REVERSE ' : ''}${key}`).toEqual(Array.from(sortOrder(rows, [{ key, reverse }])));
    }
  };

  it('gives the order of the sort rows for each key, and for a folder changed since its copy was written', async () => {
    await expectSameOrders();
    // Added since the copy (read from their rows) and removed since (still in the copy).
    const other = freshStore();
    await other.appendMany(mailboxId, 'INBOX', [{ raw: msg(5000) }, { raw: msg(5001) }, { raw: msg(5003) }]);
    await other.storeFlags(inbox.id, [2, 40, 41, 700], 'add', ['\\Deleted']);
    await other.expunge(inbox.id);
    await other.queue.drain();
    await expectSameOrders();
  });

  it('leaves a small folder, or one whose sort rows are at hand, to the sort rows', async () => {
    const store = freshStore();
    const small = (await store.getFolder(mailboxId, 'Archive'))!;
    await store.appendMany(mailboxId, 'Archive', [{ raw: msg(1) }, { raw: msg(2) }]);
    expect(await store.sortColumn(small.id, 'd')).toBeNull();
    await store.sortRows(inbox.id);
    expect(await store.sortColumn(inbox.id, 'd')).toBeNull();
  });

  it('answers SORT, UID SORT, SORT with a search and SORT RETURN over IMAP without sort rows, as the sort rows answer them', async () => {
    const store = env.core.store;
    // A delivery after the server's rows were read: the next SORT finds no rows of this membership.
    await store.appendMany(mailboxId, 'INBOX', [{ raw: msg(6000) }]);
    const c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await c.cmd('s', 'SELECT INBOX');
    const commands = [
      'SORT (REVERSE DATE) UTF-8 ALL',
      'UID SORT (DATE) UTF-8 ALL',
      'SORT (SUBJECT) UTF-8 NOT FROM plain1',
      'UID SORT (REVERSE DISPLAYFROM) UTF-8 ALL',
      'SORT RETURN (MIN MAX COUNT) (REVERSE DATE) UTF-8 ALL',
      'SORT (CC) UTF-8 1:500',
    ];
    const spy = vi.spyOn(store, 'sortRows');
    const fromColumns: string[] = [];
    for (const [i, command] of commands.entries()) fromColumns.push(await c.cmd(`a${i}`, command));
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    await store.sortRows(inbox.id); // the rows of this membership: SORT takes them from now on
    for (const [i, command] of commands.entries()) expect((await c.cmd(`b${i}`, command)).replaceAll(`b${i}`, 'T')).toBe(fromColumns[i]!.replaceAll(`a${i}`, 'T'));
    expect(fromColumns[0]).toMatch(/^\* SORT \d+( \d+){1000,}\r\n/);
    c.close();
  });

  it("reads a fresh store's keys of a folder without a copy in one statement over the folder, not in statements of 500 ids", async () => {
    await env.core.db.deleteFrom('folder_sort_keys').where('folder_id', '=', inbox.id).execute();
    const tables: string[] = [];
    const db = env.core.db.withPlugin({
      transformQuery(args) {
        const node = args.node as { kind: string; from?: { froms: Array<{ table?: { identifier?: { name?: string } } }> } };
        if (node.kind === 'SelectQueryNode') for (const f of node.from?.froms ?? []) tables.push(f.table?.identifier?.name ?? '?');
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const store = new SqlMailStore({ db, blobs: env.core.blobs, maxMessageBytes: env.core.config.maxMessageBytes });
    const rows = await store.sortRows(inbox.id);
    await store.queue.drain();
    expect(rows.length).toBeGreaterThan(SORT_COPY_MIN_ENTRIES);
    expect(tables.filter((t) => t === 'messages')).toEqual([]);
    expect(tables.filter((t) => t === 'folder_messages').length).toBeLessThanOrEqual(2);
    expect(rows).toEqual(await freshStore().sortRows(inbox.id));
  });
});
