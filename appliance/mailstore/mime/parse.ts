/**
 * The MIME structure walk: byte offsets of every part's header and body, found by scanning
 * the Buffer for boundaries (no body is decoded). Broken MIME degrades, never throws.
 */
import { decodeWords } from './charset.js';
import { parseAddressList } from './addresses.js';
import { scanHeader } from './headers.js';
import { parseParams } from './params.js';
import { previewOf } from './preview.js';
import type { Envelope, MessageMeta, MimePart } from './types.js';

const MAX_DEPTH = 40;
const MAX_PARTS = 2000;

interface Ctx {
  buf: Buffer;
  parts: number;
  degraded: boolean;
}

/** Lines in [start, end): line feeds, plus one for an unterminated last line. */
export function countLines(buf: Buffer, start: number, end: number): number {
  if (end <= start) return 0;
  const view = buf.subarray(start, end);
  let n = 0;
  let i = view.indexOf(10);
  while (i !== -1) {
    n++;
    i = view.indexOf(10, i + 1);
  }
  if (view[view.length - 1] !== 10) n++;
  return n;
}

function nullable(v: string | undefined): string | null {
  return v === undefined || v === '' ? null : v;
}

function envelopeOf(fields: Map<string, string>): Envelope {
  const from = parseAddressList(fields.get('from'));
  return {
    date: nullable(fields.get('date')),
    subject: nullable(fields.get('subject')),
    from,
    sender: parseAddressList(fields.get('sender')) ?? from,
    replyTo: parseAddressList(fields.get('reply-to')) ?? from,
    to: parseAddressList(fields.get('to')),
    cc: parseAddressList(fields.get('cc')),
    bcc: parseAddressList(fields.get('bcc')),
    inReplyTo: nullable(fields.get('in-reply-to')),
    messageId: nullable(fields.get('message-id')),
  };
}

const DELIM_TAIL_OK = new Set([0x20, 0x09, 0x0d, 0x0a]);

/** Finds the parts of a multipart body: [start, end, closed] ranges of each part (header+body). */
function splitMultipart(buf: Buffer, bodyStart: number, bodyEnd: number, boundary: string): Array<[number, number]> | null {
  const delim = Buffer.from('--' + boundary, 'latin1');
  const body = buf.subarray(bodyStart, bodyEnd);
  const ranges: Array<[number, number]> = [];
  let partStart = -1;
  let pos = 0;
  while (pos < body.length) {
    const idx = body.indexOf(delim, pos);
    if (idx === -1) break;
    pos = idx + 1;
    if (idx > 0 && body[idx - 1] !== 10) continue;
    const after = idx + delim.length;
    const closing = body[after] === 0x2d && body[after + 1] === 0x2d;
    if (!closing && after < body.length && !DELIM_TAIL_OK.has(body[after]!)) continue;
    if (partStart !== -1) {
      let end = idx;
      if (end > 0 && body[end - 1] === 10) end--;
      if (end > 0 && body[end - 1] === 13) end--;
      ranges.push([bodyStart + partStart, bodyStart + Math.max(partStart, end)]);
    }
    if (closing) return ranges.length ? ranges : null;
    const nl = body.indexOf(10, after);
    partStart = nl === -1 ? body.length : nl + 1;
    pos = partStart;
  }
  if (partStart !== -1) ranges.push([bodyStart + partStart, bodyEnd]); // no closing delimiter: the last part runs to the end
  return ranges.length ? ranges : null;
}

/** A multipart's children; a multipart without a usable boundary (or too deep) is served as text. */
function parseMultipart(ctx: Ctx, part: MimePart, boundary: string | undefined, depth: number): MimePart {
  const { buf } = ctx;
  const ranges = boundary && depth < MAX_DEPTH ? splitMultipart(buf, part.bodyStart, part.bodyEnd, boundary) : null;
  if (!ranges) {
    ctx.degraded = true;
    part.type = 'text';
    part.subtype = 'plain';
    part.params = [['charset', 'us-ascii']];
    delete part.parts;
    part.bodyLines = countLines(buf, part.bodyStart, part.bodyEnd);
    return part;
  }
  const childDefault = part.subtype === 'digest' ? 'message/rfc822' : 'text/plain';
  part.parts = [];
  for (const [s, e] of ranges) {
    if (ctx.parts >= MAX_PARTS) {
      ctx.degraded = true;
      break;
    }
    part.parts.push(parsePart(ctx, s, e, childDefault, depth + 1));
  }
  return part;
}

