/**
 * Grant rights (the API's words) as RFC 4314 ACL letters, and back. One grant covers every
 * folder of the shared mailbox, so a member's rights are the same on each of its folders.
 *
 *   read → l r    seen → s    write → w    insert → i p    delete → t e x    create → k
 *
 * `send` has no IMAP letter (it is the SMTP send-as right). The owner has every right,
 * including `a` (administer), which no member has.
 */
import { GRANT_RIGHTS, type GrantRight } from '../core/access/grants.types.js';

/** Every right of RFC 4314 with RIGHTS=texk, in the canonical order this server writes them. */
export const OWNER_RIGHTS = 'lrswipkxtea';

const LETTERS: Record<GrantRight, string> = { read: 'lr', seen: 's', write: 'w', insert: 'ip', delete: 'xte', create: 'k', send: '' };

/** Rights that are granted together (LISTRIGHTS, RFC 4314 3.7): each group is one grant right. */
export const RIGHT_GROUPS = ['lr', 's', 'w', 'ip', 'k', 'xte'];

/** Letters of a set of grant rights, in canonical order. */
export function lettersOf(rights: Iterable<GrantRight>): string {
  const set = new Set<string>();
  for (const r of rights) for (const c of LETTERS[r]) set.add(c);
  return [...OWNER_RIGHTS].filter((c) => set.has(c)).join('');
}

/** Grant rights named by ACL letters: any letter of a group grants the group's right. Unknown letters: null. */
export function rightsFromLetters(letters: string): Set<GrantRight> | null {
  const out = new Set<GrantRight>();
  for (const c of letters.toLowerCase()) {
    const r = GRANT_RIGHTS.find((g) => LETTERS[g].includes(c));
    if (r) out.add(r);
    // RFC 4314 2.1.1: the obsolete "c" and "d" rights map to "k x" and "t e".
    else if (c === 'c') out.add('create');
    else if (c === 'd') out.add('delete');
    else if (c !== 'a' && !/[0-9]/.test(c)) return null;
  }
  return out;
}

/** The right a STORE of this flag needs (RFC 4314 4): \Seen → s, \Deleted → t, any other → w. */
export function letterForFlag(flag: string): string {
  const f = flag.toLowerCase();
  return f === '\\seen' ? 's' : f === '\\deleted' ? 't' : 'w';
}

/** SELECT is read-write when the member may change something in the mailbox (RFC 4314 4). */
export function canWrite(letters: string): boolean {
  return /[swte]/.test(letters);
}
