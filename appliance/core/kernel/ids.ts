/**
 * Identifiers and secrets of the control plane. Ids carry a short type prefix (`tnt_`, `dom_`,
 * `mbx_`…) so a log line or an audit event names what it points at. Secrets are 256-bit random
 * strings; only their sha256 is ever stored.
 */
import { hash, randomBytes } from 'node:crypto';

export type IdPrefix = 'tnt' | 'dom' | 'dkm' | 'mbx' | 'als' | 'tok' | 'stp' | 'prn' | 'del' | 'ses' | 'rst' | 'obd' | 'app' | 'tpl' | 'bat' | 'fwd' | 'sag' | 'rte' | 'spl' | 'mgb' | 'mig' | 'grt';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** A fresh secret for a link or API token, URL-safe. `kind` is a readable prefix (`pst` API token, `psu` setup link). */
export function newSecret(kind: 'pst' | 'psu'): string {
  return `${kind}_${randomBytes(32).toString('base64url')}`;
}

/**
 * One-shot hashing (`crypto.hash`): no Hash object per call. Every API request hashes its bearer
 * token to find the kept token answer; createHash's object was ~3% of the serving loop (issue 18).
 */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}
