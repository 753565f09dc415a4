/**
 * RFC 5322 address lists to IMAP ENVELOPE address structures, including groups, source
 * routes, comments and the usual malformations (missing brackets, unbalanced quotes).
 */
import type { EnvelopeAddress } from './types.js';

interface Item {
  phrase: string[];
  angle: string | null;
  comment: string;
}

function finishItem(item: Item, out: EnvelopeAddress[]): void {
  let addr: string;
  let name: string | null;
  if (item.angle !== null) {
    addr = item.angle.trim();
    name = item.phrase.join(' ').trim() || item.comment.trim() || null;
  } else {
    addr = item.phrase.join('').trim();
    name = item.comment.trim() || null;
    if (!addr) return;
  }
  let adl: string | null = null;
  const colon = addr.startsWith('@') ? addr.indexOf(':') : -1;
  if (colon !== -1) {
    adl = addr.slice(0, colon);
    addr = addr.slice(colon + 1);
  }
  if (!addr && !name) return;
  const at = addr.lastIndexOf('@');
  let mailbox = at === -1 ? addr : addr.slice(0, at);
  if (mailbox.length >= 2 && mailbox.startsWith('"') && mailbox.endsWith('"')) mailbox = mailbox.slice(1, -1).replace(/\\(.)/g, '$1');
  const host = at === -1 ? '' : addr.slice(at + 1);
  out.push({ name, adl, mailbox, host });
}

/** Removes (possibly nested) comments outside quoted strings. */
function stripComments(text: string): string {
  if (!text.includes('(')) return text;
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      if (!depth) out += c + text[i + 1];
      i++;
    } else if (quoted) {
      out += c;
      if (c === '"') quoted = false;
    } else if (c === '(') depth++;
    else if (c === ')' && depth) depth--;
    else if (!depth) {
      if (c === '"') quoted = true;
      out += c;
    }
  }
  return out;
}

/** Parses an address-list header value; returns null when it holds no address. */
export function parseAddressList(value: string | null | undefined): EnvelopeAddress[] | null {
  if (!value) return null;
  const s = value;
  const out: EnvelopeAddress[] = [];
  let item: Item = { phrase: [], angle: null, comment: '' };
  let inGroup = false;
  let i = 0;
  const n = s.length;
  const newItem = () => {
    finishItem(item, out);
    item = { phrase: [], angle: null, comment: '' };
  };
  while (i < n) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let word = '';
      while (j < n && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < n) j++;
        word += s[j];
        j++;
      }
      // Inside an angle-less addr-spec a quoted local part keeps its quotes.
      const next = s[j + 1];
      item.phrase.push(next === '@' ? `"${word}"` : word);
      i = j + 1;
    } else if (c === '(') {
      let depth = 1;
      let j = i + 1;
      let text = '';
      while (j < n && depth > 0) {
        const d = s[j]!;
        if (d === '\\' && j + 1 < n) {
          text += s[j + 1];
          j += 2;
          continue;
        }
        if (d === '(') depth++;
        else if (d === ')') {
          depth--;
          if (depth === 0) break;
        }
        text += d;
        j++;
      }
      if (!item.comment) item.comment = text;
      i = j + 1;
    } else if (c === '<') {
      const close = s.indexOf('>', i + 1);
      const end = close === -1 ? n : close;
      // Comments and folding white space inside the brackets are not part of the address
      // (RFC 5322 3.4.1 CFWS): "<user (x)@ (y) example.org>" is user@example.org.
      item.angle = stripComments(s.slice(i + 1, end)).replace(/\s+/g, '');
      i = end + 1;
    } else if (c === ',') {
      newItem();
      i++;
    } else if (c === ':' && !inGroup && item.angle === null) {
      // Group start: the phrase so far is the group name. A source route never reaches here (it is in <>).
      const groupName = item.phrase.join(' ').trim();
      item = { phrase: [], angle: null, comment: '' };
      out.push({ name: null, adl: null, mailbox: groupName, host: null });
      inGroup = true;
      i++;
    } else if (c === ';' && inGroup) {
      newItem();
      out.push({ name: null, adl: null, mailbox: null, host: null });
      inGroup = false;
      i++;
    } else {
      let j = i;
      while (j < n && !' \t\r\n"(<,'.includes(s[j]!) && !(s[j] === ':' && !inGroup) && !(s[j] === ';' && inGroup)) j++;
      if (j === i) j++;
      item.phrase.push(s.slice(i, j));
      i = j;
    }
  }
  newItem();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out.length ? out : null;
}
