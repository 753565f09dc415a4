/**
 * ENVELOPE, BODY and BODYSTRUCTURE responses from the stored MessageMeta (RFC 3501 7.4.2).
 */
import type { Envelope, EnvelopeAddress, MimePart } from '../mailstore/mime/types.js';
import { nstring, quote } from './compiler.js';

function addresses(list: EnvelopeAddress[] | null): string {
  if (!list || !list.length) return 'NIL';
  return '(' + list.map((a) => `(${nstring(a.name)} ${nstring(a.adl)} ${nstring(a.mailbox)} ${nstring(a.host)})`).join('') + ')';
}

export function envelopeToString(e: Envelope): string {
  return (
    `(${nstring(e.date)} ${nstring(e.subject)} ${addresses(e.from)} ${addresses(e.sender)} ${addresses(e.replyTo)} ` +
    `${addresses(e.to)} ${addresses(e.cc)} ${addresses(e.bcc)} ${nstring(e.inReplyTo)} ${nstring(e.messageId)})`
  );
}

function params(p: Array<[string, string]>): string {
  if (!p.length) return 'NIL';
  return '(' + p.map(([k, v]) => `${quote(k.toUpperCase())} ${quote(v)}`).join(' ') + ')';
}

function disposition(d: MimePart['disposition']): string {
  if (!d) return 'NIL';
  return `(${quote(d.type.toUpperCase())} ${params(d.params)})`;
}

function language(l: string[] | null): string {
  if (!l || !l.length) return 'NIL';
  if (l.length === 1) return quote(l[0]!);
  return '(' + l.map(quote).join(' ') + ')';
}

/** BODYSTRUCTURE when `extended`, BODY otherwise. */
export function bodyStructureToString(p: MimePart, extended: boolean): string {
  if (p.parts && p.parts.length) {
    let s = '(' + p.parts.map((c) => bodyStructureToString(c, extended)).join('') + ' ' + quote(p.subtype.toUpperCase());
    if (extended) s += ` ${params(p.params)} ${disposition(p.disposition)} ${language(p.language)} ${nstring(p.location)}`;
    return s + ')';
  }
  const size = p.bodyEnd - p.bodyStart;
  let s = `(${quote(p.type.toUpperCase())} ${quote(p.subtype.toUpperCase())} ${params(p.params)} ${nstring(p.id)} ${nstring(p.description)} ${quote(p.encoding.toUpperCase())} ${size}`;
  if (p.type === 'message' && p.message) {
    s += ` ${envelopeToString(p.message.envelope)} ${bodyStructureToString(p.message.root, extended)} ${p.bodyLines}`;
  } else if (p.type === 'text') {
    s += ` ${p.bodyLines}`;
  }
  if (extended) s += ` ${nstring(p.md5)} ${disposition(p.disposition)} ${language(p.language)} ${nstring(p.location)}`;
  return s + ')';
}
