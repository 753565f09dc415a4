/**
 * SEARCH BODY/TEXT from the search index built at ingest (issue 18, mailstore/fulltext.ts) gives
 * the same answers as the scan of the messages (imap/search.ts, the reference), through a real
 * IMAP client: a varied corpus (quoted-printable with soft line breaks, base64, ISO-8859-1,
 * windows-1252, UTF-8, HTML, multipart, attachments, a nested message, encoded words) and
 * fixed-seed random needles (1 to 14 characters, non-ASCII, case changed, spanning soft breaks).
 * The scan's answers are taken on the same store with the index rows removed; the backfill then
 * restores them. Expunged messages leave no hit, and a purged message leaves no index row.
 * The rows are written after the message's commit, in the background (fulltext-backfill.ts
 * `SearchTextIndexer`): a message acknowledged but not yet indexed is found by the scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql } from 'kysely';
import { testOnPostgres } from '../helpers/database.js';
import { type ImapTestEnv, RawClient, startImapEnv } from './imap-harness.js';

const USER = 'index@search.test';
const PASS = 'correct horse battery';

const WORDS = [
  'zebrafish',
  'Quartz',
  'ledger',
  'Straße',
  'Grüße',
  'café',
  'naïve',
  'ΟΔΟΣ',
  'Σοφία',
  'İstanbul',
  'Ünïcödé',
  'façade',
  'œuvre',
  'crème',
  'x',
  'ab',
  'IO',
  'über',
  'jalapeño',
  'ångström',
  '東京',
  'データ',
  'reconciliation',
  'Zebra',
  'FISH',
  '50%',
  'a_b',
  '"quoted"',
];

/** A deterministic pseudo-random generator (the corpus is the same on every run). */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sentence(r: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]!);
  return out.join(' ');
}

/** Quoted-printable with a soft line break every `width` characters (terms get split across them). */
function qp(bytes: Buffer, width: number): string {
  let out = '';
  let line = '';
  for (const b of bytes) {
    const c = b >= 33 && b <= 126 && b !== 61 ? String.fromCharCode(b) : b === 32 ? ' ' : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line.length + c.length > width) {
      out += `${line}=\r\n`;
      line = '';
    }
    line += c;
  }
  return out + line;
}

function b64(bytes: Buffer): string {
  return (
    bytes
      .toString('base64')
      .match(/.{1,76}/g)
      ?.join('\r\n') ?? ''
  );
}

// eslint-disable-next-line no-control-regex -- every latin-1 character is kept, the others become "?"
const latin1 = (s: string) => Buffer.from(s.replace(/[^\x00-\xff]/g, '?'), 'latin1');

/** One message of kind `i % 10` with text from `r`. */
function message(i: number, r: () => number): string {
  const text = `${sentence(r, 6)}\r\n${sentence(r, 8)} ${i}`;
  const head = (subject: string, ct: string, extra = '') =>
    `From: Sender ${i} <s${i}@example.org>\r\nTo: ${USER}\r\nSubject: ${subject}\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <m${i}@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: ${ct}\r\n${extra}\r\n`;
  switch (i % 10) {
    case 0:
      return head(`Plain ${sentence(r, 2).replace(/[^\x20-\x7e]/g, '')}`, 'text/plain; charset=us-ascii') + text.replace(/[^\x20-\x7e\r\n]/g, 'q');
    case 1:
      return (
        head('=?UTF-8?B?' + Buffer.from(`Bäse ${sentence(r, 2)}`).toString('base64') + '?=', 'text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable\r\n') +
        qp(Buffer.from(text), 20 + (i % 13))
      );
    case 2:
      return head('base64 utf-8', 'text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64\r\n') + b64(Buffer.from(text));
    case 3:
      return head('=?ISO-8859-1?Q?Caf=E9_latin?=', 'text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable\r\n') + qp(latin1(text), 30);
    case 4:
      return head('html', 'text/html; charset=utf-8') + `<html><body><p>${text.replace(/ /g, '&nbsp;')}</p><b>Bold</b>zebra<i>fish</i></body></html>`;
    case 5:
      return (
        head('alternative', 'multipart/alternative; boundary="alt"') +
        `--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(Buffer.from(`<div>${sentence(r, 5)}</div>`))}\r\n--alt--\r\n`
      );
    case 6:
      return (
        head('with attachment', 'multipart/mixed; boundary="mix"') +
        `--mix\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qp(latin1(text), 40)}\r\n` +
        `--mix\r\nContent-Type: application/octet-stream; name="a.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(Buffer.from(`attachmentonly ${sentence(r, 4)}`))}\r\n--mix--\r\n`
      );
    case 7:
      return (
        head('nested', 'multipart/mixed; boundary="out"') +
        `--out\r\nContent-Type: text/plain\r\n\r\nouter ${i}\r\n--out\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner ${i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(Buffer.from(text))}\r\n--out--\r\n`
      );
    case 8:
      return head(`Tokyo ${sentence(r, 1)}`, 'text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit\r\nX-Label: ΟΔΟΣ Header-only-word\r\n') + text;
    default:
      // NUL in the decoded text: no index row can hold it, the scan answers for this one.
      return head('nul', 'text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64\r\n') + b64(Buffer.from(`before\0after ${text}`));
  }
}

