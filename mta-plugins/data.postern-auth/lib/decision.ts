/** What to do with a message after SPF/DKIM/DMARC/ARC: deliver, deliver to Junk, or refuse. */
export interface AuthOutcome {
  action: 'accept' | 'junk' | 'reject';
  dmarc: string;
  policy: string | null;
}

interface DmarcLike {
  status?: { result?: string };
  policy?: string;
  pct?: number;
}

/**
 * DMARC failure enforcement (RFC 7489 §6.6.4): p=reject refuses in the session, p=quarantine
 * files into Junk; `pct` samples the enforcement. Anything else is delivered.
 */
export function decide(dmarc: DmarcLike | false | undefined, random: () => number = Math.random): AuthOutcome {
  const result = (dmarc && dmarc.status?.result) || 'none';
  const policy = (dmarc && dmarc.policy) || null;
  if (result !== 'fail' || !policy || policy === 'none') return { action: 'accept', dmarc: result, policy };
  const pct = dmarc && typeof dmarc.pct === 'number' ? dmarc.pct : 100;
  if (random() * 100 >= pct) return { action: 'accept', dmarc: result, policy };
  return { action: policy === 'reject' ? 'reject' : 'junk', dmarc: result, policy };
}
