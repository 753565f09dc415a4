/**
 * The SPF, DKIM, DMARC and ARC checks of one received message (mailauth's `authenticate`),
 * reduced to what the auth plugin uses: the header lines to prepend and the results it counts
 * and decides on. Plain data, so the check can run on the store plugin's message thread (issue
 * 18: off Haraka's event loop) and hand its answer back by postMessage.
 */
import { authenticate } from 'mailauth';
import type { DnsResolveFn } from '../../../appliance/net/resolver.js';

export interface AuthCheckParams {
  ip: string;
  helo: string | undefined;
  sender: string;
  mta: string;
}

export interface AuthCheck {
  /** Received-SPF, Authentication-Results (and ARC, when sealed) lines, as mailauth formats them. */
  headers: string;
  /** The SPF result as the plugin always read it (`false` when mailauth made no SPF check). */
  spf: string | false | undefined;
  dkim: Array<string | undefined>;
  /** What lib/decision.ts reads of the DMARC result (false: no DMARC evaluation). */
  dmarc: { status?: { result?: string }; policy?: string; pct?: number } | false;
}

type Result = Awaited<ReturnType<typeof authenticate>>;

export function summarize(result: Result): AuthCheck {
  const dmarc = result.dmarc as { status?: { result?: string }; policy?: string; pct?: number } | false | undefined;
  return {
    headers: String(result.headers ?? ''),
    spf: result.spf ? (result.spf as { status?: { result?: string } }).status?.result : (result.spf as false | undefined),
    dkim: (result.dkim?.results ?? []).map((r: { status?: { result?: string } }) => r.status?.result),
    dmarc: dmarc ? { status: { result: dmarc.status?.result }, policy: dmarc.policy, pct: dmarc.pct } : false,
  };
}

export async function checkMessage(raw: Buffer, p: AuthCheckParams, resolver: DnsResolveFn): Promise<AuthCheck> {
  return summarize(await authenticate(raw, { ip: p.ip, helo: p.helo, sender: p.sender, mta: p.mta, resolver }));
}
