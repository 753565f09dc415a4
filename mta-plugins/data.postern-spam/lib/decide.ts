/**
 * Pure decisions of the spam plugin: the per-message rspamd Settings from the tenant's policy,
 * the verdict from rspamd's answer, and the headers that report it. No Haraka, no I/O.
 */
import type { CheckResult } from './rspamd.js';

export interface Policy {
  junkScore: number;
  rejectScore: number;
  greylisting: boolean;
  failMode: 'tempfail' | 'accept';
}

export type Verdict = 'clean' | 'junk' | 'reject' | 'greylist';

const GREYLIST_SYMBOLS = ['GREYLIST_SAVE', 'GREYLIST_CHECK'];

/**
 * rspamd Settings for one message: the tenant's thresholds as rspamd actions; greylisting on
 * lowers the greylist action below any score (every new triplet waits once), off (or an
 * allow-listed sender, or an authenticated submission) disables the greylist module.
 */
export function settingsFor(policy: Policy, opts: { greylist: boolean }): Record<string, unknown> {
  const actions: Record<string, number | null> = { reject: policy.rejectScore, 'add header': policy.junkScore, 'rewrite subject': null };
  if (opts.greylist) return { actions: { ...actions, greylist: -1000 } };
  return { actions: { ...actions, greylist: null }, symbols_disabled: GREYLIST_SYMBOLS };
}

/** rspamd's action (computed with our Settings) and score against the policy. */
export function verdictOf(result: CheckResult, policy: Policy): Verdict {
  if (result.action === 'reject' || result.score >= policy.rejectScore) return 'reject';
  if (result.action === 'soft reject' || result.action === 'greylist') return 'greylist';
  if (result.action === 'add header' || result.action === 'rewrite subject' || result.score >= policy.junkScore) return 'junk';
  return 'clean';
}

/** X-Spam-* and an Authentication-Results-style line; only this message's own figures. */
export function spamHeaders(hostname: string, result: CheckResult, verdict: Verdict | 'allowed', policy: Policy): Array<[string, string]> {
  const score = result.score.toFixed(2);
  const spam = verdict === 'junk' || verdict === 'reject';
  const symbols = result.symbols
    .filter((s) => s.score !== 0)
    .sort((a, b) => Math.abs(b.score) - Math.abs(a.score))
    .slice(0, 20)
    .map((s) => `${s.name}(${s.score.toFixed(2)})`)
    .join(', ');
  const headers: Array<[string, string]> = [
    ['X-Spam-Flag', spam ? 'YES' : 'NO'],
    ['X-Spam-Score', score],
    ['X-Spam-Status', `${spam ? 'Yes' : 'No'}, score=${score} junk=${policy.junkScore.toFixed(2)} reject=${policy.rejectScore.toFixed(2)} verdict=${verdict}`],
  ];
  if (symbols) headers.push(['X-Spam-Symbols', symbols]);
  headers.push(['Authentication-Results', `${hostname}; x-spam=${spam ? 'fail' : 'pass'} (verdict=${verdict}) x-spam-score=${score}`]);
  return headers;
}
