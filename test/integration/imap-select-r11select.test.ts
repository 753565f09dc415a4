/**
 * SELECT, FETCH (FLAGS MODSEQ) and searches of a fresh process on a large folder (issue 18,
 * eleventh round): the folder index starts from the narrow copy (version 2: UIDs and flag lists
 * read through views, MODSEQs decoded on first read) and catches up from the change journal.
 * Every answer must be what the rows say, the MODSEQs included, for changes made after the copy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapServer, type ImapServerHandle } from '../../appliance/imap/server.js';
import { decodeHead } from '../../appliance/mailstore/folder-snapshot.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { inboxWithIndexCopies, RawClient, startImapEnv, testCertificate, type ImapTestEnv } from './imap-harness.js';

const USER = 'select@r11select.test';
const PASS = 'select r11 passphrase';
const N = 1_200;
const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <r11s${i}@t>\r\n\r\nbody ${i}\r\n`);
const flagsOf = (i: number) => [...(i % 10 === 0 ? ['\\Flagged'] : []), ...(i === 0 || i % 3 === 0 ? ['\\Seen'] : [])];
const numbers = (reply: string, re: RegExp) => (re.exec(reply)?.[1] ?? '').trim().split(' ').filter(Boolean).map(Number);

describe('a fresh process on a large folder with a narrow copy', () => {
  let env: ImapTestEnv;
  let server: ImapServerHandle;
  let fresh: SqlMailStore;
  let c: RawClient;
  let folderId: number;
  const rows = async () =>
    (await env.core.db.selectFrom('folder_messages').select(['uid', 'modseq', 'flags']).where('folder_id', '=', folderId).orderBy('uid').execute()).map((r) => ({
      uid: Number(r.uid),
      modseq: Number(r.modseq),
      flags: r.flags ? r.flags.split(' ') : [],
    }));

  beforeAll(async () => {
    env = await startImapEnv();
    const mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    // Both index copies written by a full read; the changes after them come from the journal.
    folderId = await inboxWithIndexCopies(env, mailboxId, N, msg, flagsOf);
    const head = await env.core.db.selectFrom('folder_index_heads').select('data').where('folder_id', '=', folderId).executeTakeFirst();
    expect(decodeHead(head!.data)?.length).toBe(N);
    await env.core.store.storeFlags(folderId, [1, 2], 'remove', ['\\Seen']);
    await env.core.store.storeFlags(folderId, [500], 'add', ['\\Flagged']);
    await env.core.store.storeFlags(folderId, [7], 'add', ['\\Deleted']);
    expect(await env.core.store.expunge(folderId, [7])).toEqual([7]);
    await env.core.store.appendMany(mailboxId, 'INBOX', [{ raw: msg(N), flags: ['\\Flagged'] }]);
    fresh = new SqlMailStore({ db: env.core.db, blobs: env.core.blobs, maxMessageBytes: env.config.maxMessageBytes });
    server = await startImapServer({ config: env.config, logger: env.core.logger, store: fresh, credentials: env.core.credentials, tls: testCertificate() });
    c = await RawClient.connect(server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
  });
  afterAll(async () => {
    c?.close();
    await server?.close();
    await fresh?.queue.drain();
    await env?.close();
  });

  it('answers SELECT, FETCH (FLAGS MODSEQ) and searches as the rows say', async () => {
    const want = await rows();
    const sel = await c.cmd('s', 'SELECT INBOX (CONDSTORE)');
    expect(sel).toContain(`* ${want.length} EXISTS`);
    const firstUnseen = want.findIndex((r) => !r.flags.includes('\\Seen')) + 1;
    expect(sel).toContain(`[UNSEEN ${firstUnseen}]`);
    expect(sel).toContain(`[HIGHESTMODSEQ ${Math.max(...want.map((r) => r.modseq))}]`);
    const flagged = want.filter((r) => r.flags.includes('\\Flagged')).map((r) => r.uid);
    expect(numbers(await c.cmd('f', 'UID SEARCH FLAGGED'), /\* SEARCH([\d ]*)/)).toEqual(flagged);
    const reply = await c.cmd('x', 'UID FETCH 1:* (FLAGS MODSEQ)');
    const fetched = reply
      .split('\r\n')
      .filter((l) => l.startsWith('* ') && l.includes(' FETCH '))
      .map((l) => ({
        uid: Number(/UID (\d+)/.exec(l)![1]),
        modseq: Number(/MODSEQ \((\d+)\)/.exec(l)![1]),
        flags: /FLAGS \(([^)]*)\)/
          .exec(l)![1]!
          .split(' ')
          .filter((f) => f && f !== '\\Recent'),
      }));
    expect(fetched).toEqual(want);
    const since = want[want.length - 3]!.modseq;
    const later = want.filter((r) => r.modseq >= since).map((r) => r.uid);
    expect(numbers(await c.cmd('m', `UID SEARCH MODSEQ ${since}`), /\* SEARCH([\d ]*)/)).toEqual(later);
  });
});
