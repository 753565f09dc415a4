/**
 * Whole-folder SORT answers kept per kept order, and sort-key columns kept per membership (issue
 * 18, fifteenth round): a repeated SORT of every message answers with the same bytes, and after
 * new mail arrives or messages are expunged while the folder is selected, the next SORT answers
 * for the folder as it is now (RFC 5256 3: ties in sequence order; DATE falls back to the
 * internal date) — for a large folder (SORT from the sort-key copy's columns) and a small one
 * (SORT from sort rows), by sequence number and by UID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { SORT_COPY_MIN_ENTRIES } from '../../appliance/mailstore/sort-key-copy.js';
import { type SortCriterion, sortOrder } from '../../appliance/imap/sort.js';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'answers@sort.test';
const PASS = 'sort answers passphrase';

/** Ties on the date (every 5th shares one), some without a Date header (internal date), one with an invalid one. */
const msg = (i: number, day = 1 + (i % 20)) =>
  Buffer.from(
    [
      `From: s${i % 13}@example.org`,
      `Subject: topic ${i % 17}`,
      ...(i % 9 === 4 ? [] : i % 9 === 7 ? ['Date: not a date at all'] : [`Date: Mon, ${day} Jan 2024 ${String(i % 5 ? i % 24 : 0).padStart(2, '0')}:00:00 +0000`]),
      `Message-ID: <a${i}@t>`,
      '',
      `body ${i}`,
      '',
    ].join('\r\n'),
  );

const CASES: Array<[string, SortCriterion[], boolean]> = [
  ['SORT (REVERSE DATE) UTF-8 ALL', [{ key: 'DATE', reverse: true }], false],
  ['UID SORT (REVERSE DATE) UTF-8 ALL', [{ key: 'DATE', reverse: true }], true],
  ['SORT (DATE) UTF-8 ALL', [{ key: 'DATE', reverse: false }], false],
  ['UID SORT (SUBJECT) UTF-8 ALL', [{ key: 'SUBJECT', reverse: false }], true],
];

describe('whole-folder SORT answers kept per order', () => {
  let env: ImapTestEnv;
  let mailboxId: string;
  const freshStore = () => new SqlMailStore({ db: env.core.db, blobs: env.core.blobs, maxMessageBytes: env.core.config.maxMessageBytes });

  beforeAll(async () => {
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    const items = Array.from({ length: SORT_COPY_MIN_ENTRIES + 40 }, (_, i) => ({ raw: msg(i), internalDate: Date.UTC(2024, 1, 1 + (i % 7)) }));
    for (let i = 0; i < items.length; i += 250) await env.core.store.appendMany(mailboxId, 'INBOX', items.slice(i, i + 250));
    await env.core.store.appendMany(mailboxId, 'Archive', items.slice(0, 40));
    const inbox = (await env.core.store.getFolder(mailboxId, 'INBOX'))!;
    await freshStore().sortRows(inbox.id); // writes the large folder's sort-key copy
    await env.core.store.queue.drain();
  }, 120_000);
  afterAll(async () => env?.close());

  /** What every case should answer for the folder as it is now (a fresh store's sort rows; the session has seen every change). */
  const expected = async (folder: string): Promise<string[]> => {
    const f = (await env.core.store.getFolder(mailboxId, folder))!;
    const rows = await freshStore().sortRows(f.id);
    return CASES.map(([, criteria, byUid]) => `* SORT ${Array.from(sortOrder(rows, criteria), (p) => (byUid ? rows[p]!.uid : p + 1)).join(' ')}\r\n`);
  };

  const sorts = async (c: RawClient, tag: string): Promise<string[]> => {
    const out: string[] = [];
    for (const [i, [command]] of CASES.entries()) {
      const text = await c.cmd(`${tag}${i}`, command);
      expect(text).toContain(`${tag}${i} OK`);
      out.push(text.slice(0, text.indexOf(`${tag}${i} `)));
    }
    return out;
  };

  for (const folder of ['INBOX', 'Archive']) {
    it(`answers ${folder} as it is after mail arrives and after EXPUNGE while selected`, async () => {
      const c = await RawClient.connect(env.server.ports.imaps, true);
      await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
      await c.cmd('s', `SELECT ${folder}`);
      const first = await expected(folder);
      expect(await sorts(c, 'a')).toEqual(first);
      expect(await sorts(c, 'b')).toEqual(first); // the kept answers
      // New mail while selected: the newest date goes first in REVERSE DATE, and one ties with an old date.
      await env.core.store.appendMany(mailboxId, folder, [{ raw: msg(9001, 28) }, { raw: msg(9005, 1 + (9005 % 20)) }]);
      await c.cmd('n', 'NOOP');
      const arrived = await expected(folder);
      expect(arrived).not.toEqual(first);
      expect(await sorts(c, 'c')).toEqual(arrived);
      // Expunged in this session (the first and some of the middle).
      await c.cmd('d', 'STORE 1,7,30:33 +FLAGS.SILENT (\\Deleted)');
      await c.cmd('e', 'EXPUNGE');
      const expunged = await expected(folder);
      expect(expunged).not.toEqual(arrived);
      expect(await sorts(c, 'f')).toEqual(expunged);
      expect(await sorts(c, 'g')).toEqual(expunged);
      c.close();
    }, 60_000);
  }
});
