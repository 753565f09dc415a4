/**
 * Sort and thread keys of a stored message (RFC 5256 SORT/THREAD, RFC 5957 DISPLAY sorts),
 * computed once from the parsed metadata at ingest and kept as a small JSON column next to it,
 * so SORT and THREAD read a few short fields per message instead of the whole metadata.
 */
import { decodeWords } from './mime/charset.js';
import type { EnvelopeAddress, MessageMeta } from './mime/types.js';

export interface SortKeys {
  /** Date header as epoch ms (RFC 5256 DATE), null when absent or unparseable. */
  d: number | null;
  /** Base subject (RFC 5256 2.1), case-folded. */
  s: string;
  /** addr-mailbox of the first From / To / Cc address, case-folded (RFC 5256 3). */
  f: string;
  t: string;
  c: string;
  /** Display name, else addr-spec, of the first From / To address, case-folded (RFC 5957). */
  df: string;
  dt: string;
  /** Message-ID without brackets, null when missing. */
  id: string | null;
  /** Parent ids for THREAD=REFERENCES: References, else the first In-Reply-To id. */
  r: string[];
  /** The subject had a reply/forward prefix (RFC 5256 ORDEREDSUBJECT/REFERENCES step 5). */
  re?: 1;
}

const MAX_REFS = 100;

/** RFC 5256 2.1 base subject, plus whether it was a reply or forward. */
export function baseSubject(subject: string): { base: string; reply: boolean } {
  let s = subject.replace(/\s+/g, ' ').trim();
  let reply = false;
  for (let guard = 0; guard < 100; guard++) {
    const before = s;
    // (2) trailing "(fwd)" and white space
    for (;;) {
      const m = /\s*\(fwd\)\s*$/i.exec(s);
      if (!m) break;
      s = s.slice(0, m.index);
      reply = true;
    }
    s = s.trim();
    // (3)/(4) leading "[blob]" parts and "re:" / "fw:" / "fwd:" with optional [blob]
    for (;;) {
      const m = /^((?:\[[^[\]]*\]\s*)*)(re|fwd?)\s*(\[[^[\]]*\]\s*)?:\s*/i.exec(s);
      if (m) {
        s = s.slice(m[0].length);
        reply = true;
        continue;
      }
      const blob = /^\[[^[\]]*\]\s*/.exec(s);
      if (blob && s.length > blob[0].length) {
        s = s.slice(blob[0].length);
        continue;
      }
      break;
    }
    // (6) "[fwd: ... ]" wrapper
    const fwd = /^\[fwd:\s*(.*)\]$/i.exec(s);
    if (fwd) {
      s = fwd[1]!.trim();
      reply = true;
    }
    if (s === before) break;
  }
  return { base: s.toLowerCase(), reply };
}

function firstAddress(list: EnvelopeAddress[] | null): EnvelopeAddress | null {
  for (const a of list ?? []) if (a.host !== null) return a;
  return null;
}

function decoded(text: string | null): string {
  if (!text) return '';
  try {
    return decodeWords(text);
  } catch {
    return text;
  }
}

function addrSpec(a: EnvelopeAddress | null): string {
  if (!a) return '';
  return (a.host ? `${a.mailbox ?? ''}@${a.host}` : (a.mailbox ?? '')).toLowerCase();
}

/** Message ids of a References / In-Reply-To value, without brackets. */
export function messageIds(value: string | null | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const m of value.matchAll(/<([^<>\s]+)>/g)) out.push(m[1]!);
  return out;
}

export function computeSortKeys(meta: MessageMeta): SortKeys {
  const env = meta.envelope;
  const from = firstAddress(env.from);
  const to = firstAddress(env.to);
  const { base, reply } = baseSubject(meta.subject ?? '');
  let refs = messageIds(meta.references);
  if (!refs.length) refs = messageIds(env.inReplyTo).slice(0, 1);
  if (refs.length > MAX_REFS) refs = refs.slice(-MAX_REFS);
  const keys: SortKeys = {
    d: meta.sentAt,
    s: base,
    f: (from?.mailbox ?? '').toLowerCase(),
    t: (to?.mailbox ?? '').toLowerCase(),
    c: (firstAddress(env.cc)?.mailbox ?? '').toLowerCase(),
    df: (decoded(from?.name ?? null) || addrSpec(from)).toLowerCase(),
    dt: (decoded(to?.name ?? null) || addrSpec(to)).toLowerCase(),
    id: messageIds(env.messageId)[0] ?? null,
    r: refs,
  };
  if (reply) keys.re = 1;
  return keys;
}
