/**
 * The IMAP protocol layer without a store: input framing, command parsing, sequence sets,
 * mailbox name encoding, FETCH items and sections, BODYSTRUCTURE and ENVELOPE, SEARCH.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../appliance/mailstore/mime/index.js';
import type { MessageEntry } from '../../appliance/mailstore/store.types.js';
import { bodyStructureToString, envelopeToString } from '../../appliance/imap/bodystructure.js';
import { astring, quote } from '../../appliance/imap/compiler.js';
import { filterHeader, parseFetchItems, resolveSection, type SectionItem } from '../../appliance/imap/fetch-items.js';
import { formatInternalDate, parseDateTime } from '../../appliance/imap/format.js';
import { decodeMailboxName, encodeMailboxName, patternToRegExp } from '../../appliance/imap/mailbox-names.js';
import { ImapSyntaxError, parseCommand, type Token } from '../../appliance/imap/parser.js';
import { CommandReader, type CommandUnit } from '../../appliance/imap/reader.js';
import { matches, parseSearch } from '../../appliance/imap/search.js';
import { UidMap, compactSet, parseSequenceSet } from '../../appliance/imap/sequence.js';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/mail', name));

function framer(limits: Partial<{ maxLineBytes: number; maxCommandBytes: number; literal: number }> = {}) {
  const units: CommandUnit[] = [];
  const rejected: Array<[string, string]> = [];
  const requests: Array<{ size: number; tooLarge: boolean }> = [];
  const reader: CommandReader = new CommandReader(
    { maxLineBytes: limits.maxLineBytes ?? 100, maxCommandBytes: limits.maxCommandBytes ?? 1000, maxLiteral: () => limits.literal ?? 50, maxNonSyncLiteral: Infinity, abortOversizedNonSync: false },
    {
      unit: (u) => units.push(u),
      rejected: (tag, reason) => rejected.push([tag, reason]),
      literalRequest: (u, size) => requests.push({ size, tooLarge: !reader.fits(u, size) }),
    },
  );
  return { reader, units, rejected, requests };
}

const atoms = (cmd: string) => parseCommand({ parts: [cmd], size: cmd.length, textBytes: cmd.length, literalBytes: 0 });

describe('input framing', () => {
  it('splits pipelined commands on CRLF and bare LF, across chunk borders', () => {
    const f = framer();
    f.reader.push(Buffer.from('a NOOP\r\nb CAPA'));
    f.reader.push(Buffer.from('BILITY\nc LOGOUT\r\n'));
    expect(f.units.map((u) => u.parts)).toEqual([['a NOOP'], ['b CAPABILITY'], ['c LOGOUT']]);
  });

  it('waits for a go-ahead before a synchronising literal, then reads exactly its bytes', () => {
    const f = framer();
    f.reader.push(Buffer.from('a LOGIN {5}\r\n'));
    expect(f.requests).toEqual([{ size: 5, tooLarge: false }]);
    expect(f.reader.waiting).toBe(true);
    f.reader.push(Buffer.from('al\r\nce "pw"\r\n')); // arrives early: kept until the decision
    f.reader.literalDecision(true);
    expect(f.units[0]!.parts).toEqual(['a LOGIN {5}', Buffer.from('al\r\nc'), 'e "pw"']);
  });

  it('reads LITERAL+ without asking, and discards one that is too large', () => {
    const f = framer({ literal: 4 });
    f.reader.push(Buffer.from('a X {3+}\r\nabc\r\nb X {10+}\r\n0123456789 tail\r\nc NOOP\r\n'));
    expect(f.units.map((u) => u.parts[0])).toEqual(['a X {3+}', 'c NOOP']);
    expect(f.rejected).toEqual([['b', 'literal']]);
  });

  it('rejects an over-long line with its tag and carries on', () => {
    const f = framer({ maxLineBytes: 20 });
    f.reader.push(Buffer.from('t1 SEARCH ' + 'x'.repeat(100) + '\r\nt2 NOOP\r\n'));
    expect(f.rejected).toEqual([['t1', 'line']]);
    expect(f.units.map((u) => u.parts[0])).toEqual(['t2 NOOP']);
  });

  it('flags a synchronising literal over the limit without reading it', () => {
    const f = framer({ literal: 10 });
    f.reader.push(Buffer.from('a APPEND INBOX {100}\r\n'));
    expect(f.requests).toEqual([{ size: 100, tooLarge: true }]);
    f.reader.literalDecision(false);
    f.reader.push(Buffer.from('b NOOP\r\n'));
    expect(f.units.map((u) => u.parts[0])).toEqual(['b NOOP']);
  });
});

describe('command parser', () => {
  it('parses tag, name and a token tree', () => {
    const c = atoms('A1 uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>) (CHANGEDSINCE 5)');
    expect(c.tag).toBe('A1');
    expect(c.name).toBe('UID FETCH');
    expect(c.args).toEqual<Token[]>([
      { t: 'atom', v: '1:*' },
      {
        t: 'list',
        v: [
          { t: 'atom', v: 'FLAGS' },
          { t: 'atom', v: 'BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>' },
        ],
      },
      {
        t: 'list',
        v: [
          { t: 'atom', v: 'CHANGEDSINCE' },
          { t: 'atom', v: '5' },
        ],
      },
    ]);
  });

  it('reads quoted strings with escapes and literals', () => {
    const c = parseCommand({ parts: ['a LOGIN "al\\"ice" {3}', Buffer.from('p w'), ''], size: 0, textBytes: 0, literalBytes: 0 });
    expect(c.args).toEqual([
      { t: 'string', v: 'al"ice' },
      { t: 'literal', v: Buffer.from('p w') },
    ]);
  });

  it.each([
    ['', 'Invalid tag'],
    ['a', 'Missing or invalid command'],
    ['a NOOP (', 'Unterminated list'],
    ['a NOOP )', 'Unexpected )'],
    ['a LOGIN "abc', 'Unterminated quoted string'],
    ['a LOGIN "a\\x"', 'Invalid escape in quoted string'],
    ['a FETCH 1 BODY[HEADER', 'Unterminated section'],
    ['a+ NOOP', 'Invalid tag'],
  ])('rejects %j', (line, message) => {
    expect(() => atoms(line)).toThrow(message);
  });

  it('keeps the tag on syntax errors so BAD can be tagged', () => {
    try {
      atoms('x7 NOOP (((');
    } catch (err) {
      expect(err).toBeInstanceOf(ImapSyntaxError);
      expect((err as ImapSyntaxError).tag).toBe('x7');
    }
  });
});

describe('sequence sets', () => {
  const view = new UidMap([3, 5, 9, 10, 20]);

  it.each([
    ['1', [3]],
    ['2:4', [5, 9, 10]],
    ['4:2', [5, 9, 10]],
    ['*', [20]],
    ['3:*', [9, 10, 20]],
    ['1,5,1:2', [3, 5, 20]],
    ['9:*', [20]],
    ['7', []],
  ])('seq %s', (set, uids) => {
    expect(view.resolveSeq(parseSequenceSet(set))).toEqual(uids);
  });

  it.each([
    ['1:4', [3]],
    ['5:10', [5, 9, 10]],
    ['*', [20]],
    ['25:*', [20]],
    ['11:19', []],
    ['10,3,9', [3, 9, 10]],
  ])('uid %s', (set, uids) => {
    expect(view.resolveUid(parseSequenceSet(set))).toEqual(uids);
  });

  it('keeps positions when messages are removed and added', () => {
    const v = new UidMap([1, 2, 3]);
    v.removeSeq(2);
    v.push(7);
    expect([...v]).toEqual([1, 3, 7]);
    expect(v.seqOf(7)).toBe(3);
    expect(v.seqOf(2)).toBe(0);
  });

  it('rejects invalid sets and compacts results', () => {
    expect(() => parseSequenceSet('0')).toThrow();
    expect(() => parseSequenceSet('1:')).toThrow();
    expect(() => parseSequenceSet('a')).toThrow();
    expect(compactSet([1, 2, 3, 5, 7, 8])).toBe('1:3,5,7:8');
  });
});

describe('mailbox names and strings', () => {
  it('round-trips modified UTF-7 (RFC 3501 example)', () => {
    expect(encodeMailboxName('~peter/mail/台北/日本語')).toBe('~peter/mail/&U,BTFw-/&ZeVnLIqe-');
    expect(decodeMailboxName('~peter/mail/&U,BTFw-/&ZeVnLIqe-')).toBe('~peter/mail/台北/日本語');
    expect(encodeMailboxName('Tom & Jerry')).toBe('Tom &- Jerry');
    expect(decodeMailboxName('Tom &- Jerry')).toBe('Tom & Jerry');
  });

  it('matches LIST patterns with * and %', () => {
    expect(patternToRegExp('', '%').test('Sent')).toBe(true);
    expect(patternToRegExp('', '%').test('Projects/2025')).toBe(false);
    expect(patternToRegExp('', '*').test('Projects/2025')).toBe(true);
    expect(patternToRegExp('Projects/', '%').test('Projects/2025')).toBe(true);
    expect(patternToRegExp('', 'inbox').test('INBOX')).toBe(true);
  });

  it('quotes plain text and uses literals for 8-bit or CR/LF', () => {
    expect(quote('a "b"')).toBe('"a \\"b\\""');
    expect(quote('Grüße')).toBe('{7}\r\nGrüße');
    expect(astring('INBOX')).toBe('INBOX');
    expect(astring('My Folder')).toBe('"My Folder"');
  });

  it('formats and parses dates', () => {
    expect(formatInternalDate(Date.UTC(2025, 6, 1, 8, 5, 9))).toBe('"01-Jul-2025 08:05:09 +0000"');
    expect(parseDateTime(' 2-Jan-2025 04:04:05 +0100')).toBe(Date.UTC(2025, 0, 2, 3, 4, 5));
    expect(() => parseDateTime('yesterday')).toThrow();
  });
});

describe('FETCH items and sections', () => {
  const raw = fixture('nested-rfc822.eml');
  const meta = parseMessage(raw);
  const section = (text: string): SectionItem => parseFetchItems({ t: 'atom', v: text }).items[0] as SectionItem;
  const get = (text: string) => {
    const r = resolveSection(meta, raw.length, section(text));
    if (!r) return null;
    const buf = raw.subarray(r.start, r.end);
    return (r.filter ? filterHeader(buf, r.filter.fields, r.filter.not) : buf).toString();
  };

  it('expands macros and notes what needs metadata or sets \\Seen', () => {
    const all = parseFetchItems({ t: 'atom', v: 'ALL' });
    expect(all.items.map((i) => i.kind)).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE']);
    expect(all.needMeta).toBe(true);
    const peek = parseFetchItems({
      t: 'list',
      v: [
        { t: 'atom', v: 'UID' },
        { t: 'atom', v: 'BODY.PEEK[]' },
      ],
    });
    expect([peek.needMeta, peek.setsSeen]).toEqual([false, false]);
    expect(parseFetchItems({ t: 'atom', v: 'RFC822' }).setsSeen).toBe(true);
    expect(() => parseFetchItems({ t: 'atom', v: 'BODY[1HEADER]' })).toThrow();
    expect(() => parseFetchItems({ t: 'atom', v: 'BOGUS' })).toThrow();
  });

  it('resolves numeric, HEADER, TEXT, MIME and nested sections', () => {
    expect(get('BODY[1]')).toBe('See below.');
    expect(get('BODY[1.MIME]')).toBe('Content-Type: text/plain\r\n\r\n');
    expect(get('BODY[2]')!.startsWith('From: Original')).toBe(true);
    expect(get('BODY[2.HEADER]')!.endsWith('boundary="b2"\r\n\r\n')).toBe(true);
    expect(get('BODY[2.TEXT]')!.startsWith('--b2')).toBe(true);
    expect(get('BODY[2.1]')).toBe('Lunch at noon?');
    expect(get('BODY[2.2]')).toBe('<b>Lunch at noon?</b>');
    expect(get('BODY[2.1.MIME]')).toBe('Content-Type: text/plain; charset=us-ascii\r\n\r\n');
    expect(get('BODY[HEADER.FIELDS (Subject To)]')).toBe('To: bob@postern.test\r\nSubject: Fwd: Lunch?\r\n\r\n');
    expect(get('BODY[HEADER.FIELDS.NOT (Subject To From Date Message-ID MIME-Version)]')).toBe('Content-Type: multipart/mixed; boundary="b1"\r\n\r\n');
    expect(get('BODY[2.HEADER.FIELDS (SUBJECT)]')).toBe('Subject: Lunch?\r\n\r\n');
    expect(get('BODY[3]')).toBeNull();
    expect(get('BODY[1.HEADER]')).toBeNull();
    expect(section('BODY.PEEK[2.header.fields (subject)]<0.10>')).toMatchObject({ label: 'BODY[2.HEADER.FIELDS (SUBJECT)]', peek: true, partial: { start: 0, length: 10 } });
  });

  it('treats part 1 of a single-part message as its body', () => {
    const single = Buffer.from('Subject: x\r\n\r\nhello\r\n');
    const r = resolveSection(parseMessage(single), single.length, section('BODY[1]'))!;
    expect(single.subarray(r.start, r.end).toString()).toBe('hello\r\n');
  });
});

describe('BODYSTRUCTURE and ENVELOPE', () => {
  it('renders a multipart with attachment and extension data', () => {
    const meta = parseMessage(fixture('multipart-attachment.eml'));
    const bs = bodyStructureToString(meta.root, true);
    expect(bs).toMatch(/^\(\(\("TEXT" "PLAIN" \("CHARSET" "utf-8"\) NIL NIL "QUOTED-PRINTABLE" \d+ 2 NIL NIL NIL NIL\)\("TEXT" "HTML"/);
    expect(bs).toContain('"ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)');
    expect(bs).toContain(`("APPLICATION" "PDF" ("NAME" "report.pdf") "<att-1@example.org>" "The report" "BASE64"`);
    expect(bs).toContain(`("ATTACHMENT" ("FILENAME*" "utf-8''Q3%20report%20%E2%82%AC.pdf")) ("en" "de") NIL)`);
    expect(bs.endsWith('"MIXED" ("BOUNDARY" "outer-boundary") NIL NIL NIL)')).toBe(true);
    const body = bodyStructureToString(meta.root, false);
    expect(body).not.toContain('BOUNDARY');
  });

  it('renders message/rfc822 with envelope, body and lines', () => {
    const meta = parseMessage(fixture('nested-rfc822.eml'));
    const bs = bodyStructureToString(meta.root.parts![1]!, false);
    expect(bs).toMatch(/^\("MESSAGE" "RFC822" NIL NIL NIL "7BIT" \d+ \("Tue, 1 Jul 2025 12:00:00 -0700" "Lunch\?" /);
    expect(bs).toMatch(/"ALTERNATIVE"\) 18\)$/);
  });

  it('renders envelopes with groups and 8-bit names as literals', () => {
    const meta = parseMessage(fixture('utf8-headers.eml'));
    const env = envelopeToString(meta.envelope);
    expect(env).toContain('((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))');
    expect(env).toContain('(({14}\r\nZoë Ünïcode NIL "zoe" {12}\r\nexämple.org)');
  });
});

describe('SEARCH', () => {
  const raw = fixture('multipart-attachment.eml');
  const meta = parseMessage(raw);
  const entry: MessageEntry = { uid: 7, messageId: 1, flags: ['\\Seen', '$Work'], modseq: 12, internalDate: Date.UTC(2025, 6, 2, 12), size: raw.length, savedAt: null };
  const tokens = (line: string) => atoms(`a SEARCH ${line}`).args;
  const run = (line: string) => matches(parseSearch(tokens(line)).key, { entry, seq: 3, meta, raw }, 5, 20);

  it.each([
    ['ALL', true],
    ['SEEN', true],
    ['UNSEEN', false],
    ['KEYWORD $Work', true],
    ['UNKEYWORD $Work', false],
    ['FLAGGED', false],
    ['3', true],
    ['1:2', false],
    ['2:*', true],
    ['UID 7', true],
    ['UID 8:*', false],
    ['LARGER 100', true],
    ['SMALLER 100', false],
    ['ON 2-Jul-2025', true],
    ['BEFORE 2-Jul-2025', false],
    ['SINCE 1-Jul-2025', true],
    ['SENTON 1-Jul-2025', true],
    ['SENTBEFORE 1-Jul-2025', false],
    ['FROM alice', true],
    ['FROM "Alice Example"', true],
    ['TO carol@postern.test', true],
    ['CC jürgen', true],
    ['BCC anyone', false],
    ['SUBJECT quarterly', true],
    ['SUBJECT QUARTERLY', true],
    ['HEADER Message-ID report-1', true],
    ['HEADER X-Missing ""', false],
    ['HEADER Subject ""', true],
    ['BODY "report is attached"', true],
    ['BODY grüße', true],
    ['BODY quarterly', false],
    ['TEXT quarterly', true],
    ['NOT SEEN', false],
    ['OR FLAGGED SEEN', true],
    ['(SEEN FROM alice) NOT DELETED', true],
    ['MODSEQ 12', true],
    ['MODSEQ "/flags/\\\\seen" all 13', false],
    ['CHARSET UTF-8 SUBJECT report', true],
    ['NEW', false],
    ['OLD', true],
  ])('%s → %s', (line, expected) => {
    expect(run(line)).toBe(expected);
  });

  it('refuses unknown keys and charsets', () => {
    expect(() => parseSearch(tokens('FOO'))).toThrow(ImapSyntaxError);
    expect(() => parseSearch(tokens('CHARSET KOI8-R SUBJECT x'))).toThrow('Unsupported charset');
    expect(() => parseSearch(tokens('BEFORE 32-Foo-2020'))).toThrow();
  });
});
