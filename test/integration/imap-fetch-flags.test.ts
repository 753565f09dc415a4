/**
 * FETCH of FLAGS, UID and MODSEQ only is answered from the folder's columns (issue 18,
 * appliance/imap/fetch-flags.ts); any other item takes the general path. Both must give the
 * same responses: sequence numbers of the session's view, \Recent of this session only,
 * CHANGEDSINCE, and UIDs asked for that are gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'flags@fetch.test';
const PASS = 'fetch flags passphrase';
const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <f${i}@t>\r\n\r\nbody ${i}\r\n`);

/** The FETCH responses of a reply, with the items the general path was made to take dropped. */
const fetches = (reply: string, drop: RegExp) =>
  reply
    .split('\r\n')
    .filter((l) => /^\* \d+ FETCH /.test(l))
    .map((l) => l.replace(drop, ''));

describe('FETCH FLAGS from the folder columns', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  let mailboxId: string;
  beforeAll(async () => {
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    const flags = [[], ['\\Seen'], ['\\Seen', '\\Flagged'], ['$Label'], ['\\Answered', '$Other']];
    await env.core.store.appendMany(
      mailboxId,
      'INBOX',
      Array.from({ length: 40 }, (_, i) => ({ raw: msg(i), flags: flags[i % flags.length]! })),
    );
    a = await RawClient.connect(env.server.ports.imaps, true);
    b = await RawClient.connect(env.server.ports.imaps, true);
    for (const c of [a, b]) await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await env?.close();
  });

  it('answers as the general path does', async () => {
    // b opens the folder first and claims the 40 as \Recent; then 8 more arrive and a claims them.
    expect(await b.cmd('s', 'SELECT INBOX')).toContain('* 40 RECENT');
    expect(await a.cmd('e', 'ENABLE CONDSTORE')).toContain('OK');
    await a.cmd('s', 'SELECT INBOX');
    await env.core.store.appendMany(
      mailboxId,
      'INBOX',
      Array.from({ length: 8 }, (_, i) => ({ raw: msg(100 + i), flags: i % 2 ? ['\\Seen'] : [] })),
    );
    const noop = await a.cmd('n', 'NOOP');
    expect(noop).toContain('* 48 EXISTS');
    expect(noop).toContain('* 8 RECENT');
    // Expunged by b: a's view still holds them until it is told (FETCH does not report expunges).
    await b.cmd('d', 'UID STORE 3,5 +FLAGS.SILENT (\\Deleted)');
    await b.cmd('x', 'EXPUNGE');
    await b.cmd('f', 'UID STORE 10:12 +FLAGS.SILENT ($Late)');
    const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(await a.cmd('st', 'STATUS INBOX (HIGHESTMODSEQ)'))![1]) - 1;

    const pairs: Array<[fast: string, general: string, drop: RegExp]> = [
      ['FETCH 1:* (FLAGS)', 'FETCH 1:* (FLAGS INTERNALDATE)', / INTERNALDATE "[^"]+"/],
      ['FETCH 2,7,40:* (FLAGS UID)', 'FETCH 2,7,40:* (FLAGS UID RFC822.SIZE)', / RFC822\.SIZE \d+/],
      ['UID FETCH 1:* (FLAGS MODSEQ)', 'UID FETCH 1:* (FLAGS MODSEQ RFC822.SIZE)', / RFC822\.SIZE \d+/],
      ['UID FETCH 3:6 (FLAGS)', 'UID FETCH 3:6 (FLAGS RFC822.SIZE)', / RFC822\.SIZE \d+/],
      [`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq})`, `UID FETCH 1:* (FLAGS RFC822.SIZE) (CHANGEDSINCE ${modseq})`, / RFC822\.SIZE \d+/],
      ['FETCH 45 (FLAGS)', 'FETCH 45 (FLAGS RFC822.SIZE)', / RFC822\.SIZE \d+/],
    ];
    // The first FETCH also brings the other session's changes (untagged), so each pair runs after a NOOP.
    for (const [fast, general, drop] of pairs) {
      await a.cmd('p', 'NOOP');
      const f = await a.cmd('f', fast);
      const g = await a.cmd('g', general);
      expect(f, fast).toMatch(/f OK/);
      expect(fetches(f, drop), fast).toEqual(fetches(g, drop));
    }
    // Expunged by b without a being told (no NOOP: FETCH may not report it): not answered by either path.
    await b.cmd('d', 'UID STORE 8 +FLAGS.SILENT (\\Deleted)');
    await b.cmd('x', 'EXPUNGE');
    const fast = await a.cmd('f', 'FETCH 1:* (FLAGS)');
    expect(fast).not.toContain('EXPUNGE');
    expect(fetches(fast, /$^/)).toEqual(fetches(await a.cmd('g', 'FETCH 1:* (FLAGS INTERNALDATE)'), / INTERNALDATE "[^"]+"/));
    const all = fetches(fast, /$^/);
    // a's view: 48 less the 2 expunges it was told of; UID 8 is still in it but gone from the folder.
    expect(all).toHaveLength(48 - 2 - 1);
    expect(all.some((l) => l.startsWith('* 6 FETCH'))).toBe(false);
    // a's \Recent is its own 8; keywords as stored.
    expect(all.filter((l) => l.includes('\\Recent'))).toHaveLength(8);
    expect(all.filter((l) => l.includes('$Late'))).toHaveLength(3);
    expect(fetches(await b.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/).filter((l) => l.includes('\\Recent'))).toHaveLength(40 - 3); // b's 40 less the three it expunged
  });

  it('STATUS DELETED-STORAGE adds the sizes of the \\Deleted messages (RFC 9051 7.5.4)', async () => {
    await b.cmd('d', 'UID STORE 20:22 +FLAGS.SILENT (\\Deleted)');
    const folder = (await env.core.store.getFolder(mailboxId, 'INBOX'))!;
    const entries = await env.core.store.listMessages(folder.id);
    const deleted = entries.filter((e) => e.flags.includes('\\Deleted'));
    expect(deleted.length).toBeGreaterThan(0);
    const want = deleted.reduce((n, e) => n + e.size, 0);
    expect(await a.cmd('st', 'STATUS INBOX (DELETED DELETED-STORAGE)')).toContain(`(DELETED ${deleted.length} DELETED-STORAGE ${want})`);
  });

  it('answers flag searches from the columns as the entries say (once per distinct flag list, or per message with other keys)', async () => {
    const folder = (await env.core.store.getFolder(mailboxId, 'INBOX'))!;
    await a.cmd('p', 'NOOP');
    const entries = await env.core.store.listMessages(folder.id);
    const has = (e: { flags: string[] }, f: string) => e.flags.some((x) => x.toLowerCase() === f.toLowerCase());
    const cases: Array<[string, (e: (typeof entries)[number]) => boolean]> = [
      ['FLAGGED', (e) => has(e, '\\Flagged')],
      ['OR KEYWORD $label NOT SEEN', (e) => has(e, '$Label') || !has(e, '\\Seen')],
      ['UNSEEN LARGER 60', (e) => !has(e, '\\Seen') && e.size > 60],
      ['NOT ALL', () => false],
    ];
    for (const [key, want] of cases) {
      const reply = await a.cmd('q', `UID SEARCH ${key}`);
      const got = (/\* SEARCH([\d ]*)/.exec(reply)?.[1] ?? '').trim();
      expect(got, key).toBe(
        entries
          .filter(want)
          .map((e) => e.uid)
          .join(' '),
      );
    }
  });

  it('answers lines longer than a write and answers longer than one write, as the general path does', async () => {
    // 60 keywords of 30 characters on every message: about 2 KB a line, beyond one 64 KiB write in all.
    const keywords = Array.from({ length: 60 }, (_, i) => `$Keyword${String(i).padStart(22, '0')}`);
    expect(await b.cmd('k', `UID STORE 1:* +FLAGS.SILENT (${keywords.join(' ')})`)).toMatch(/k OK/);
    await a.cmd('p', 'NOOP');
    const f = await a.cmd('f', 'FETCH 1:* (UID FLAGS MODSEQ FLAGS)');
    const g = await a.cmd('g', 'FETCH 1:* (UID FLAGS MODSEQ FLAGS RFC822.SIZE)');
    expect(f).toMatch(/f OK/);
    const lines = fetches(f, /$^/);
    expect(lines.length).toBeGreaterThan(40);
    expect(lines.join('\r\n').length).toBeGreaterThan(65536);
    expect(lines.filter((l) => !(l.includes(keywords[59]!) && l.endsWith(')')))).toEqual([]); // each line whole
    expect(lines).toEqual(fetches(g, / RFC822\.SIZE \d+/));
  });
});
