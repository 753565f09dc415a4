/**
 * FETCH 1:* (FLAGS) written as bytes (issue 18, thirteenth round: a 100,000-line answer): a
 * session whose view is the folder's UID column itself is answered straight from the columns
 * (sequence number = position + 1, no per-message array), the others through per-line codes.
 * Both must come out as the general path writes them: numbers across the tens, hundreds and
 * thousands, \Recent, keywords announced first, and a line longer than one 64 KiB buffer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagLinePaths, flagLines } from '../../appliance/imap/fetch-flags.js';
import { fetchLines, RawClient, startImapEnv, twoSessionsOnFlaggedInbox, type ImapTestEnv } from './imap-harness.js';

const USER = 'bytes@r13large.test';
const PASS = 'fetch bytes passphrase';
const COUNT = 1010;
const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <b${i}@r13large>\r\n\r\nbody ${i}\r\n`);

describe('flagLines (r13large)', () => {
  it('writes numbers digit by digit, skips number 0 and stops at a full buffer', () => {
    const rests = [Buffer.from(' A\r\n'), Buffer.from(' BB\r\n')];
    const buf = new Uint8Array(64);
    expect(flagLines(buf, [9, 0, 10, 99, 100, 4294967295], [0, 1, 1, 0, 1, 0], rests, 0)).toBe(6);
    expect(Buffer.from(buf.subarray(0, flagLines.used)).toString()).toBe('* 9 A\r\n* 10 BB\r\n* 99 A\r\n* 100 BB\r\n* 4294967295 A\r\n');
    // null: the sequence number is the position + 1; from position 8 on, until the buffer is full
    const small = new Uint8Array(12 + 2 * 7);
    expect(flagLines(small, null, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], rests, 8)).toBe(10);
    expect(Buffer.from(small.subarray(0, flagLines.used)).toString()).toBe('* 9 A\r\n* 10 BB\r\n');
  });
});

describe('FETCH FLAGS as bytes (r13large)', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  let boxId: string;
  beforeAll(async () => {
    env = await startImapEnv();
    ({ boxId, a, b } = await twoSessionsOnFlaggedInbox(env, USER, PASS, COUNT, msg));
  }, 120_000);
  afterAll(async () => {
    a?.close();
    b?.close();
    await env?.close();
  });

  it('answers from the columns, as the general path does', async () => {
    const before = flagLinePaths.fromColumns;
    const f = await a.cmd('f', 'FETCH 1:* (FLAGS)');
    expect(f).toMatch(/f OK/);
    expect(flagLinePaths.fromColumns).toBe(before + 1);
    const lines = fetchLines(f, /$^/);
    expect(lines).toHaveLength(COUNT);
    expect(lines).toEqual(fetchLines(await a.cmd('g', 'FETCH 1:* (FLAGS INTERNALDATE)'), / INTERNALDATE "[^"]+"/));
    expect(lines.slice(8, 11)).toEqual(['* 9 FETCH (FLAGS ())', '* 10 FETCH (FLAGS (\\Seen))', '* 11 FETCH (FLAGS (\\Seen \\Flagged))']);
    expect(lines[999]).toBe('* 1000 FETCH (FLAGS ($Label))');
    // b's session holds \Recent: its lines go the other way, with \Recent where the general path has it.
    const atB = flagLinePaths.fromColumns;
    const r = fetchLines(await b.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/);
    expect(flagLinePaths.fromColumns).toBe(atB);
    expect(r).toEqual(fetchLines(await b.cmd('g', 'FETCH 1:* (FLAGS INTERNALDATE)'), / INTERNALDATE "[^"]+"/));
    expect(r.filter((l) => l.includes('\\Recent'))).toHaveLength(COUNT);
  });

  it('announces a new keyword first and answers a line longer than a write buffer', async () => {
    // 800 keywords of 90 characters: one line of about 73 KB (beyond a 64 KiB buffer).
    const keywords = Array.from({ length: 800 }, (_, i) => `$L${String(i).padStart(88, '0')}`);
    await env.core.store.appendMany(boxId, 'INBOX', [{ raw: msg(COUNT), flags: keywords }]);
    const c = await RawClient.connect(env.server.ports.imaps, true);
    try {
      await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
      await c.cmd('e', 'EXAMINE INBOX');
      const f = await c.cmd('f', 'FETCH 1:* (FLAGS)');
      const g = await c.cmd('g', 'FETCH 1:* (FLAGS RFC822.SIZE)');
      expect(f).toMatch(/f OK/);
      const lines = fetchLines(f, /$^/);
      expect(lines).toHaveLength(COUNT + 1);
      expect(lines).toEqual(fetchLines(g, / RFC822\.SIZE \d+/));
      expect(lines[COUNT]!.length).toBeGreaterThan(65536);
      expect(lines[COUNT]).toContain(keywords[799]);
      expect(lines[COUNT]).toMatch(/\)\)$/); // each line whole
      // A keyword set by another session after c's SELECT: announced (untagged FLAGS) before the lines.
      expect(await b.cmd('k', 'UID STORE 5 +FLAGS.SILENT ($Fresh)')).toMatch(/k OK/);
      const h = await c.cmd('h', 'FETCH 1:* (FLAGS)');
      expect(h).toMatch(/h OK/);
      const announced = h.indexOf('* FLAGS (');
      expect(announced).toBeGreaterThanOrEqual(0);
      expect(h.slice(announced, h.indexOf('\r\n', announced))).toContain('$Fresh');
      expect(announced).toBeLessThan(h.indexOf('* 1 FETCH'));
      expect(fetchLines(h, /$^/)[4]).toBe('* 5 FETCH (FLAGS ($Fresh))');
    } finally {
      c.close();
    }
  });
});