/** Needles: substrings of the corpus' words and sentences (case changed), header words, absent words. */
function needles(corpus: string[]): string[] {
  const pool = [
    ...WORDS,
    'zebrafish',
    'bold zebra',
    'attachmentonly',
    'header-only-word',
    'latin',
    'bäse',
    'before',
    'after',
    'nothing-here',
    'e',
    'é',
    'σ',
    'ς',
    'ß',
    'ss',
    'i̇',
    'caf',
    'sender 3',
    'message-id',
    'x-label',
    'example.org',
    '&nbsp;',
    '<b>',
    'zebra fish',
  ];
  const sources = [...WORDS, ...corpus.map((m) => m.slice(m.indexOf('\r\n\r\n') + 4, m.indexOf('\r\n\r\n') + 200))];
  const arb = fc.record({ src: fc.integer({ min: 0, max: sources.length - 1 }), at: fc.nat(), len: fc.integer({ min: 1, max: 14 }), upper: fc.boolean() });
  for (const { src, at, len, upper } of fc.sample(arb, { seed: 18, numRuns: 40 })) {
    const s = [...sources[src]!];
    const start = at % Math.max(1, s.length);
    const piece = s
      .slice(start, start + len)
      .join('')
      .replace(/[\r\n"\\]/g, ' ');
    if (piece.trim()) pool.push(upper ? piece.toUpperCase() : piece);
  }
  return [...new Set(pool)];
}

async function searchAll(c: RawClient, terms: string[]): Promise<string[]> {
  const out: string[] = [];
  let n = 0;
  for (const term of terms) {
    for (const key of ['BODY', 'TEXT']) {
      const bytes = Buffer.byteLength(term);
      const reply = await c.cmd(`s${++n}`, `UID SEARCH CHARSET UTF-8 ${key} {${bytes}+}\r\n${term}`);
      const line = /\* SEARCH([ \d]*)\r\n/.exec(reply);
      if (!line) throw new Error(`no SEARCH answer for ${key} ${term}: ${reply}`);
      out.push(`${key} ${JSON.stringify(term)} →${line[1]}`);
    }
  }
  return out;
}

describe('SEARCH BODY/TEXT from the search index', () => {
  let env: ImapTestEnv;
  let corpus: string[];
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    const r = prng(18);
    corpus = Array.from({ length: 40 }, (_, i) => message(i, r));
    // Both ingest paths: SMTP-style delivery (with a Delivered-To prefix) and IMAP APPEND.
    for (const m of corpus.slice(0, 20)) await env.core.deliver(USER, Buffer.from(m));
    const c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    for (const [i, m] of corpus.slice(20).entries()) {
      const bytes = Buffer.from(m);
      c.send(`a${i} APPEND INBOX {${bytes.length}+}\r\n`);
      c.send(Buffer.concat([bytes, Buffer.from('\r\n')]));
      await c.until((b) => b.includes(`a${i} OK`));
      c.take();
    }
    c.close();
    await env.core.store.searchIndexer.idle(); // the rows are written after the commits, in the background
  });
  afterAll(async () => env?.close());

  const session = async (folder = 'INBOX') => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await c.cmd('s', `SELECT ${folder}`);
    return c;
  };

  it('the engine has its index: FTS5 trigram on SQLite, pg_trgm GIN indexes on PostgreSQL (Debian postgresql-15)', async () => {
    if (testOnPostgres()) {
      const { rows } = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'message_text' order by indexname`.execute(env.core.db);
      expect(rows.map((r) => r.indexname)).toEqual(['message_text_body_trgm', 'message_text_complete_idx', 'message_text_head_trgm', 'message_text_pkey']);
    } else {
      const { rows } = await sql<{ sql: string }>`select sql from sqlite_master where name = 'message_fts'`.execute(env.core.db);
      expect(rows[0]?.sql).toMatch(/fts5\(.*tokenize='trigram', detail=none\)/);
    }
  });

  it('the index answers as the scan does; the backfill restores rows of messages stored without one', async () => {
    const rows = await env.core.db.selectFrom('message_text').select(['message_id', 'complete']).execute();
    expect(rows).toHaveLength(40);
    expect(rows.filter((r) => r.complete === 0)).toHaveLength(4); // the NUL messages
    const terms = needles(corpus);
    const c = await session();
    const indexed = await searchAll(c, terms);
    // The index answers without the scan (the messages with NUL excepted).
    const folder = (await env.core.store.getFolder((await env.core.db.selectFrom('mailboxes').select('id').where('address', '=', USER).executeTakeFirstOrThrow()).id, 'INBOX'))!;
    const answer = await env.core.store.searchText(folder.id, null, [{ field: 'body', needle: 'zebrafish' }]);
    expect(answer.uncovered.size).toBe(4);
    expect(answer.hits[0]!.size).toBeGreaterThan(0);

    // The reference: the same searches with no index row (every message read and decoded).
    await env.core.db.deleteFrom('message_text').execute();
    const scanned = await searchAll(c, terms);
    expect(indexed).toEqual(scanned);
    // Not a vacuous comparison: many needles find something, some find nothing.
    const found = scanned.filter((l) => /→ \d/.test(l)).length;
    expect(found).toBeGreaterThan(scanned.length / 2);
    expect(found).toBeLessThan(scanned.length);

    const progress = await env.core.store.searchBackfill.run({ batch: 7, pauseMs: 0 });
    expect(progress).toMatchObject({ done: 40, total: 40, finished: true });
    expect(await env.core.db.selectFrom('message_text').select('message_id').execute()).toHaveLength(40);
    expect(await searchAll(c, terms)).toEqual(scanned);
    // A second run finds nothing to do.
    expect(await env.core.store.searchBackfill.run({ pauseMs: 0 })).toMatchObject({ done: 0, total: 0, finished: true });
    c.close();
  }, 120_000);

  it('expunged messages leave no hit; a purged message leaves no index row, a copied one keeps it', async () => {
    await env.core.store.searchBackfill.run({ pauseMs: 0 }); // whatever the first case left
    const c = await session();
    expect(await c.cmd('c', 'CREATE Kept')).toMatch(/c OK/);
    const hits = (await c.cmd('a', 'UID SEARCH BODY outer')).match(/\* SEARCH ([\d ]+)\r\n/)![1]!.split(' ');
    expect(hits.length).toBeGreaterThanOrEqual(2);
    const [kept, gone] = hits as [string, string];
    expect(await c.cmd('b', `UID COPY ${kept} Kept`)).toMatch(/b OK/);
    expect(await c.cmd('d', `UID STORE ${kept},${gone} +FLAGS.SILENT (\\Deleted)`)).toMatch(/d OK/);
    expect(await c.cmd('e', 'EXPUNGE')).toMatch(/e OK/);
    const after = await c.cmd('f', 'UID SEARCH BODY OUTER');
    expect(after).not.toMatch(new RegExp(`\\* SEARCH.*\\b(${kept}|${gone})\\b`));
    expect((after.match(/\* SEARCH ([\d ]*)\r\n/)?.[1] ?? '').split(' ').filter(Boolean)).toHaveLength(hits.length - 2);
    // The message only INBOX held is purged with its index row; the copied one keeps its row.
    const live = await env.core.db.selectFrom('messages').select('id').execute();
    const indexedIds = await env.core.db.selectFrom('message_text').select('message_id').execute();
    expect(indexedIds.map((r) => r.message_id).sort()).toEqual(live.map((r) => r.id).sort());
    expect(live).toHaveLength(39);
    const k = await session('Kept');
    expect(await k.cmd('g', 'SEARCH BODY Outer')).toContain('* SEARCH 1\r\n');
    expect(await k.cmd('h', 'SEARCH BODY nested')).toContain('* SEARCH\r\n'); // the Subject, not the body
    expect(await k.cmd('i', 'SEARCH TEXT nested')).toContain('* SEARCH 1\r\n');
    expect(await k.cmd('j', 'SEARCH BODY attachmentonly')).toContain('* SEARCH\r\n'); // an attachment is not text
    k.close();
    c.close();
  });

  it('a batch the indexer fails to write is reported (count and listener), and its message is still found and later backfilled', async () => {
    const indexer = env.core.store.searchIndexer;
    const reported: number[] = [];
    indexer.onBatchError = (_err, messages) => reported.push(messages);
    const before = indexer.failedBatches;
    // The table the indexer writes is gone for a moment: its transaction fails for real.
    await env.core.db.schema.alterTable('message_text').renameTo('message_text_away').execute();
    let delivered;
    try {
      [delivered] = await env.core.deliver(USER, Buffer.from('From: a@example.org\r\nSubject: failed batch\r\n\r\nBody with Pomegranate.\r\n'));
      await indexer.idle();
    } finally {
      await env.core.db.schema.alterTable('message_text_away').renameTo('message_text').execute();
      indexer.onBatchError = null;
    }
    expect(indexer.failedBatches).toBe(before + 1);
    expect(reported).toEqual([1]);
    const c = await session();
    expect(await c.cmd('a', 'UID SEARCH BODY pomegranate')).toContain(`* SEARCH ${delivered!.uid}\r\n`);
    expect(await env.core.store.searchBackfill.run({ pauseMs: 0 })).toMatchObject({ done: 1, total: 1, finished: true });
    expect(await c.cmd('b', 'UID SEARCH BODY pomegranate')).toContain(`* SEARCH ${delivered!.uid}\r\n`);
    c.close();
  });

  it('a message acknowledged before its index row exists is found by SEARCH BODY/TEXT; the backfill indexes it later', async () => {
    // The indexer stopped (as at shutdown): delivery and APPEND still succeed, without a row.
    await env.core.store.searchIndexer.stop();
    const [delivered] = await env.core.deliver(USER, Buffer.from(`From: a@example.org\r\nSubject: Unindexed-subject\r\nX-Tag: Headerword-kiwi\r\n\r\nLate body with Marmalade inside.\r\n`));
    const c = await session();
    const appended = Buffer.from('Subject: appended\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nmarmal=\r\nade from APPEND, kumqu=C3=A4tz\r\n');
    const ok = await c.cmd('a', `APPEND INBOX {${appended.length}+}\r\n${appended.toString('latin1')}`);
    const appendedUid = /APPENDUID \d+ (\d+)/.exec(ok)![1]!;
    const live = await env.core.db.selectFrom('messages').select('id').execute();
    const rows = await env.core.db.selectFrom('message_text').select('message_id').execute();
    expect(live.length - rows.length).toBe(2);
    const folder = await env.core.store.searchText(delivered!.folderId, null, [{ field: 'body', needle: 'marmalade' }]);
    expect(folder.uncovered.size).toBe(2 + 4); // the two new ones and the NUL messages
    const uids = async (tag: string, query: string) => (/\* SEARCH([ \d]*)\r\n/.exec(await c.cmd(tag, `UID SEARCH CHARSET UTF-8 ${query}`))?.[1] ?? '').trim();
    const expected = `${delivered!.uid} ${appendedUid}`;
    expect(await uids('b', 'BODY MARMALADE')).toBe(expected);
    expect(await uids('d', 'TEXT headerword-KIWI')).toBe(String(delivered!.uid));
    expect(await uids('e', 'BODY headerword-kiwi')).toBe('');
    expect(await uids('f', `TEXT {${Buffer.byteLength('KUMQUÄTZ')}+}\r\nKUMQUÄTZ`)).toBe(appendedUid);

    const progress = await env.core.store.searchBackfill.run({ pauseMs: 0 });
    expect(progress).toMatchObject({ done: 2, total: 2, finished: true });
    expect(await env.core.db.selectFrom('message_text').select('message_id').execute()).toHaveLength(live.length);
    expect(await uids('g', 'BODY MARMALADE')).toBe(expected);
    expect(await uids('h', 'TEXT headerword-KIWI')).toBe(String(delivered!.uid));
    c.close();
  });
});
