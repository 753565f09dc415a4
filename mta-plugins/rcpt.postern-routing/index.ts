/**
 * Recipient check at RCPT time against the appliance's database: hosted mailbox, alias or
 * catch-all is accepted; everything else is refused in the session with its reason.
 */
import { call } from '../shared/appliance.js';
import { OK, type HarakaAddress, type HarakaConnection, type HarakaPlugin, type Next, safeHook } from '../shared/haraka.js';
import { refusalReply } from './lib/refusals.js';
import { takeRcptCheck } from '../shared/rcpt-checks.js';

export const hook_rcpt = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection, params: [HarakaAddress]) {
  const rcpt = params[0];
  const address = `${rcpt.user ?? ''}@${rcpt.host ?? ''}`.toLowerCase();
  const txn = connection.transaction;
  // Inbound, the spam plugin's hook asked for it already in this RCPT (shared/rcpt-checks.ts).
  const result = takeRcptCheck(txn, address) ?? (await call('rcpt.check', { address, size: txn?.notes.declaredSize }));
  if (result.ok) {
    if ('srsOriginal' in result && txn) (txn.notes.srs ??= {})[address] = result.srsOriginal;
    txn?.results.add(this, { pass: `rcpt:${address}` });
    return next(OK);
  }
  txn?.results.add(this, { fail: `rcpt:${address}:${result.refusal}` });
  const [code, reply] = refusalReply(result.refusal, address);
  connection.loginfo(this, `recipient refused: ${result.refusal}`, { event: 'smtp.rcpt.reject', refusal: result.refusal });
  next(code, reply);
});
