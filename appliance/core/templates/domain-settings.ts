/**
 * The settings a domain runs with: what its applied template (or a manual change) recorded,
 * merged over the platform default. Read by the serving layer and other features after they
 * authorized the domain, so in the platform scope. Kept apart from templates.service (which
 * publishes DKIM keys through the sending service) so that run-time policy checks do not
 * import the template use cases.
 */
import { repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { mergeSettings, platformDefaultSettings, type TemplateSettings, type TemplateSettingsInput } from './templates.js';

export interface EffectiveSettings {
  settings: TemplateSettings;
  templateId: string | null;
  templateVersion: number | null;
  appliedAt: number | null;
  /** False when nothing was ever recorded for the domain (the platform default applies). */
  recorded: boolean;
}

type SettingsDeps = Pick<CoreDeps, 'db' | 'config'>;

export function defaultSettings(deps: Pick<CoreDeps, 'config'>): TemplateSettings {
  return platformDefaultSettings(deps.config.defaultQuotaBytes);
}

/** What a domain runs with: its recorded settings, or the platform default when no template was applied. */
export async function effectiveDomainSettings(deps: SettingsDeps, domainId: string): Promise<EffectiveSettings> {
  const row = await repos(deps.db, PLATFORM_SCOPE).templates.domainSettings(domainId);
  if (!row) return { settings: defaultSettings(deps), templateId: null, templateVersion: null, appliedAt: null, recorded: false };
  return {
    settings: mergeSettings(defaultSettings(deps), JSON.parse(row.settings) as TemplateSettingsInput),
    templateId: row.template_id,
    templateVersion: row.template_version === null ? null : Number(row.template_version),
    appliedAt: row.applied_at === null ? null : Number(row.applied_at),
    recorded: true,
  };
}
