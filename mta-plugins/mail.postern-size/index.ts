/**
 * Message size limit: advertises SIZE (RFC 1870) with our limit, refuses a declared size over it
 * at MAIL FROM and a real size over it after DATA, both with 552 5.3.4.
 */
import { DENY, dsn, type HarakaConnection, type HarakaPlugin, type Next } from '../shared/haraka.js';
import { pluginSettings } from '../shared/appliance.js';

const tooBig = () => dsn(552, '5.3.4', `message size exceeds fixed maximum message size (${pluginSettings().maxMessageBytes} bytes)`);

export function hook_capabilities(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  const max = pluginSettings().maxMessageBytes;
  connection.capabilities = connection.capabilities.filter((c) => !/^SIZE\b/i.test(c));
  connection.capabilities.push(`SIZE ${max}`);
  next();
}

export function hook_mail(this: HarakaPlugin, next: Next, connection: HarakaConnection, params: [unknown, Record<string, string>]): void {
  const declared = Number(params?.[1]?.SIZE ?? params?.[1]?.size ?? 0);
  if (Number.isFinite(declared) && declared > 0) {
    if (connection.transaction) connection.transaction.notes.declaredSize = declared;
    if (declared > pluginSettings().maxMessageBytes) return next(DENY, tooBig());
  }
  next();
}

export function hook_data_post(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  const txn = connection.transaction;
  if (txn && txn.data_bytes > pluginSettings().maxMessageBytes) return next(DENY, tooBig());
  next();
}
