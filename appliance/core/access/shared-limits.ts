/**
 * Which limits a node uses (issue 17): one node (SQLite) keeps the login throttle and the send
 * windows in memory (no query added to a login or a submission); a cluster (PostgreSQL, the
 * shared database) keeps them in `rate_windows` so every node counts the same failures and
 * submissions, and the control plane's idempotency keys in `idempotency_keys`.
 */
import type { Executor } from '../../db/repos/index.js';
import { repos } from '../../db/repos/index.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import type { CoreDeps } from '../deps.js';
import { MemorySendWindows, type SendWindows, SharedSendWindows } from '../sending/send-windows.js';
import { type LoginGate, LoginThrottle } from './login-throttle.js';
import { SharedLoginThrottle } from './login-throttle-shared.js';

export interface SharedLimits {
  shared: boolean;
  loginThrottle: LoginGate;
  sendWindows: SendWindows;
}

export function limitsFor(db: Executor, shared: boolean, sendWindowMs: number): SharedLimits {
  if (!shared) return { shared, loginThrottle: new LoginThrottle(), sendWindows: new MemorySendWindows(sendWindowMs) };
  return { shared, loginThrottle: new SharedLoginThrottle(db), sendWindows: new SharedSendWindows(db, sendWindowMs) };
}

/** Housekeeping: rate windows older than two of the longest window, expired idempotency keys. */
export async function pruneSharedLimits(core: Pick<CoreDeps, 'db'>, now: number, longestWindowMs = 24 * 3600_000): Promise<number> {
  const r = repos(core.db, PLATFORM_SCOPE);
  return (await r.rateWindows.prune(now - 2 * longestWindowMs, now)) + (await r.idempotency.prune(now));
}
