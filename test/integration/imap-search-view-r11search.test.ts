/**
 * A session's view often holds exactly the folder's UIDs without being the folder's current UID
 * column (the folder's columns were replaced: a flag change copies them, a FETCH that needs
 * envelopes swaps the narrow index for the full one). SEARCH then maps entry i to message i + 1
 * after one byte comparison (UidMap.holdsExactly, issue 18 round 11: SEARCH SUBJECT of a fresh
 * process), with no merge walk of the view. Answers must stay what the messages say, by UID and
 * by sequence number, and a view that differs (an expunge not reported yet) must still be walked.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UidMap } from '../../appliance/imap/sequence.js';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'view@search-r11.test';
const PASS = 'view search passphrase';
const N = 1_100;
const msg = (i: number) => Buffer.from(`From: "S ${i % 3}" <s${i % 3}@example.org>\r\nSubject: Topic ${i % 4} no. ${i}\r\nMessage-ID: <r11v${i}@t>\r\n\r\nbody ${i}\r\n`);
const flagsOf = (i: number) => [...(i % 5 === 0 ? ['\\Flagged'] : [])];

const ids = (reply: string) => (/\* SEARCH([\d ]*)/.exec(reply)?.[1] ?? '').trim().split(' ').filter(Boolean).map(Number);

describe('SEARCH when the view holds the folder\u2019s UIDs in a column of its own', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
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
    b = await RawClient.connect(env.server.ports.imaps, true);
    for (const c of [a, b]) await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await a.cmd('s', 'SELECT INBOX');
    await b.cmd('s', 'SELECT INBOX');
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await env?.close();
  });

  // UID i + 1 is message i (appended in order into an empty INBOX).
  const subject1 = (uids: number[]) => uids.filter((u) => (u - 1) % 4 === 1);

  it('maps entries to messages without a walk once the folder\u2019s columns were replaced', async () => {
    // A flag change copies the folder's columns: a's view keeps the old UID column, same UIDs.
    await b.cmd('st', 'UID STORE 2 +FLAGS.SILENT (\\Seen)');
    await a.cmd('n', 'NOOP');
    await a.cmd('e', 'FETCH 1:* (FLAGS ENVELOPE)');
    const all = Array.from({ length: N }, (_, i) => i + 1);
    const walks = vi.spyOn(UidMap.prototype, 'seqsOfAscending');
    const exact = vi.spyOn(UidMap.prototype, 'holdsExactly');
    try {
      expect(ids(await a.cmd('u', 'UID SEARCH SUBJECT "topic 1"'))).toEqual(subject1(all));
      expect(ids(await a.cmd('q', 'SEARCH SUBJECT "topic 1"'))).toEqual(subject1(all));
      expect(ids(await a.cmd('f', 'UID SEARCH FLAGGED'))).toEqual(all.filter((u) => (u - 1) % 5 === 0));
      expect(exact).toHaveReturnedWith(true);
      expect(walks).not.toHaveBeenCalled();
    } finally {
      walks.mockRestore();
      exact.mockRestore();
    }
  });

  it('still walks a view that differs from the folder (an expunge not reported yet)', async () => {
    const gone = [6, 10, 11, 700];
    await b.cmd('d', `UID STORE ${gone.join(',')} +FLAGS.SILENT (\\Deleted)`);
    await b.cmd('x', 'EXPUNGE');
    // a has not been told: its view still has the expunged UIDs, the folder no longer does.
    const view = Array.from({ length: N }, (_, i) => i + 1);
    const stored = view.filter((u) => !gone.includes(u));
    const walks = vi.spyOn(UidMap.prototype, 'seqsOfAscending');
    try {
      // Sequence numbers as the client knows them (SEARCH reports no EXPUNGE): the view before it.
      const reply = await a.cmd('q', 'SEARCH SUBJECT "topic 1"');
      expect(reply).not.toMatch(/EXPUNGE/);
      expect(ids(reply)).toEqual(subject1(stored).map((u) => view.indexOf(u) + 1));
      expect(walks).toHaveBeenCalled();
      // UID SEARCH may report the expunges after its answer; the answer leaves them out.
      expect(ids(await a.cmd('u', 'UID SEARCH SUBJECT "topic 1"'))).toEqual(subject1(stored));
    } finally {
      walks.mockRestore();
    }
    await a.cmd('n', 'NOOP');
    const now = stored;
    expect(ids(await a.cmd('q2', 'SEARCH SUBJECT "topic 1"'))).toEqual(subject1(now).map((u) => now.indexOf(u) + 1));
  });
});
