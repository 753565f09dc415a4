/**
 * ENVELOPE, BODY and BODYSTRUCTURE responses from the stored MessageMeta (RFC 3501 7.4.2).
 */
import type { Envelope, EnvelopeAddress, MimePart } from '../mailstore/mime/types.js';
import { decodedParams } from '../mailstore/mime/params.js';
import { nstring, quote } from './compiler.js';

function addresses(list: EnvelopeAddress[] | null): string {
  if (!list || !list.length) return 'NIL';
  return '(' + list.map((a) => `(${nstring(a.name)} ${nstring(a.adl)} ${nstring(a.mailbox)} ${nstring(a.host)})`).join('') + ')';
}

/**
 * The ENVELOPE text of each envelope object formatted so far. The store hands out the same
 * MessageMeta objects from its cache, so a message's envelope is formatted once, not once per
 * FETCH (issue 18: FETCH 1:* ENVELOPE, warm); an entry goes with its object.
 */
const envelopes = new WeakMap<Envelope, string>();

export function envelopeToString(e: Envelope): string {
  let text = envelopes.get(e);
  if (text === undefined) {
    // Joined, not concatenated (issue 18, round 9): a concatenation is kept as a tree of its
    // pieces, and every response built around it flattened that tree again when it was written
    // (about two thirds of a warm FETCH 1:* (FLAGS ENVELOPE)'s CPU); a joined text is one flat string.
    text = [
      '(',
      nstring(e.date),
      ' ',
      nstring(e.subject),
      ' ',
      addresses(e.from),
      ' ',
      addresses(e.sender),
      ' ',
      addresses(e.replyTo),
      ' ',
      addresses(e.to),
      ' ',
      addresses(e.cc),
      ' ',
      addresses(e.bcc),
      ' ',
      nstring(e.inReplyTo),
      ' ',
      nstring(e.messageId),
      ')',
    ].join('');
    envelopes.set(e, text);
  }
  return text;
}

/**
 * A parameter list. IMAP4rev1 passes RFC 2231 parameters on as sent (merged `name*`); IMAP4rev2
 * decodes them (RFC 9051 7.5.2), and its quoted strings may hold UTF-8.
 */
function params(p: Array<[string, string]>, rev2: boolean): string {
  if (!p.length) return 'NIL';
  const list = rev2 ? decodedParams(p) : p;
  return '(' + list.map(([k, v]) => `${quote(k.toUpperCase())} ${quote(v, rev2)}`).join(' ') + ')';
}

function disposition(d: MimePart['disposition'], rev2: boolean): string {
  if (!d) return 'NIL';
  return `(${quote(d.type.toUpperCase())} ${params(d.params, rev2)})`;
}

function language(l: string[] | null): string {
  if (!l || !l.length) return 'NIL';
  if (l.length === 1) return quote(l[0]!);
  return '(' + l.map((x) => quote(x)).join(' ') + ')';
}

/** BODYSTRUCTURE when `extended`, BODY otherwise; `rev2`: parameters decoded (RFC 9051 7.5.2). */
export function bodyStructureToString(p: MimePart, extended: boolean, rev2 = false): string {
  if (p.parts && p.parts.length) {
    let s = '(' + p.parts.map((c) => bodyStructureToString(c, extended, rev2)).join('') + ' ' + quote(p.subtype.toUpperCase());
    if (extended) s += ` ${params(p.params, rev2)} ${disposition(p.disposition, rev2)} ${language(p.language)} ${nstring(p.location)}`;
    return s + ')';
  }
  const size = p.bodyEnd - p.bodyStart;
  let s = `(${quote(p.type.toUpperCase())} ${quote(p.subtype.toUpperCase())} ${params(p.params, rev2)} ${nstring(p.id)} ${nstring(p.description)} ${quote(p.encoding.toUpperCase())} ${size}`;
  if (p.type === 'message' && p.message) {
    s += ` ${envelopeToString(p.message.envelope)} ${bodyStructureToString(p.message.root, extended, rev2)} ${p.bodyLines}`;
  } else if (p.type === 'text') {
    s += ` ${p.bodyLines}`;
  }
  if (extended) s += ` ${nstring(p.md5)} ${disposition(p.disposition, rev2)} ${language(p.language)} ${nstring(p.location)}`;
  return s + ')';
}
