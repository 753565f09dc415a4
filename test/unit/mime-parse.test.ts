import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../appliance/mailstore/mime/index.js';
import type { MimePart } from '../../appliance/mailstore/mime/index.js';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/mail', name));
const slice = (raw: Buffer, s: number, e: number) => raw.subarray(s, e).toString('utf8');

describe('parseMessage: multipart with attachment', () => {
  const raw = fixture('multipart-attachment.eml');
  const meta = parseMessage(raw);

  it('builds the tree multipart/mixed(multipart/alternative(text/plain, text/html), application/pdf)', () => {
    const r = meta.root;
    expect([r.type, r.subtype]).toEqual(['multipart', 'mixed']);
    expect(r.parts).toHaveLength(2);
    const alt = r.parts![0]!;
    expect([alt.type, alt.subtype]).toEqual(['multipart', 'alternative']);
    expect(alt.parts!.map((p) => `${p.type}/${p.subtype}`)).toEqual(['text/plain', 'text/html']);
    expect(r.parts![1]!.type + '/' + r.parts![1]!.subtype).toBe('application/pdf');
  });

  it('gives byte offsets: header ends at the blank line, bodies exclude the CRLF before a boundary', () => {
    const header = slice(raw, 0, meta.root.bodyStart);
    expect(header.startsWith('Return-Path:')).toBe(true);
    expect(header.endsWith('boundary="outer-boundary"\r\n\r\n')).toBe(true);
    const plain = meta.root.parts![0]!.parts![0]!;
    expect(slice(raw, plain.bodyStart, plain.bodyEnd)).toBe('Hello Bob,\r\nthe report is attached. Gr=C3=BC=C3=9Fe');
    expect(slice(raw, plain.headerStart, plain.bodyStart)).toBe('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n');
    expect(plain.encoding).toBe('quoted-printable');
    expect(plain.params).toEqual([['charset', 'utf-8']]);
    expect(plain.bodyLines).toBe(2);
    const alt = meta.root.parts![0]!;
    expect(slice(raw, alt.bodyStart, alt.bodyEnd).endsWith('--inner--\r\n')).toBe(true);
  });

  it('reads attachment fields with RFC 2231 continuations merged', () => {
    const att = meta.root.parts![1]!;
    expect(att.encoding).toBe('base64');
    expect(att.id).toBe('<att-1@example.org>');
    expect(att.description).toBe('The report');
    expect(att.language).toEqual(['en', 'de']);
    expect(att.disposition?.type).toBe('attachment');
    expect(att.disposition?.params).toEqual([['filename*', "utf-8''Q3%20report%20%E2%82%AC.pdf"]]);
    expect(att.filename).toBe('Q3 report €.pdf');
    expect(att.params).toEqual([['name', 'report.pdf']]);
    const b64 = slice(raw, att.bodyStart, att.bodyEnd);
    expect(Buffer.from(b64, 'base64').subarray(0, 8).toString()).toBe('%PDF-1.4');
    expect(b64.endsWith('\r\n')).toBe(false);
  });

  it('fills the envelope and the decoded search fields', () => {
    expect(meta.envelope.subject).toBe('Quarterly report');
    expect(meta.envelope.from).toEqual([{ name: 'Alice Example', adl: null, mailbox: 'alice', host: 'example.org' }]);
    expect(meta.envelope.sender).toEqual(meta.envelope.from);
    expect(meta.envelope.replyTo).toEqual(meta.envelope.from);
    expect(meta.envelope.to).toEqual([
      { name: 'Bob', adl: null, mailbox: 'bob', host: 'postern.test' },
      { name: null, adl: null, mailbox: 'carol', host: 'postern.test' },
    ]);
    expect(meta.envelope.cc![0]!.name).toBe('=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=');
    expect(meta.cc).toBe('Jürgen Müller <juergen@example.de>');
    expect(meta.envelope.messageId).toBe('<report-1@example.org>');
    expect(meta.sentAt).toBe(Date.UTC(2025, 6, 1, 8, 52, 37));
    expect(meta.degraded).toBeUndefined();
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(meta))).toEqual(meta);
  });
});

