/**
 * What a domain's applied template governs at run time (issue 7: "every domain follows a
 * versioned template"): password policy, external forwarding, catch-all and outbound limits. A
 * domain with no template applied follows the tenant policy and the appliance defaults.
 */
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { assertPasswordPolicy } from '../access/passwords.js';
import type { TemplateSettings } from './templates.js';
import { effectiveDomainSettings } from './domain-settings.js';

/** The settings of the template applied to the domain, or null when none is applied. */
export async function appliedDomainSettings(deps: Pick<CoreDeps, 'db' | 'config' | 'now'>, domainId: string): Promise<TemplateSettings | null> {
  const eff = await effectiveDomainSettings(deps, domainId);
  return eff.recorded ? eff.settings : null;
}

/** The password policy of a mailbox's domain (its template's minimum length, else the default). */
export async function assertMailboxPassword(deps: Pick<CoreDeps, 'db' | 'config' | 'now'>, mailbox: { address: string; domain_id: string }, password: string, field = 'password'): Promise<void> {
  const settings = await appliedDomainSettings(deps, mailbox.domain_id);
  try {
    assertPasswordPolicy(password, { address: mailbox.address, minLength: settings?.passwordPolicy.minLength });
  } catch (err) {
    if (err instanceof AppError && field !== 'password') throw invalid(err.message, { ...err.details, field });
    throw err;
  }
}

/** Refuses a forward to an external address when the domain's template has external forwarding off. */
export async function assertDomainAllowsExternalForwarding(deps: Pick<CoreDeps, 'db' | 'config' | 'now'>, domainId: string): Promise<void> {
  const settings = await appliedDomainSettings(deps, domainId);
  if (settings?.externalForwarding === 'off') {
    throw new AppError('Forbidden', "external forwarding is off by this domain's template", { policy: 'template.externalForwarding' });
  }
}

/** Refuses a catch-all when the domain's template has catch-all off. */
export async function assertDomainAllowsCatchAll(deps: Pick<CoreDeps, 'db' | 'config' | 'now'>, domainId: string): Promise<void> {
  const settings = await appliedDomainSettings(deps, domainId);
  if (settings?.catchAll === 'off') throw new AppError('Forbidden', "a catch-all is off by this domain's template", { policy: 'template.catchAll' });
}

/** Outbound limits per mailbox of the domain's template, or null (appliance defaults). */
export async function domainOutboundLimits(db: CoreDeps['db'], config: CoreDeps['config'], domainId: string): Promise<{ messagesPerHour: number; recipientsPerHour: number } | null> {
  const settings = await appliedDomainSettings({ db, config, now: Date.now }, domainId);
  return settings?.outboundLimits ?? null;
}
