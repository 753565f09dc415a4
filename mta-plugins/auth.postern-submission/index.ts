/**
 * Authenticated submission (RFC 6409 on 587 with STARTTLS, RFC 8314 on 465): AUTH PLAIN and
 * LOGIN only after TLS, verified by the appliance's one credential module (shared throttling);
 * every transaction re-checks that the credential still holds (a reset or suspension stops the
 * next message: 535 5.7.8); the envelope sender and From: must be addresses the mailbox may
 * send as (550 5.7.1); per-mailbox and per-tenant limits answer 451 4.7.1.
 */
import { call, isSubmission, type SubmissionAuth } from '../shared/appliance.js';
import { DENY, DENYDISCONNECT, DENYSOFT, dsn, type HarakaAddress, type HarakaConnection, type HarakaPlugin, type Next, OK, safeHook } from '../shared/haraka.js';
import { refusalReply } from '../rcpt.postern-routing/lib/refusals.js';
import { headerAddresses } from './lib/addresses.js';
import { markAuthenticated } from '../shared/limits.js';

const METHODS = ['PLAIN', 'LOGIN'];

export function register(this: HarakaPlugin & { inherits(name: string): void }): void {
  this.inherits('auth/auth_base');
}

export function hook_capabilities(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  if (isSubmission(connection) && connection.tls.enabled) {
    connection.capabilities.push(`AUTH ${METHODS.join(' ')}`);
    connection.notes.allowed_auth_methods = METHODS;
  }
  next();
}

/** Called by auth_base with the decoded credentials; cb(valid, {code, message}). */
export function check_plain_passwd(this: HarakaPlugin, connection: HarakaConnection, user: string, passwd: string, cb: (valid: boolean, opts?: { code: number; message: string }) => void): void {
  if (!isSubmission(connection) || !connection.tls.enabled) {
    cb(false, { code: 538, message: '5.7.11 Encryption required for requested authentication mechanism' });
    return;
  }
  call('auth.login', { username: user, password: passwd, remoteAddress: connection.remote.ip }).then(
    (r) => {
      if (r.ok) {
        connection.notes.postern_auth = {
          mailboxId: r.mailboxId,
          tenantId: r.tenantId,
          address: r.address,
          credentialVersion: r.credentialVersion,
          credentialId: r.credentialId,
        } satisfies SubmissionAuth;
        connection.loginfo(this, 'authenticated', { event: 'smtp.auth.ok', mailboxId: r.mailboxId });
        markAuthenticated(connection);
        return cb(true);
      }
      connection.loginfo(this, 'authentication failed', { event: 'smtp.auth.fail', reason: r.reason });
      if (r.reason === 'throttled') return cb(false, { code: 454, message: '4.7.0 Too many failed attempts, try again later' });
      cb(false, { code: 535, message: '5.7.8 Authentication credentials invalid' });
    },
    () => cb(false, { code: 454, message: '4.7.0 Temporary authentication failure' }),
  );
}

function auth(connection: HarakaConnection): SubmissionAuth | undefined {
  return connection.notes.postern_auth as SubmissionAuth | undefined;
}

export const hook_mail = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection, params: [HarakaAddress]) {
  if (!isSubmission(connection)) return next();
  const a = auth(connection);
  if (!a) return next(DENY, dsn(530, '5.7.0', 'Authentication required'));
  const from = params[0];
  const address = from.isNull() ? '' : from.address.toLowerCase();
  // One call: the credential check first (a reset or suspension stops this message), then send-as.
  const mail = await call('submit.mail', { mailboxId: a.mailboxId, credentialVersion: a.credentialVersion, credentialId: a.credentialId, address });
  if (!mail.current) {
    connection.loginfo(this, 'credential no longer valid', { event: 'smtp.auth.revoked', mailboxId: a.mailboxId });
    delete connection.notes.postern_auth;
    connection.relaying = false;
    return next(DENYDISCONNECT, dsn(535, '5.7.8', 'Authentication credentials no longer valid'));
  }
  if (from.isNull()) return next(DENY, dsn(550, '5.7.1', 'the null sender is not accepted for submission'));
  if (!mail.maySend) {
    connection.loginfo(this, 'sender refused', { event: 'smtp.mail.reject', reason: 'send-as' });
    return next(DENY, dsn(550, '5.7.1', `${a.address} is not allowed to send as ${address}`));
  }
  // The usual From: is this address: the DATA check does not ask again in this transaction.
  if (connection.transaction) connection.transaction.notes.postern_sender_ok = address;
  next();
});

export const hook_rcpt = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection, params: [HarakaAddress]) {
  if (!isSubmission(connection)) return next();
  const txn = connection.transaction;
  if (!auth(connection) || !txn) return next(DENY, dsn(530, '5.7.0', 'Authentication required'));
  const rcpt = params[0];
  const address = `${rcpt.user ?? ''}@${rcpt.host ?? ''}`.toLowerCase();
  const local = await call('rcpt.check', { address });
  const notes = (txn.notes.submission ??= { local: [] as string[], remote: [] as string[] }) as { local: string[]; remote: string[] };
  if (local.ok) {
    notes.local.push(address);
    return next(OK);
  }
  if (local.refusal === 'not-hosted') {
    notes.remote.push(address);
    return next(OK);
  }
  const [code, reply] = refusalReply(local.refusal, address);
  next(code, reply);
});

export const hook_data_post = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  if (!isSubmission(connection)) return next();
  const a = auth(connection);
  const txn = connection.transaction;
  if (!a || !txn) return next(DENY, dsn(530, '5.7.0', 'Authentication required'));
  const fromHeaders = txn.header.get_all('From');
  const froms = fromHeaders.flatMap((h) => headerAddresses(h));
  if (!froms.length) return next(DENY, dsn(550, '5.7.1', 'a From: header with an address is required'));
  for (const f of froms) {
    if (f === txn.notes.postern_sender_ok) continue;
    if (!(await call('submit.sender', { mailboxId: a.mailboxId, address: f }))) {
      connection.loginfo(this, 'From header refused', { event: 'smtp.data.reject', reason: 'from-header' });
      return next(DENY, dsn(550, '5.7.1', `${a.address} is not allowed to send as ${f} (From: header)`));
    }
  }
  const remote = ((txn.notes.submission as { remote?: string[] } | undefined)?.remote ?? []).length;
  if (remote > 0) {
    const decision = await call('submit.admit', { mailboxId: a.mailboxId, tenantId: a.tenantId, recipients: remote });
    if (!decision.ok) {
      if (decision.reason === 'blocked') return next(DENY, dsn(550, '5.7.1', decision.message));
      return next(DENYSOFT, dsn(451, '4.7.1', decision.message));
    }
  }
  txn.notes.signing_domain = froms[0]!.slice(froms[0]!.lastIndexOf('@') + 1);
  next();
});
