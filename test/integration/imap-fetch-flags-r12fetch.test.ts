/**
 * FETCH 1:* (FLAGS) makes no string of each sequence number (issue 18, twelfth round: a
 * 100,000-line answer): `* ` and the tens are made once per ten numbers and the last digit is
 * added per line. Numbers of one to four digits, across the tens, hundreds and thousands, gaps
 * in the numbers asked for, and long flag lines over several writes must come out as the general
 * path writes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchLines, RawClient, startImapEnv, twoSessionsOnFlaggedInbox, type ImapTestEnv } from './imap-harness.js';

const USER = 'bytes@r12fetch.test';
const PASS = 'fetch bytes passphrase';
const COUNT = 1010;
const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <b${i}@r12fetch>\r\n\r\nbody ${i}\r\n`);

describe('FETCH FLAGS numbers (r12fetch)', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    ({ a, b } = await twoSessionsOnFlaggedInbox(env, USER, PASS, COUNT, msg, 'CONDSTORE'));
  }, 120_000);
  afterAll(async () => {
    a?.close();
    b?.close();
    await env?.close();
  });

  it('answers numbers of one to four digits as the general path does', async () => {
    const pairs: Array<[fast: string, general: string, drop: RegExp]> = [
      ['FETCH 1:* (FLAGS)', 'FETCH 1:* (FLAGS INTERNALDATE)', / INTERNALDATE "[^"]+"/],
      ['UID FETCH 1:* (FLAGS MODSEQ)', 'UID FETCH 1:* (FLAGS MODSEQ RFC822.SIZE)', / RFC822\.SIZE \d+/],
      ['FETCH 8:11,99:101,999:1001 (UID MODSEQ)', 'FETCH 8:11,99:101,999:1001 (UID MODSEQ RFC822.SIZE)', / RFC822\.SIZE \d+/],
      ['FETCH 1,9:10,19,21,100,109:110,990,1000:1001 (FLAGS)', 'FETCH 1,9:10,19,21,100,109:110,990,1000:1001 (FLAGS RFC822.SIZE)', / RFC822\.SIZE \d+/],
    ];
    for (const [fast, general, drop] of pairs) {
      const f = await a.cmd('f', fast);
      expect(f, fast).toMatch(/f OK/);
      expect(fetchLines(f, drop), fast).toEqual(fetchLines(await a.cmd('g', general), drop));
    }
    const all = fetchLines(await a.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/);
    expect(all).toHaveLength(COUNT);
    expect(all.slice(8, 11)).toEqual(['* 9 FETCH (FLAGS ())', '* 10 FETCH (FLAGS (\\Seen))', '* 11 FETCH (FLAGS (\\Seen \\Flagged))']);
    expect(all[999]).toBe('* 1000 FETCH (FLAGS ($Label))');
  });

  it('answers long flag lines over several writes', async () => {
    // 60 keywords of 90 characters: lines of about 5.5 KB.
    const keywords = Array.from({ length: 60 }, (_, i) => `$K${String(i).padStart(88, '0')}`);
    expect(await b.cmd('k', `UID STORE 1:60 +FLAGS.SILENT (${keywords.join(' ')})`)).toMatch(/k OK/);
    await a.cmd('p', 'NOOP');
    const f = await a.cmd('f', 'FETCH 1:* (FLAGS UID)');
    const g = await a.cmd('g', 'FETCH 1:* (FLAGS UID RFC822.SIZE)');
    expect(f).toMatch(/f OK/);
    const lines = fetchLines(f, /$^/);
    expect(lines).toEqual(fetchLines(g, / RFC822\.SIZE \d+/));
    expect(lines.filter((l) => l.includes(keywords[59]!))).toHaveLength(60);
    expect(fetchLines(await a.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/)).toEqual(fetchLines(g, / UID \d+ RFC822\.SIZE \d+/));
    expect(lines.join('\r\n').length).toBeGreaterThan(4 * 65536); // several writes
  });
});
