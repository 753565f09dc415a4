/**
 * Connection-level checks, cheap enough to run before DATA: a sliding per-IP counter
 * (connections and recipients per minute) and DNS block list look-ups (`<reversed ip>.<zone>`
 * A records, through the configured resolver).
 */
import { isIP } from 'node:net';

/** Events per key in the last minute, in 6 ten-second slots (bounded memory, pruned as it goes). */
export class PerMinute {
  private readonly slots = new Map<string, { at: number[]; n: number[] }>();
  private lastPrune = 0;

  constructor(private readonly slotMs = 10_000) {}

  /** Adds one event and returns the count over the last minute including it. */
  hit(key: string, now = Date.now()): number {
    const slot = Math.floor(now / this.slotMs);
    let e = this.slots.get(key);
    if (!e) this.slots.set(key, (e = { at: new Array(6).fill(-1), n: new Array(6).fill(0) }));
    const i = slot % 6;
    if (e.at[i] !== slot) {
      e.at[i] = slot;
      e.n[i] = 0;
    }
    e.n[i]!++;
    let sum = 0;
    for (let j = 0; j < 6; j++) if (slot - e.at[j]! < 6) sum += e.n[j]!;
    if (now - this.lastPrune > 60_000) this.prune(slot);
    return sum;
  }

  private prune(slot: number): void {
    this.lastPrune = slot * this.slotMs;
    for (const [k, e] of this.slots) if (e.at.every((a) => slot - a >= 6)) this.slots.delete(k);
  }
}

/** The DNSBL query name of an address in a zone (IPv4 octets or IPv6 nibbles reversed). */
export function dnsblName(ip: string, zone: string): string | null {
  const v = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  const family = isIP(v);
  if (family === 4) return `${v.split('.').reverse().join('.')}.${zone}`;
  if (family !== 6) return null;
  const [head, tail] = v.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail !== undefined ? [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const nibbles = groups
    .map((g) => g.padStart(4, '0'))
    .join('')
    .split('');
  return `${nibbles.reverse().join('.')}.${zone}`;
}
