/**
 * CATENATE (RFC 4469): APPEND builds the message from TEXT literals and IMAP URLs (RFC 5092)
 * naming messages or sections of this user's own mailboxes on this server. Any URL that does
 * not resolve answers NO [BADURL url] and nothing is stored.
 */
import { needRight } from './shared-access.js';
import { filterHeader, parseFetchItems, resolveSection } from './fetch-items.js';
import { ImapSyntaxError, type Token } from './parser.js';
import { ImapNo } from './responses.js';
import type { ImapSession } from './session.js';
import { normalizeName } from './mailbox-names.js';

const URL_RE = /^(?:imap:\/\/[^/]+)?\/([^;/?]+(?:\/[^;/?]+)*);?(?:UIDVALIDITY=(\d+))?\/;UID=(\d+)(?:\/;SECTION=([^/;]+))?(?:\/;PARTIAL=(\d+)(?:\.(\d+))?)?$/i;

async function resolveUrl(session: ImapSession, mailboxId: string, url: string): Promise<Buffer> {
  const bad = () => new ImapNo('Invalid or unknown URL', `BADURL ${url.replace(/[\]\r\n]/g, '')}`);
  const m = URL_RE.exec(url);
  if (!m) throw bad();
  let name: string;
  try {
    name = normalizeName(decodeURIComponent(m[1]!));
  } catch {
    throw bad();
  }
  const folder = await session.store.getFolder(mailboxId, name);
  if (!folder || (m[2] && Number(m[2]) !== folder.uidValidity)) throw bad();
  needRight(session, folder, 'r', 'read'); // a shared mailbox's message only with the read right
  const uid = Number(m[3]);
  const entry = await session.store.getEntry(folder.id, uid);
  if (!entry) throw bad();
  let bytes = await session.store.readMessage(entry.messageId);
  if (m[4]) {
    let section: string;
    try {
      section = decodeURIComponent(m[4]);
    } catch {
      throw bad();
    }
    let item;
    try {
      const plan = parseFetchItems({ t: 'atom', v: `BODY.PEEK[${section}]` });
      item = plan.items[0];
    } catch {
      throw bad();
    }
    if (!item || item.kind !== 'section') throw bad();
    const meta = (await session.store.getMeta([entry.messageId])).get(entry.messageId) ?? null;
    const r = resolveSection(meta, bytes.length, item);
    if (!r) throw bad();
    bytes = bytes.subarray(r.start, r.end);
    if (r.filter) bytes = filterHeader(bytes, r.filter.fields, r.filter.not);
  }
  if (m[5]) {
    const start = Number(m[5]);
    const end = m[6] ? start + Number(m[6]) : bytes.length;
    bytes = bytes.subarray(Math.min(start, bytes.length), Math.min(end, bytes.length));
  }
  return bytes;
}

/** Builds one message from a CATENATE list: ( TEXT literal / URL astring ... ). */
export async function catenate(session: ImapSession, mailboxId: string, parts: Token[], maxBytes: number): Promise<Buffer> {
  if (!parts.length) throw new ImapSyntaxError('CATENATE needs at least one part');
  const out: Buffer[] = [];
  let total = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const kind = parts[i];
    const value = parts[i + 1];
    if (kind?.t !== 'atom' || !value) throw new ImapSyntaxError('CATENATE parts are TEXT literal or URL url');
    let piece: Buffer;
    if (kind.v.toUpperCase() === 'TEXT') {
      if (value.t !== 'literal') throw new ImapSyntaxError('TEXT needs a literal');
      piece = value.v;
    } else if (kind.v.toUpperCase() === 'URL') {
      if (value.t !== 'atom' && value.t !== 'string') throw new ImapSyntaxError('URL needs a string');
      piece = await resolveUrl(session, mailboxId, value.v);
    } else throw new ImapSyntaxError('CATENATE parts are TEXT literal or URL url');
    total += piece.length;
    if (total > maxBytes) throw new ImapNo(`Message too large (APPENDLIMIT ${maxBytes})`, 'TOOBIG');
    out.push(piece);
  }
  return Buffer.concat(out);
}
