/**
 * FETCH of ENVELOPE and SEARCH of SUBJECT/FROM/TO/CC/BCC answered from a large folder's envelope
 * copy (issue 18, fourteenth round) write what the general path (each message's meta) writes,
 * byte for byte: 8-bit subjects and names as literals, groups, missing fields, after appends the
 * copy lacks and after an expunge; neither reads a message's row once the copy is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENVELOPE_COPY_MIN_ENTRIES } from '../../appliance/mailstore/envelope-copy.js';
import { installStatementCounter, type StatementCounter } from '../helpers/statements.js';
import { RawClient, sleep, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'env@r14env-imap.test';
const PASS = 'fetch envelope passphrase';
const names = ['"Zoë Quote \\"Q\\"" <zoe@example.org>', 'plain@example.org', '=?UTF-8?B?w4lsw6huZQ==?= <elene@example.net>', 'Group: a@x.org, b@y.org;', 'Ünï Raw <raw@example.org>'];
const msg = (i: number) =>
  Buffer.from(
    `From: ${names[i % names.length]}\r\n` +
      (i % 3 ? `To: to${i}@example.com\r\n` : '') +
      (i % 4 === 1 ? `Cc: cc${i}@example.com, "Cc Two" <cc2@example.com>\r\n` : '') +
      (i % 5 ? `Subject: ${i % 2 ? 'Re: ' : ''}item ${i} "q" ünïcode\r\n` : '') +
      (i % 7 ? `Date: Mon, ${1 + (i % 27)} Jan 2024 10:00:00 +0000\r\n` : '') +
      (i % 8 ? `Message-ID: <e${i}@t>\r\n` : '') +
      `\r\nbody ${i}\r\n`,
  );
/** The general path is made to run by a section that needs the meta; its text is removed. */
const SECTION = ' BODY.PEEK[HEADER.FIELDS (X-NONE)]';
const general = (reply: string) => reply.split(' BODY[HEADER.FIELDS (X-NONE)] {2}\r\n\r\n').join('');
const untagged = (reply: string) => reply.slice(0, reply.lastIndexOf('\r\n', reply.length - 3) + 2);

describe('FETCH ENVELOPE and SEARCH of headers from the envelope copy (r14env)', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let counter: StatementCounter;
  let mailboxId: string;
  let folderId: number;
  const copyEntries = async () => (await env.core.db.selectFrom('folder_envelope_chunks').select('entries').where('folder_id', '=', folderId).execute()).reduce((n, r) => n + Number(r.entries), 0);
  /** SEARCH of a header key from the copy against the general path (the same key ORed with one that needs the meta and matches nothing). */
  const sameSearch = async (key: string) => {
    const fast = await counter.count(() => a.cmd('q', `SEARCH ${key}`, 20_000));
    const slow = await a.cmd('q', `SEARCH OR (${key}) SENTON 1-Jan-1990`, 20_000);
    expect(fast.value).toMatch(/q OK/);
    expect({ key, got: fast.value }).toEqual({ key, got: slow });
    return fast;
  };
  const KEYS = ['SUBJECT "item 1"', 'SUBJECT ünïcode', 'FROM zoë', 'FROM élène', 'TO to3', 'CC "cc two"', 'FROM a@x.org', 'NOT SUBJECT re:', 'OR FROM plain CC cc2 UNSEEN'];
  const waitCopy = async (n: number) => {
    for (let i = 0; i < 300 && (await copyEntries()) !== n; i++) await sleep(100);
    expect(await copyEntries()).toBe(n);
  };
  beforeAll(async () => {
    counter = installStatementCounter();
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    await env.core.store.appendMany(
      mailboxId,
      'INBOX',
      Array.from({ length: ENVELOPE_COPY_MIN_ENTRIES + 5 }, (_, i) => ({ raw: msg(i) })),
    );
    folderId = (await env.core.store.getFolder(mailboxId, 'INBOX'))!.id;
    a = await RawClient.connect(env.server.ports.imaps, true);
    await a.cmd('l', `LOGIN ${USER} "${PASS}"`);
  }, 120_000);
  afterAll(async () => {
    a?.close();
    counter?.restore();
    await env?.close();
  });

  it('answers from the copy as the general path does', async () => {
    await waitCopy(ENVELOPE_COPY_MIN_ENTRIES + 5);
    // The search indexer reads new messages' ids in the background: none inside the counts.
    await env.core.store.searchIndexer.idle();
    await a.cmd('s', 'SELECT INBOX');
    const fast = await counter.count(() => a.cmd('f', 'FETCH 1:* (FLAGS ENVELOPE)', 20_000));
    expect(fast.value).toMatch(/f OK/);
    // No message's meta was read: the texts came from the copy.
    expect(fast.compiled.filter((q) => /"meta".* from "messages"/.test(q))).toEqual([]);
    const slow = await a.cmd('f', `FETCH 1:* (FLAGS ENVELOPE${SECTION})`, 20_000);
    expect(untagged(fast.value)).toBe(general(untagged(slow)));
    expect(untagged(fast.value).match(/^\* \d+ FETCH /gm)).toHaveLength(ENVELOPE_COPY_MIN_ENTRIES + 5);
    for (const key of KEYS) {
      const fastSearch = await sameSearch(key);
      expect(fastSearch.compiled.filter((q) => /from "messages"/.test(q))).toEqual([]);
    }
  });

  it('answers as the general path after appends the copy lacks and an expunge', async () => {
    await env.core.store.appendMany(
      mailboxId,
      'INBOX',
      Array.from({ length: 7 }, (_, i) => ({ raw: msg(5000 + i) })),
    );
    expect(await a.cmd('d', 'STORE 3,500 +FLAGS.SILENT (\\Deleted)')).toMatch(/d OK/);
    expect(await a.cmd('x', 'EXPUNGE')).toMatch(/x OK/);
    const fast = await a.cmd('f', 'UID FETCH 1:* (ENVELOPE FLAGS)', 20_000);
    const slow = await a.cmd('f', `UID FETCH 1:* (ENVELOPE FLAGS${SECTION})`, 20_000);
    expect(untagged(fast)).toBe(general(untagged(slow)));
    expect(untagged(fast).match(/^\* \d+ FETCH /gm)).toHaveLength(ENVELOPE_COPY_MIN_ENTRIES + 10);
    for (const key of KEYS) await sameSearch(key);
  });
});
