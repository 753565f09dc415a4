/**
 * DKIM-signs every submitted message from a hosted domain with the domain's active keys (RSA and
 * Ed25519 in one pass; parsed keys kept, see lib/signer.ts), after every other header
 * change, on the store plugin's message thread (shared/message-thread.ts; issue 18). The
 * signature is added to the transaction (for outbound) and to the locally stored copy.
 */
import { isSubmission } from '../shared/appliance.js';
import { kept } from '../shared/kept.js';
import type { HarakaConnection, HarakaPlugin, Next } from '../shared/haraka.js';
import { safeHook } from '../shared/haraka.js';
import { prependRaw, readMessage } from '../shared/message.js';
import { messageThread } from '../shared/message-thread.js';
import { count } from '../shared/metrics.js';
import { dkimSignCached } from './lib/signer.js';

export const hook_data_post = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  const txn = connection.transaction;
  if (!txn || !isSubmission(connection) || !txn.notes.signing_domain) return next();
  const domain = String(txn.notes.signing_domain);
  const keys = await kept('dkim.keys', domain.toLowerCase(), { domain }); // kept until a key or domain changes (shared/kept.ts)
  if (!keys.length) return next();
  const raw = await readMessage(txn);
  const data = keys.map((k) => ({ signingDomain: domain, selector: k.selector, privateKey: k.privateKey, algorithm: k.algorithm }));
  // On the message thread (issue 18: off Haraka's event loop); here when the thread failed.
  const result = await messageThread()
    .sign(raw, data)
    .catch(() => dkimSignCached(raw, data));
  if (result.errors.length) connection.logwarn(this, 'DKIM signing errors', { errors: result.errors });
  const signatures = result.signatures;
  // Each signature: "DKIM-Signature: <value>\r\n" with folded continuation lines.
  const headers = signatures.split(/\r?\n(?=DKIM-Signature:)/i).filter((h) => h.trim());
  for (const h of [...headers].reverse()) {
    const value = h
      .replace(/^DKIM-Signature:\s*/i, '')
      .replace(/\r?\n$/, '')
      .replace(/\r\n/g, '\n');
    txn.add_leading_header('DKIM-Signature', value);
  }
  prependRaw(txn, signatures);
  for (const h of headers) count('dkim.signed', { algorithm: /\ba=ed25519-sha256/i.test(h) ? 'ed25519-sha256' : 'rsa-sha256' });
  txn.results.add(this, { pass: 'dkim-signed', selectors: keys.map((k) => k.selector) });
  next();
});