describe('parseMessage: nested message/rfc822', () => {
  const raw = fixture('nested-rfc822.eml');
  const meta = parseMessage(raw);
  const msgPart = meta.root.parts![1]!;

  it('parses the encapsulated message with its own envelope and structure', () => {
    expect([msgPart.type, msgPart.subtype]).toEqual(['message', 'rfc822']);
    expect(msgPart.message?.envelope.subject).toBe('Lunch?');
    expect(msgPart.message?.envelope.inReplyTo).toBe('<earlier@example.net>');
    expect(msgPart.message?.envelope.from?.[0]).toEqual({ name: 'Original', adl: null, mailbox: 'orig', host: 'example.net' });
    const inner = msgPart.message!.root;
    expect(inner.subtype).toBe('alternative');
    expect(inner.parts!.map((p) => slice(raw, p.bodyStart, p.bodyEnd))).toEqual(['Lunch at noon?', '<b>Lunch at noon?</b>']);
  });

  it('keeps the section ranges consistent (BODY[2] is the whole inner message, BODY[2.HEADER] its header)', () => {
    const inner = msgPart.message!.root;
    expect(inner.headerStart).toBe(msgPart.bodyStart);
    expect(inner.bodyEnd).toBe(msgPart.bodyEnd);
    expect(slice(raw, msgPart.bodyStart, msgPart.bodyEnd).startsWith('From: Original')).toBe(true);
    expect(slice(raw, inner.headerStart, inner.bodyStart).endsWith('boundary="b2"\r\n\r\n')).toBe(true);
    expect(msgPart.bodyLines).toBe(18);
    expect(msgPart.disposition).toEqual({ type: 'inline', params: [] });
  });

  it('takes the outer envelope from the outer header only', () => {
    expect(meta.envelope.subject).toBe('Fwd: Lunch?');
    expect(meta.subject).toBe('Fwd: Lunch?');
  });
});

