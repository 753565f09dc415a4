/**
 * FETCH 1:* (FLAGS) makes no string of each sequence number (issue 18, twelfth round: a
 * 100,000-line answer): `* ` and the tens are made once per ten numbers and the last digit is
 * added per line. Numbers of one to four digits, across the tens, hundreds and thousands, gaps
 * in the numbers asked for, and long flag lines over several writes must come out as the general
 * path writes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'bytes@r12fetch.test';
const PASS = 'fetch bytes passphrase';
const COUNT = 1010;
const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <b${i}@r12fetch>\r\n\r\nbody ${i}\r\n`);

/** The FETCH responses of a reply, with `drop` (the item the general path was made to take) removed. */
const fetches = (reply: string, drop: RegExp) =>
  reply
    .split('\r\n')
    .filter((l) => /^\* \d+ FETCH /.test(l))
    .map((l) => l.replace(drop, ''));

describe('FETCH FLAGS numbers (r12fetch)', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    const box = await env.core.createMailbox(USER, PASS);
    const flags = [[], ['\\Seen'], ['\\Seen', '\\Flagged'], ['$Label']];
    await env.core.store.appendMany(
      box.id,
      'INBOX',
      Array.from({ length: COUNT }, (_, i) => ({ raw: msg(i), flags: flags[i % flags.length]! })),
    );
    a = await RawClient.connect(env.server.ports.imaps, true);
    b = await RawClient.connect(env.server.ports.imaps, true);
    await a.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await b.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await b.cmd('s', 'SELECT INBOX'); // b claims \Recent: a's view has none
    await a.cmd('e', 'ENABLE CONDSTORE');
    await a.cmd('s', 'SELECT INBOX');
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
      expect(fetches(f, drop), fast).toEqual(fetches(await a.cmd('g', general), drop));
    }
    const all = fetches(await a.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/);
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
    const lines = fetches(f, /$^/);
    expect(lines).toEqual(fetches(g, / RFC822\.SIZE \d+/));
    expect(lines.filter((l) => l.includes(keywords[59]!))).toHaveLength(60);
    expect(fetches(await a.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/)).toEqual(fetches(g, / UID \d+ RFC822\.SIZE \d+/));
    expect(lines.join('\r\n').length).toBeGreaterThan(4 * 65536); // several writes
  });
});
