/**
 * Alerts on a sustained login attack (issue 13): the throttle never locks an account, so the
 * people responsible hear about it instead. For a mailbox: its owner of record, its business
 * owner and the tenant's active admins; for a principal: the principal. Sent through the
 * appliance's system mail (the same path as reset notices), after the fact, never blocking a
 * login.
 */
import { repos } from '../../db/repos/index.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import type { AttackAlert } from './login-throttle.js';
import type { AccessDeps } from './policies.js';
import { type MailState, ownerAddresses, sendQuietly } from './resets-common.js';

export async function alertLoginAttack(deps: AccessDeps, alert: AttackAlert): Promise<Array<{ to: string; state: MailState }>> {
  const account = alert.account.replace(/^recovery:/, '');
  const recipients = new Set<string>();
  let what: string;
  // The throttle names an account, not a tenant: the appliance's own job looks it up across tenants.
  const r = repos(deps.db, PLATFORM_SCOPE);
  const mailbox = await r.mailboxes.findByAddress(account);
  if (mailbox) {
    what = `the mailbox ${mailbox.address}`;
    for (const a of ownerAddresses(mailbox)) recipients.add(a);
    for (const email of await r.principals.activeEmails(mailbox.tenant_id)) recipients.add(email.toLowerCase());
  } else {
    const p = await r.principals.byEmail(account);
    if (!p) return [];
    what = `the console account ${p.email}`;
    recipients.add(p.email.toLowerCase());
  }
  const text = [
    `Someone is guessing the password of ${what}: ${alert.failures} failed logins from ${alert.sources} network source(s) in the last minutes (latest: ${alert.lastSource}).`,
    '',
    'The account was not locked: logins from addresses that keep failing are refused, and the right password from anywhere else still works.',
    'If these attempts are not yours, make sure the password is strong and unique, and turn on two-step sign-in where offered.',
    '',
  ].join('\r\n');
  const out: Array<{ to: string; state: MailState }> = [];
  for (const to of recipients) out.push({ to, state: await sendQuietly(deps, to, `Login attack on ${account}`, text) });
  return out;
}