describe('parseMessage: UTF-8, RFC 2047 and address syntax', () => {
  const raw = fixture('utf8-headers.eml');
  const meta = parseMessage(raw);

  it('decodes encoded words across charsets and folded lines for search', () => {
    expect(meta.subject).toBe('📧 Mail für dich and café');
    expect(meta.from).toBe('André Pirard <PIRARD@vm1.ulg.ac.be>');
  });

  it('keeps envelope strings as written and raw UTF-8 as text', () => {
    expect(meta.envelope.subject).toBe('=?UTF-8?B?8J+TpyBNYWls?= =?UTF-8?B?IGbDvHIgZGljaA==?= and =?iso-8859-1?q?caf=E9?=');
    expect(meta.envelope.cc).toEqual([
      { name: 'Zoë Ünïcode', adl: null, mailbox: 'zoe', host: 'exämple.org' },
      { name: 'Plain Person', adl: null, mailbox: 'plain', host: 'example.org' },
    ]);
    expect(meta.envelope.sender).toEqual([{ name: 'Mailer', adl: null, mailbox: 'mailer', host: 'example.org' }]);
  });

  it('encodes groups with start and end markers', () => {
    expect(meta.envelope.to).toEqual([
      { name: null, adl: null, mailbox: 'undisclosed-recipients', host: null },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
    expect(meta.envelope.replyTo).toEqual([
      { name: null, adl: null, mailbox: 'Team', host: null },
      { name: null, adl: null, mailbox: 'ann', host: 'example.org' },
      { name: 'Ben, Jr.', adl: null, mailbox: 'ben', host: 'example.org' },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
  });

  it('parses a GMT date', () => {
    expect(meta.sentAt).toBe(Date.UTC(2025, 6, 3, 18, 30, 0));
    expect(meta.root.encoding).toBe('8bit');
    expect(meta.root.bodyLines).toBe(1);
  });
});

describe('parseMessage: broken MIME degrades and never throws', () => {
  it('bare LF line endings', () => {
    const raw = fixture('bare-lf.eml');
    const meta = parseMessage(raw);
    expect(meta.root.parts).toHaveLength(2);
    expect(meta.root.parts!.map((p) => slice(raw, p.bodyStart, p.bodyEnd))).toEqual(['line one\nline two', 'second part']);
    expect(slice(raw, 0, meta.root.bodyStart).endsWith('boundary=XX\n\n')).toBe(true);
  });

  it('a multipart whose boundary never appears becomes one text/plain part', () => {
    const raw = fixture('missing-boundary.eml');
    const meta = parseMessage(raw);
    expect([meta.root.type, meta.root.subtype, meta.root.parts]).toEqual(['text', 'plain', undefined]);
    expect(slice(raw, meta.root.bodyStart, meta.root.bodyEnd)).toBe('just some text\r\nthat is not multipart at all\r\n');
    expect(meta.root.bodyLines).toBe(2);
    expect(meta.degraded).toBe(true);
  });

  it('a header without a blank line ends at the first line that is not a field', () => {
    const raw = fixture('no-blank-line.eml');
    const meta = parseMessage(raw);
    expect(meta.envelope.subject).toBe('no blank line');
    expect(slice(raw, meta.root.bodyStart, meta.root.bodyEnd)).toBe('This line is not a header\r\nand the body goes on');
    expect(meta.root.bodyLines).toBe(2);
  });

  it('a truncated multipart keeps its last part up to the end', () => {
    const raw = fixture('truncated-multipart.eml');
    const meta = parseMessage(raw);
    expect(meta.root.parts).toHaveLength(2);
    expect(slice(raw, meta.root.parts![1]!.bodyStart, meta.root.parts![1]!.bodyEnd)).toBe('AAAA');
  });

  const cases: Array<[string, string]> = [
    ['empty message', ''],
    ['header only, no newline', 'Subject: x'],
    ['only a blank line', '\r\n'],
    ['multipart without boundary parameter', 'Content-Type: multipart/mixed\r\n\r\nbody'],
    ['garbage content type', 'Content-Type: ;;;=\r\n\r\nbody'],
    ['unterminated quotes', 'From: "Alice <a@b>\r\nContent-Type: text/plain; charset="utf-8\r\n\r\nx'],
    ['unterminated comment', 'From: a@b (comment\r\nDate: garbage\r\n\r\nx'],
    ['binary noise', '\u0000\u0001\u00ff\r\n\r\n\u0000'],
    ['encoded message/rfc822', 'Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nRnJvbTogYUBi\r\n'],
    ['deep nesting', Array.from({ length: 100 }, (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`).join('')],
  ];
  it.each(cases)('%s', (_name, text) => {
    const raw = Buffer.from(text, 'latin1');
    const meta = parseMessage(raw);
    const check = (p: MimePart) => {
      expect(p.headerStart).toBeLessThanOrEqual(p.bodyStart);
      expect(p.bodyStart).toBeLessThanOrEqual(p.bodyEnd);
      expect(p.bodyEnd).toBeLessThanOrEqual(raw.length);
      p.parts?.forEach(check);
      if (p.message) check(p.message.root);
    };
    check(meta.root);
    expect(JSON.parse(JSON.stringify(meta))).toEqual(meta);
  });

  it('survives random bytes', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = ['\r\n', '\n', '--b', 'Content-Type: multipart/mixed; boundary=b\r\n', ': ', '=?utf-8?q?x', '"', '(', '<', '>', ',', ';', 'a', ' '];
    for (let i = 0; i < 300; i++) {
      let s = '';
      const n = Math.floor(rnd() * 60);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      expect(() => parseMessage(Buffer.from(s))).not.toThrow();
    }
  });
});

describe('parseMessage: speed', () => {
  it('parses a 5 MB message with a large attachment in a few milliseconds', () => {
    const big = Buffer.concat([
      fixture('multipart-attachment.eml').subarray(0, 0),
      Buffer.from(
        'From: a@b\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Type: text/plain\r\n\r\nhi\r\n--Z\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      ),
      Buffer.from('QUFB'.repeat(19).concat('\r\n').repeat(65000)),
      Buffer.from('\r\n--Z--\r\n'),
    ]);
    parseMessage(big);
    // The best of five runs: a loaded CI box can pause any single run (GC, another worker), while a
    // parse that copied or scanned the attachment byte by byte would be slow on every run.
    let ms = Infinity;
    let meta = parseMessage(big);
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      meta = parseMessage(big);
      ms = Math.min(ms, performance.now() - t0);
    }
    expect(meta.root.parts).toHaveLength(2);
    expect(ms).toBeLessThan(50);
  });
});
