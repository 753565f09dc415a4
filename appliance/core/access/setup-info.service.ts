/**
 * What a setup or reset link's page shows before the person types anything: the address (or
 * console account) being set up, until when the link works, and the password rules. The secret
 * in the link is the authority, as for redeeming it; a used or expired link answers Gone.
 */
import type { CoreDeps } from '../deps.js';
import { repos } from '../../db/repos/index.js';
import { rowScope } from './access-scope.js';
import { appliedDomainSettings } from '../templates/domain-policy.js';
import { AppError } from '../kernel/errors.js';
import { passwordRules } from './passwords.js';
import { isResetLink } from './resets.service.js';
import { findLiveSetupLink } from './setup-links.js';
import { iso } from '../kernel/util.js';

export interface SetupLinkInfo {
  kind: 'mailbox-setup' | 'mailbox-reset' | 'console-account';
  /** The mailbox address, or the console account's email. */
  address: string;
  /** The console account's name (console-account only). */
  name?: string;
  expiresAt: string;
  passwordRules: string[];
}

export async function describeMailboxLink(deps: CoreDeps, token: string): Promise<SetupLinkInfo> {
  const reset = await isResetLink(deps, token);
  const link = await findLiveSetupLink(deps, token, reset ? 'reset' : 'mailbox-setup');
  // The link's secret is the authority: what it names is read in the link's own scope.
  const m = link.mailbox_id ? await repos(deps.db, rowScope(link.tenant_id)).mailboxes.find(link.mailbox_id) : undefined;
  if (!m) throw new AppError('NotFound', 'setup link not found');
  if (m.status !== 'pending' && m.status !== 'active') throw new AppError('Gone', `this link can no longer be used: the mailbox is ${m.status}`);
  const settings = await appliedDomainSettings(deps, m.domain_id);
  return {
    kind: reset ? 'mailbox-reset' : 'mailbox-setup',
    address: m.address,
    expiresAt: iso(link.expires_at)!,
    passwordRules: passwordRules({ address: m.address, minLength: settings?.passwordPolicy.minLength }),
  };
}

export async function describePrincipalLink(deps: CoreDeps, token: string): Promise<SetupLinkInfo> {
  const link = await findLiveSetupLink(deps, token, 'principal-setup');
  const p = link.principal_id ? await repos(deps.db, rowScope(link.tenant_id)).principals.find(link.principal_id) : undefined;
  if (!p) throw new AppError('NotFound', 'setup link not found');
  if (p.status === 'disabled') throw new AppError('Gone', 'this account is disabled');
  return { kind: 'console-account', address: p.email, name: p.name, expiresAt: iso(link.expires_at)!, passwordRules: passwordRules({ address: p.email }) };
}
