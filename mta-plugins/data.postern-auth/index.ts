/**
 * Inbound SPF, DKIM, DMARC and ARC checks with mailauth after DATA: adds Received-SPF and
 * Authentication-Results, refuses a DMARC p=reject failure with 550 5.7.1, marks a
 * p=quarantine failure for the Junk folder. DNS goes through the configured resolver. The
 * checks run on the message thread (lib/check.ts there; issue 18), not on Haraka's event loop.
 */
import { pluginSettings } from '../shared/appliance.js';
import { DENY, dsn, type HarakaConnection, type HarakaPlugin, type Next, safeHook } from '../shared/haraka.js';
import { prependRaw, readMessage } from '../shared/message.js';
import { count } from '../shared/metrics.js';
import { messageThread } from '../shared/message-thread.js';
import { decide } from './lib/decision.js';

export const hook_data_post = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  const txn = connection.transaction;
  if (!txn) return next();
  if (connection.relaying) return next(); // authenticated submission is checked by the sending side
  const settings = pluginSettings();
  const raw = await readMessage(txn);
  const sender = txn.mail_from?.isNull() ? '' : txn.mail_from.address;
  const result = await messageThread().authenticate(raw, { ip: connection.remote.ip, helo: connection.hello?.host, sender, mta: settings.hostname });
  const outcome = decide(result.dmarc);
  const { spf, dkim } = result;
  count('inbound.auth', { check: 'spf', result: String(spf ?? 'none') });
  for (const r of dkim.length ? dkim : ['none']) count('inbound.auth', { check: 'dkim', result: String(r ?? 'none') });
  count('inbound.auth', { check: 'dmarc', result: String(outcome.dmarc ?? 'none') });
  txn.results.add(this, {
    spf,
    dkim,
    dmarc: outcome.dmarc,
    policy: outcome.policy,
    action: outcome.action,
  });
  if (outcome.action === 'reject') {
    connection.loginfo(this, 'DMARC policy reject', { event: 'smtp.data.reject', reason: 'dmarc' });
    return next(DENY, dsn(550, '5.7.1', 'message rejected by the sender domain DMARC policy'));
  }
  txn.notes.postern_junk = outcome.action === 'junk';
  prependRaw(txn, result.headers);
  next();
});