function parsePart(ctx: Ctx, start: number, end: number, defaultType: 'text/plain' | 'message/rfc822', depth: number, out?: { fields?: Map<string, string> }): MimePart {
  ctx.parts++;
  const { buf } = ctx;
  const head = scanHeader(buf, start, end);
  const f = head.fields;
  if (out) out.fields = f;
  const ct = parseParams(f.get('content-type'));
  let [type, subtype] = ct.value.split('/', 2) as [string, string | undefined];
  let params = ct.params;
  if (!type || !subtype || !/^[a-z0-9!#$&^_.+-]+$/.test(type) || !/^[a-z0-9!#$&^_.+-]+$/.test(subtype)) {
    [type, subtype] = defaultType.split('/') as [string, string];
    params = type === 'text' ? [['charset', 'us-ascii']] : [];
    if (f.has('content-type')) ctx.degraded = true;
  }
  const disp = f.has('content-disposition') ? parseParams(f.get('content-disposition')) : null;
  const lang = f.get('content-language');
  const part: MimePart = {
    headerStart: start,
    bodyStart: head.bodyStart,
    bodyEnd: end,
    bodyLines: 0,
    type,
    subtype,
    params,
    id: nullable(f.get('content-id')),
    description: nullable(f.get('content-description')),
    encoding: (f.get('content-transfer-encoding') ?? '7bit').replace(/\s+/g, '').toLowerCase() || '7bit',
    md5: nullable(f.get('content-md5')),
    disposition: disp && disp.value ? { type: disp.value, params: disp.params } : null,
    language: lang
      ? lang
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : null,
    location: nullable(f.get('content-location')),
  };
  const filename = disp?.decoded.get('filename') ?? ct.decoded.get('name');
  if (filename) part.filename = filename;

  if (type === 'multipart') return parseMultipart(ctx, part, ct.decoded.get('boundary'), depth);

  if (type === 'message' && (subtype === 'rfc822' || subtype === 'global')) {
    part.bodyLines = countLines(buf, part.bodyStart, end);
    if ((part.encoding === '7bit' || part.encoding === '8bit' || part.encoding === 'binary') && depth < MAX_DEPTH && ctx.parts < MAX_PARTS) {
      const inner: { fields?: Map<string, string> } = {};
      const root = parsePart(ctx, part.bodyStart, end, 'text/plain', depth + 1, inner);
      part.message = { envelope: envelopeOf(inner.fields ?? new Map()), root };
    } else {
      // An encoded message/rfc822 cannot be walked without decoding it: serve it as a leaf.
      part.type = 'application';
      part.subtype = 'octet-stream';
      ctx.degraded = true;
    }
    return part;
  }

  if (type === 'text') part.bodyLines = countLines(buf, part.bodyStart, end);
  return part;
}

function parseDate(value: string | undefined): number | null {
  if (!value) return null;
  const cleaned = value
    .replace(/\([^)]*\)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  let t = Date.parse(cleaned);
  if (Number.isNaN(t)) {
    // "Tue, 1 Jul 2003 10:52:37 +0200" variants Date.parse rejects: drop the weekday, fix dots.
    t = Date.parse(cleaned.replace(/^[A-Za-z]{3},?\s*/, '').replace(/(\d+)\.(\d+)\.(\d+)/, '$1:$2:$3'));
  }
  return Number.isNaN(t) ? null : t;
}

/** Parses a raw RFC 5322 message into its metadata. Never throws. */
export function parseMessage(raw: Buffer): MessageMeta {
  const ctx: Ctx = { buf: raw, parts: 0, degraded: false };
  let root: MimePart;
  let fields: Map<string, string>;
  try {
    const out: { fields?: Map<string, string> } = {};
    root = parsePart(ctx, 0, raw.length, 'text/plain', 0, out);
    fields = out.fields ?? new Map();
  } catch {
    // Defensive: a bug in the walk must not stop delivery. Serve the message as one text part.
    const head = safeHead(raw);
    fields = head.fields;
    ctx.degraded = true;
    root = {
      headerStart: 0,
      bodyStart: head.bodyStart,
      bodyEnd: raw.length,
      bodyLines: countLines(raw, head.bodyStart, raw.length),
      type: 'text',
      subtype: 'plain',
      params: [['charset', 'us-ascii']],
      id: null,
      description: null,
      encoding: '7bit',
      md5: null,
      disposition: null,
      language: null,
      location: null,
    };
  }
  let envelope: Envelope;
  try {
    envelope = envelopeOf(fields);
  } catch {
    envelope = { date: null, subject: null, from: null, sender: null, replyTo: null, to: null, cc: null, bcc: null, inReplyTo: null, messageId: null };
  }
  const dec = (name: string) => {
    try {
      return decodeWords(fields.get(name) ?? '');
    } catch {
      return fields.get(name) ?? '';
    }
  };
  const meta: MessageMeta = {
    v: 1,
    envelope,
    root,
    subject: dec('subject'),
    from: dec('from'),
    to: dec('to'),
    cc: dec('cc'),
    bcc: dec('bcc'),
    sentAt: parseDate(fields.get('date')),
  };
  try {
    meta.preview = previewOf(raw, root);
  } catch {
    meta.preview = '';
  }
  const references = fields.get('references');
  if (references) meta.references = references.slice(0, 16 * 1024);
  if (ctx.degraded) meta.degraded = true;
  return meta;
}

function safeHead(raw: Buffer): { fields: Map<string, string>; bodyStart: number } {
  try {
    const h = scanHeader(raw, 0, raw.length);
    return { fields: h.fields, bodyStart: h.bodyStart };
  } catch {
    return { fields: new Map(), bodyStart: 0 };
  }
}
