/**
 * A fresh process's first SELECT of a large folder (issue 18, twelfth round): three reads (the
 * folder by name, its state, the narrow copy), each statement compiled once; no \Recent read
 * (the folder row read by name has the mark) and no state read after the answer (the folder is
 * watched before its columns are read). A change committed while the SELECT runs is still
 * reported, and the answer is what the rows say.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstUnseenOf } from '../../appliance/imap/commands/select.js';
import { startImapServer, type ImapServerHandle } from '../../appliance/imap/server.js';
import { warmUpFolderIndex } from '../../appliance/mailstore/folder-index.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { countingDb } from '../helpers/statements.js';
import { inboxWithIndexCopies, RawClient, startImapEnv, testCertificate, type ImapTestEnv } from './imap-harness.js';

const USER = 'select@r12select.test';
const PASS = 'select r12 passphrase';
const N = 1_100;
const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <r12s${i}@t>\r\n\r\nbody ${i}\r\n`);
const flagsOf = (i: number) => (i < 3 || i % 4 === 0 ? ['\\Seen'] : []);

describe('the first SELECT of a fresh process on a large folder', () => {
  let env: ImapTestEnv;
  let server: ImapServerHandle;
  let fresh: SqlMailStore;
  let mailboxId: string;
  let folderId: number;
  let count: ReturnType<typeof countingDb>;
  const clients: RawClient[] = [];
  const login = async () => {
    const c = await RawClient.connect(server.ports.imaps, true);
    clients.push(c);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    return c;
  };

  beforeAll(async () => {
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    // Both index copies written by a full read (the narrow one is what a fresh SELECT reads).
    folderId = await inboxWithIndexCopies(env, mailboxId, N, msg, flagsOf);
    count = countingDb(env.core.db);
    fresh = new SqlMailStore({ db: count.db, blobs: env.core.blobs, maxMessageBytes: env.config.maxMessageBytes });
    server = await startImapServer({ config: env.config, logger: env.core.logger, store: fresh, credentials: env.core.credentials, tls: testCertificate() });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close();
    await fresh?.queue.drain();
    await env?.close();
  });

  it('reads the folder, its state and the narrow copy, and nothing else, for the answer the rows give', async () => {
    const c = await login();
    count.ran.length = 0;
    count.counting.on = true;
    const sel = await c.cmd('s', 'SELECT INBOX');
    count.counting.on = false;
    // (the \Recent claim is written behind, in the write queue: only reads are on the answer's path)
    expect(count.ran.filter((s) => s.startsWith('select'))).toEqual(['select folders', 'select folders', 'select folder_index_heads']);
    const row = await env.core.db.selectFrom('folders').select(['uid_next', 'highest_modseq']).where('id', '=', folderId).executeTakeFirstOrThrow();
    expect(sel).toContain(`* ${N} EXISTS`);
    expect(sel).toContain(`* ${N} RECENT`); // nobody was told of them before
    expect(sel).toContain('[UNSEEN 4]');
    expect(sel).toContain(`[UIDNEXT ${Number(row.uid_next)}]`);
    expect(sel).toContain(`[HIGHESTMODSEQ ${Number(row.highest_modseq)}]`);
    // The claim holds for the next session, and the process knows it without a read.
    const d = await login();
    count.ran.length = 0;
    count.counting.on = true;
    const again = await d.cmd('s', 'SELECT INBOX');
    count.counting.on = false;
    expect(again).toContain('* 0 RECENT');
    expect(count.ran.filter((s) => s.startsWith('select'))).toEqual(['select folders', 'select folders']);
    await fresh.queue.drain();
    const mark = await env.core.db.selectFrom('folders').select('recent_uid').where('id', '=', folderId).executeTakeFirstOrThrow();
    expect(Number(mark.recent_uid)).toBe(Number(row.uid_next));
  });

  it('reports a message that arrives while the SELECT reads the folder, in the same answer', async () => {
    const c = await login();
    const read = fresh.uidFlagColumns.bind(fresh);
    // The columns are read, then a message commits through this process's store (its event is
    // heard only by a watch that began before) before the SELECT answers.
    fresh.uidFlagColumns = async (id: number) => {
      const cols = await read(id);
      await fresh.append(mailboxId, 'INBOX', msg(N + 1));
      return cols;
    };
    let sel: string;
    try {
      sel = await c.cmd('s', 'SELECT INBOX');
    } finally {
      fresh.uidFlagColumns = read;
    }
    const total = Number((await env.core.db.selectFrom('folders').select('message_count').where('id', '=', folderId).executeTakeFirstOrThrow()).message_count);
    expect(sel).toMatch(new RegExp(`\\* ${total - 1} EXISTS[\\s\\S]*\\* ${total} EXISTS[\\s\\S]*s OK`));
    expect(await c.cmd('n', 'NOOP')).not.toContain('EXISTS');
  });

  it('warms the folder index on a made-up folder in memory, and the warm-up reads no row', async () => {
    expect(await warmUpFolderIndex()).toBe(true);
    count.ran.length = 0;
    count.counting.on = true;
    await fresh.warmUp();
    count.counting.on = false;
    expect(count.ran).toEqual([]);
  });
});

describe('firstUnseenOf', () => {
  const cols = (list: number[], lists: string[][]) => ({ length: list.length, list: Uint32Array.from(list), lists });
  it('finds the first entry whose flag list lacks \\Seen, or none', () => {
    const lists = [['\\Seen'], [], ['\\Flagged'], ['\\Seen', '\\Flagged']];
    expect(firstUnseenOf(cols([0, 0, 3, 2, 1, 2], lists))).toBe(4);
    expect(firstUnseenOf(cols([0, 3, 0, 3], lists))).toBe(0);
    expect(firstUnseenOf(cols([1], lists))).toBe(1);
    expect(firstUnseenOf(cols([], lists))).toBe(0);
    // a list without \Seen that no entry uses, and a column longer than the entries
    expect(firstUnseenOf({ length: 2, list: Uint32Array.from([0, 0, 1]), lists })).toBe(0);
    expect(firstUnseenOf(cols([...Array(5000).fill(0), 2, 1], lists))).toBe(5001);
  });
});
