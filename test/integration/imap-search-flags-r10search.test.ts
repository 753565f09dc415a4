/**
 * Searches on flags alone (FLAGGED, UNFLAGGED, KEYWORD, NOT/OR of them) over a large folder are
 * answered from the folder's UID and flag columns (issue 18, search-executor.ts flagSearch). While
 * the session's view is that very column (nothing changed since SELECT), entry i is message i + 1
 * and no sequence number is looked up; once the folder moved on, messages are matched to the view.
 * Both must answer what the flags say, for messages of the session's view only, as the general
 * path does (a HEADER key sends a search there).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UidMap } from '../../appliance/imap/sequence.js';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'flags@search-r10.test';
const PASS = 'flag search passphrase';
const N = 1_200;
const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <r10f${i}@t>\r\n\r\nbody ${i}\r\n`);
const flagsOf = (i: number) => [...(i % 10 === 0 ? ['\\Flagged'] : []), ...(i % 3 === 0 ? ['\\Seen'] : []), ...(i % 7 === 0 ? ['$Label'] : [])];

const ids = (reply: string) => (/\* SEARCH([\d ]*)/.exec(reply)?.[1] ?? '').trim().split(' ').filter(Boolean).map(Number);

const KEYS = ['FLAGGED', 'UNFLAGGED', 'KEYWORD $label', 'UNKEYWORD $Label', 'NOT SEEN', 'OR FLAGGED KEYWORD $Label', 'FLAGGED SEEN'];

describe('UID SEARCH on flags alone in a large folder', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  let mailboxId: string;
  /** Flags by UID as the test changed them (UID i + 1 is message i). */
  const flags = new Map<number, string[]>();
  beforeAll(async () => {
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    await env.core.store.appendMany(
      mailboxId,
      'INBOX',
      Array.from({ length: N }, (_, i) => ({ raw: msg(i), flags: flagsOf(i) })),
    );
    for (let i = 0; i < N; i++) flags.set(i + 1, flagsOf(i));
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

  /** UIDs whose flags (as the test set them) match `key`, among `uids`. */
  const expected = (key: string, uids: number[]) => {
    const has = (u: number, f: string) => flags.get(u)!.some((x) => x.toLowerCase() === f.toLowerCase());
    const test: Record<string, (u: number) => boolean> = {
      FLAGGED: (u) => has(u, '\\Flagged'),
      UNFLAGGED: (u) => !has(u, '\\Flagged'),
      'KEYWORD $label': (u) => has(u, '$Label'),
      'UNKEYWORD $Label': (u) => !has(u, '$Label'),
      'NOT SEEN': (u) => !has(u, '\\Seen'),
      'OR FLAGGED KEYWORD $Label': (u) => has(u, '\\Flagged') || has(u, '$Label'),
      'FLAGGED SEEN': (u) => has(u, '\\Flagged') && has(u, '\\Seen'),
    };
    return uids.filter(test[key]!);
  };

  /** Every key by UID and by sequence number, against the model and the general path. */
  const check = async (c: RawClient, view: number[]) => {
    for (const key of KEYS) {
      const want = expected(key, view);
      expect(ids(await c.cmd('u', `UID SEARCH ${key}`)), key).toEqual(want);
      expect(ids(await c.cmd('g', `UID SEARCH ${key} HEADER Message-ID "@t"`)), key).toEqual(want);
      const seqs = want.map((u) => view.indexOf(u) + 1);
      expect(ids(await c.cmd('q', `SEARCH ${key}`)), key).toEqual(seqs);
      expect(ids(await c.cmd('h', `SEARCH ${key} HEADER Message-ID "@t"`)), key).toEqual(seqs);
    }
  };

  it('answers from the column itself while the view is that column (no sequence number looked up)', async () => {
    const lookups = vi.spyOn(UidMap.prototype, 'seqsOfAscending');
    try {
      const reply = await a.cmd('f', 'UID SEARCH FLAGGED');
      expect(ids(reply)).toEqual(expected('FLAGGED', [...flags.keys()]));
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
    await check(a, [...flags.keys()]);
  });

  it('leaves out expunged messages and those the session was not told of, and sees flag changes', async () => {
    const view = [...flags.keys()];
    // b changes flags and expunges; a is not told of the expunges until NOOP (SEARCH reports none).
    await b.cmd('st', 'UID STORE 1:50 +FLAGS.SILENT (\\Flagged $Label)');
    await b.cmd('su', 'UID STORE 100:140 -FLAGS.SILENT (\\Flagged)');
    for (let u = 1; u <= 50; u++) flags.set(u, [...new Set([...flags.get(u)!, '\\Flagged', '$Label'])]);
    for (let u = 100; u <= 140; u++)
      flags.set(
        u,
        flags.get(u)!.filter((f) => f !== '\\Flagged'),
      );
    const gone = [3, 10, 11, 500, 1_190, 1_200];
    await b.cmd('d', `UID STORE ${gone.join(',')} +FLAGS.SILENT (\\Deleted)`);
    await b.cmd('x', 'EXPUNGE');
    for (const u of gone) flags.set(u, [...flags.get(u)!, '\\Deleted']);
    await env.core.store.appendMany(mailboxId, 'INBOX', [{ raw: msg(N), flags: ['\\Flagged'] }]);
    flags.set(N + 1, ['\\Flagged']);
    // Not yet told: expunged messages are not found (no longer stored); a new one only once announced.
    const reply = await a.cmd('f', 'UID SEARCH FLAGGED');
    const announced = /\* \d+ EXISTS/.test(reply.slice(0, reply.indexOf('* SEARCH')));
    const stillThere = view.filter((u) => !gone.includes(u));
    expect(ids(reply)).toEqual(expected('FLAGGED', announced ? [...stillThere, N + 1] : stillThere));
    // Told of everything: the view has its own UIDs now.
    await a.cmd('n', 'NOOP');
    for (const u of gone) flags.delete(u);
    await check(a, [...flags.keys()]);
  });
});
