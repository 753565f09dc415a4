/**
 * One call per inbound recipient instead of two (issue 18): the spam plugin's RCPT hook, which
 * runs first, asks the appliance for the spam decision and the recipient check together
 * (`rcpt.inbound`) and leaves the check here for the routing plugin's hook of the same RCPT
 * command, which takes it instead of asking again. Beside the transaction, never in its notes
 * (Haraka writes notes into queue files); taken once, so a later RCPT of the same address asks
 * afresh.
 */
import type { RcptCheckResult } from '../../appliance/rpc/protocol.js';
import type { HarakaTransaction } from './haraka.js';

const checks = new WeakMap<HarakaTransaction, Map<string, RcptCheckResult>>();

export function leaveRcptCheck(txn: HarakaTransaction, address: string, check: RcptCheckResult): void {
  let m = checks.get(txn);
  if (!m) checks.set(txn, (m = new Map()));
  m.set(address, check);
}

/** The check the spam hook left for this RCPT, if any (removed). */
export function takeRcptCheck(txn: HarakaTransaction | null, address: string): RcptCheckResult | undefined {
  const m = txn ? checks.get(txn) : undefined;
  const check = m?.get(address);
  if (check) m!.delete(address);
  return check;
}
