/**
 * Sender Rewriting Scheme for forwarded mail: the envelope sender becomes
 * SRS0=<hash>=<day>=<orig domain>=<orig local>@<forwarding domain>, so SPF passes at the next
 * hop and bounces come back to us, where `reverse` recovers (and authenticates) the original.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const MAX_AGE_DAYS = 21;

function today(now: number): number {
  return Math.floor(now / 86_400_000) % 1024;
}

function encodeDay(day: number): string {
  return B32[(day >> 5) & 31]! + B32[day & 31]!;
}

function decodeDay(s: string): number | null {
  if (s.length !== 2) return null;
  const a = B32.indexOf(s[0]!.toLowerCase());
  const b = B32.indexOf(s[1]!.toLowerCase());
  return a < 0 || b < 0 ? null : (a << 5) | b;
}

/** 6 base32 characters of an HMAC: survives MTAs that fold the local part's case. */
function hash(secret: string, ...parts: string[]): string {
  const digest = createHmac('sha256', secret).update(parts.join('\0').toLowerCase()).digest();
  let out = '';
  for (let i = 0; i < 6; i++) out += B32[digest[i]! & 31];
  return out;
}

export class Srs {
  constructor(private readonly secret: string) {}

  /** Rewrites `sender` for a message forwarded by `forwardingDomain`. The null sender stays null. */
  forward(sender: string, forwardingDomain: string, now = Date.now()): string {
    if (!sender) return '';
    const at = sender.lastIndexOf('@');
    if (at < 1) return sender;
    const local = sender.slice(0, at);
    const domain = sender.slice(at + 1);
    if (/^srs0=/i.test(local) && domain.toLowerCase() === forwardingDomain.toLowerCase()) return sender; // already ours
    const day = encodeDay(today(now));
    return `SRS0=${hash(this.secret, day, domain, local)}=${day}=${domain}=${local}@${forwardingDomain}`;
  }

  /** The original sender of an SRS address, or null when it is not a valid, fresh SRS0 address of ours. */
  reverse(address: string, now = Date.now()): string | null {
    const at = address.lastIndexOf('@');
    const local = at > 0 ? address.slice(0, at) : address;
    const m = /^SRS0=([^=]{6})=([^=]{2})=([^=]+)=(.+)$/i.exec(local);
    if (!m) return null;
    const [, h, dayRaw, domain, orig] = m as unknown as [string, string, string, string, string];
    const day = dayRaw.toLowerCase();
    const expected = Buffer.from(hash(this.secret, day, domain, orig));
    const given = Buffer.from(h.toLowerCase());
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const d = decodeDay(day);
    if (d === null) return null;
    const age = (today(now) - d + 1024) % 1024;
    if (age > MAX_AGE_DAYS) return null;
    return `${orig}@${domain}`;
  }
}
