/**
 * SEARCH keys answered from the message metadata (SUBJECT, FROM/TO/CC/BCC, SENT*), alone or with
 * flags, walk the folder's columns and the metadata in one pass (issue 18,
 * appliance/imap/search-executor.ts metaSearch). They must answer what the entries and the
 * messages say, and what the general path answers (a HEADER key sends a search there), for
 * messages of the session's view only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'meta@search.test';
const PASS = 'meta search passphrase';
const N = 30;
const msg = (i: number) =>
  Buffer.from(
    `From: "Sender ${i % 3}" <s${i % 3}@example.org>\r\nTo: t${i % 2}@example.net\r\nSubject: Topic ${i % 4} no. ${i}\r\n` +
      `Date: Mon, ${1 + (i % 20)} Jan 2024 10:00:00 +0000\r\nMessage-ID: <m${i}@meta>\r\n\r\nbody ${i}\r\n`,
  );
const flagsOf = (i: number) => [...(i % 2 ? ['\\Seen'] : []), ...(i % 5 === 0 ? ['\\Flagged'] : [])];

const searchIds = (reply: string) => (/\* SEARCH([\d ]*)/.exec(reply)?.[1] ?? '').trim().split(' ').filter(Boolean).map(Number);

describe('SEARCH of metadata keys from the folder columns', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let mailboxId: string;
  beforeAll(async () => {
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    await env.core.store.appendMany(
      mailboxId,
      'INBOX',
      Array.from({ length: N }, (_, i) => ({ raw: msg(i), flags: flagsOf(i) })),
    );
    a = await RawClient.connect(env.server.ports.imaps, true);
    await a.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await a.cmd('s', 'SELECT INBOX');
  });
  afterAll(async () => {
    a?.close();
    await env?.close();
  });

  it('answers what the messages say, as the general path does', async () => {
    // UID i + 1 is message i (appended in order into an empty INBOX).
    const cases: Array<[string, (i: number) => boolean]> = [
      ['SUBJECT "topic 1"', (i) => i % 4 === 1],
      ['FROM "s2@example"', (i) => i % 3 === 2],
      ['TO "t1@"', (i) => i % 2 === 1],
      ['OR FLAGGED SUBJECT "no. 7"', (i) => i % 5 === 0 || i === 7],
      ['UNSEEN FROM "sender 0"', (i) => i % 2 === 0 && i % 3 === 0],
      ['NOT SUBJECT "topic 0"', (i) => i % 4 !== 0],
      ['SENTBEFORE 5-Jan-2024 SUBJECT "topic"', (i) => 1 + (i % 20) < 5],
    ];
    for (const [key, want] of cases) {
      const expected = Array.from({ length: N }, (_, i) => i)
        .filter(want)
        .map((i) => i + 1);
      const fast = searchIds(await a.cmd('f', `UID SEARCH ${key}`));
      expect(fast, key).toEqual(expected);
      // Every message has a Message-ID ending in "@meta": the same answer, through the general path.
      expect(searchIds(await a.cmd('g', `UID SEARCH ${key} HEADER Message-ID "@meta"`)), key).toEqual(expected);
      expect(searchIds(await a.cmd('q', `SEARCH ${key}`)), key).toEqual(expected); // sequence numbers = UIDs here
    }
  });

  it('leaves out messages the session has not been told of', async () => {
    const other = await RawClient.connect(env.server.ports.imaps, true);
    await other.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await other.cmd('s', 'SELECT INBOX');
    await env.core.store.appendMany(mailboxId, 'INBOX', [{ raw: msg(100) }, { raw: msg(101) }]);
    // Not yet told: its view still ends at N unless this very response announces more.
    const reply = await other.cmd('f', 'UID SEARCH SUBJECT "no. 10"');
    // UID 11 ("no. 10") always; UIDs 31 and 32 ("no. 100", "no. 101") only when announced before the answer.
    const told = /\* 32 EXISTS/.test(reply.slice(0, reply.indexOf('* SEARCH')));
    expect(searchIds(reply)).toEqual(told ? [11, 31, 32] : [11]);
    const seqs = searchIds(await other.cmd('q', 'SEARCH SUBJECT "topic"'));
    expect(seqs.every((x, k) => x > 0 && (k === 0 || x > seqs[k - 1]!))).toBe(true);
    await other.cmd('n', 'NOOP');
    expect(searchIds(await other.cmd('g', 'SEARCH SUBJECT "topic"'))).toEqual(Array.from({ length: N + 2 }, (_, i) => i + 1));
    other.close();
  });
});
