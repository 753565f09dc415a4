/**
 * Versioned domain templates (CONTROL-MODEL principle 8). A template belongs to a tenant or to
 * the platform (tenant_id null, visible to every tenant, changed by platform actors only); each
 * change is a new version, never an edit. Applying a template version to a domain creates what
 * is missing (default aliases, DKIM keys of the listed algorithms), switches catch-all off when
 * the policy says so, and records the settings, template id and version on the domain
 * (domain_settings). The drift report compares a domain with its template version field by
 * field, and the live state (aliases, catch-all, DKIM keys) with what the settings require.
 * Re-applying fixes drift. Everything is audited.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Domain } from '../../db/tables/control.table.js';
import type { DomainTemplate } from '../../db/tables/portfolio.table.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, isPlatformActor, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { repos } from '../../db/repos/index.js';
import type { TemplatesRepo } from '../../db/repos/templates.js';
import type { Scope } from '../kernel/scope.js';
import { optionalText } from '../kernel/text.js';
import { defaultSettings, effectiveDomainSettings } from './domain-settings.js';
import { requiredLocalParts, roleMailTarget } from '../mailboxes/role-addresses.js';
import { rotateDkim } from '../sending/dkim-keys.service.js';
import { resolveTarget } from '../mailboxes/targets.js';
import { diffSettings, type DriftField, mergeSettings, PLATFORM_DEFAULT_TEMPLATE_ID, type TemplateSettings, type TemplateSettingsInput } from './templates.js';
import { cleanName, iso } from '../kernel/util.js';

export { effectiveDomainSettings } from './domain-settings.js';

export interface TemplateView {
  id: string;
  tenantId: string | null;
  name: string;
  latestVersion: number;
  versions: Array<{ version: number; settings: TemplateSettings; note: string | null; createdBy: string; createdAt: string }>;
  createdAt: string;
  updatedAt: string;
}

export interface DomainTemplateStatus {
  domainId: string;
  domain: string;
  template: { id: string; version: number } | null;
  appliedAt: string | null;
  settings: TemplateSettings;
  drift: DriftField[];
}

export interface TemplateApplyResult {
  domainId: string;
  domain: string;
  template: { id: string; version: number };
  created: string[];
  fixed: DriftField[];
}

const NOTE_MAX = 500;

function defaults(deps: CoreDeps): TemplateSettings {
  return defaultSettings(deps);
}

/** The built-in platform default, as a template view (version 1, never stored). */
function builtInTemplate(deps: CoreDeps): TemplateView {
  const at = iso(0)!;
  return {
    id: PLATFORM_DEFAULT_TEMPLATE_ID,
    tenantId: null,
    name: 'Platform default',
    latestVersion: 1,
    versions: [{ version: 1, settings: defaults(deps), note: 'built in', createdBy: 'system', createdAt: at }],
    createdAt: at,
    updatedAt: at,
  };
}

async function templateView(templates: TemplatesRepo, row: DomainTemplate): Promise<TemplateView> {
  const versions = await templates.versions(row.id);
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    latestVersion: Number(row.latest_version),
    versions: versions.map((v) => ({ version: Number(v.version), settings: JSON.parse(v.settings) as TemplateSettings, note: v.note, createdBy: v.created_by, createdAt: iso(v.created_at)! })),
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

/** The settings of a template version visible to `scope` (version omitted: the latest). */
export async function templateVersionSettings(deps: CoreDeps, scope: Scope, templateId: string, version?: number): Promise<{ version: number; settings: TemplateSettings }> {
  if (templateId === PLATFORM_DEFAULT_TEMPLATE_ID) {
    if (version !== undefined && version !== 1) throw notFound('template version');
    return { version: 1, settings: defaults(deps) };
  }
  const templates = repos(deps.db, scope).templates;
  const row = await templates.get(templateId);
  const v = version ?? Number(row.latest_version);
  const settings = await templates.versionSettings(row.id, v);
  if (settings === undefined) throw notFound('template version');
  return { version: v, settings: JSON.parse(settings) as TemplateSettings };
}

export async function createTemplate(actor: Actor, deps: CoreDeps, tenantId: string | null, input: { name: string; settings?: TemplateSettingsInput; note?: string }): Promise<TemplateView> {
  authorize(actor, 'domains.manage');
  if (tenantId === null && !isPlatformActor(actor)) throw new AppError('Forbidden', 'platform templates are created by operators');
  const scope = scopeOf(actor);
  const r = repos(deps.db, scope);
  const tenant = tenantId === null ? null : await r.tenants.get(tenantId);
  const name = cleanName(input.name, 100);
  if (name === null) throw invalid('name must be 1 to 100 characters', { field: 'name' });
  const settings = mergeSettings(defaults(deps), input.settings);
  const note = optionalText(input.note, 'note', { max: NOTE_MAX });
  const now = deps.now();
  const id = newId('tpl');
  await deps.db.transaction().execute(async (trx) => {
    await repos(trx, scope).templates.create({ id, tenant_id: tenant?.id ?? null, name, settings: JSON.stringify(settings), note, created_by: actor.principalId, now });
    await appendAudit(trx, actor, { action: 'template.create', targetType: 'template', targetId: id, tenantId: tenant?.id ?? null, after: { name, version: 1, settings }, reason: note }, now);
  });
  return templateView(r.templates, await r.templates.get(id));
}

/** A new version: `settings` merged over `basedOn` (default: the latest version). Versions are never edited. */
export async function addTemplateVersion(actor: Actor, deps: CoreDeps, templateId: string, input: { settings?: TemplateSettingsInput; basedOn?: number; note?: string }): Promise<TemplateView> {
  authorize(actor, 'domains.manage');
  const scope = scopeOf(actor);
  if (templateId === PLATFORM_DEFAULT_TEMPLATE_ID) throw new AppError('Conflict', 'the built-in platform default cannot be changed; create a template');
  const templates = repos(deps.db, scope).templates;
  const row = await templates.get(templateId);
  if (row.tenant_id === null && !isPlatformActor(actor)) throw new AppError('Forbidden', 'platform templates are changed by operators');
  const base = await templateVersionSettings(deps, scope, row.id, input.basedOn);
  const settings = mergeSettings(base.settings, input.settings);
  const note = optionalText(input.note, 'note', { max: NOTE_MAX });
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const { version, previousSettings } = await repos(trx, scope).templates.appendVersion(row.id, { settings: JSON.stringify(settings), note, created_by: actor.principalId, now });
    const changes = diffSettings(JSON.parse(previousSettings) as TemplateSettings, settings);
    await appendAudit(
      trx,
      actor,
      {
        action: 'template.version',
        targetType: 'template',
        targetId: row.id,
        tenantId: row.tenant_id,
        before: { version: version - 1 },
        after: { version, basedOn: base.version, changes },
        reason: note,
      },
      now,
    );
  });
  return templateView(templates, await templates.get(row.id));
}

export async function getTemplate(actor: Actor, deps: CoreDeps, templateId: string): Promise<TemplateView> {
  authorize(actor, 'domains.read');
  if (templateId === PLATFORM_DEFAULT_TEMPLATE_ID) return builtInTemplate(deps);
  const templates = repos(deps.db, scopeOf(actor)).templates;
  return templateView(templates, await templates.get(templateId));
}

/** The tenant's templates, the platform templates and the built-in default. */
export async function listTemplates(actor: Actor, deps: CoreDeps, tenantId: string): Promise<TemplateView[]> {
  authorize(actor, 'domains.read');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  const rows = await r.templates.listForTenant(tenant.id, 500);
  return [builtInTemplate(deps), ...(await Promise.all(rows.map((row) => templateView(r.templates, row))))];
}

// ---- drift -------------------------------------------------------------------------------

/** Where the default aliases deliver: the template's target, else the tenant's required-address destination. */
async function aliasTarget(db: CoreDeps['db'], deps: CoreDeps, tenantId: string, s: TemplateSettings): Promise<string> {
  if (s.defaultAliases.target) return s.defaultAliases.target.trim().toLowerCase();
  return (await roleMailTarget(db, deps, tenantId)).address;
}

/** The template's default aliases plus the addresses every domain must have (postmaster, abuse, report address). */
function aliasLocalParts(s: TemplateSettings): string[] {
  return [...new Set([...requiredLocalParts(s.dmarc.reportLocalPart), ...s.defaultAliases.localParts])];
}

/** Differences between what `settings` require and the domain's live state (aliases, catch-all, DKIM keys). */
async function liveDrift(deps: CoreDeps, scope: Scope, domain: Domain, s: TemplateSettings): Promise<DriftField[]> {
  const out: DriftField[] = [];
  const r = repos(deps.db, scope);
  if (!domain.alias_of) {
    const target = await aliasTarget(deps.db, deps, domain.tenant_id, s);
    for (const lp of aliasLocalParts(s)) {
      const address = `${lp}@${domain.name}`;
      if (await r.templates.liveMailboxAt(address)) continue; // a real mailbox answers for it
      const actual = await r.templates.activeAliasTargets(address);
      if (!actual || actual.length !== 1 || actual[0] !== target) out.push({ field: `aliases.${lp}`, expected: [target], actual });
    }
  }
  if (s.catchAll === 'off' && domain.catch_all !== null) out.push({ field: 'catchAll.target', expected: null, actual: domain.catch_all });
  const keys = await r.dkim.live(domain.id);
  for (const alg of s.dkim.algorithms) {
    if (!keys.some((k) => k.algorithm === alg)) out.push({ field: `dkim.keys.${alg}`, expected: 'live', actual: 'missing' });
  }
  return out;
}

async function statusOf(deps: CoreDeps, scope: Scope, domain: Domain): Promise<DomainTemplateStatus> {
  const eff = await effectiveDomainSettings(deps, domain.id);
  const drift: DriftField[] = [];
  let expected = eff.settings;
  if (eff.templateId !== null && eff.templateVersion !== null) {
    const t = await templateVersionSettings(deps, scope, eff.templateId, eff.templateVersion).catch(() => null);
    if (t) {
      expected = t.settings;
      drift.push(...diffSettings(t.settings, eff.settings));
    } else drift.push({ field: 'template', expected: `${eff.templateId} v${eff.templateVersion}`, actual: 'missing' });
  }
  drift.push(...(await liveDrift(deps, scope, domain, expected)));
  return {
    domainId: domain.id,
    domain: domain.name,
    template: eff.templateId === null ? null : { id: eff.templateId, version: eff.templateVersion! },
    appliedAt: iso(eff.appliedAt),
    settings: eff.settings,
    drift,
  };
}

export async function domainTemplateStatus(actor: Actor, deps: CoreDeps, domainId: string): Promise<DomainTemplateStatus> {
  authorize(actor, 'domains.read');
  const scope = scopeOf(actor);
  return statusOf(deps, scope, await repos(deps.db, scope).domains.get(domainId));
}

/** Every domain of a tenant with its template and drift; `onlyDrifted` keeps those that differ. */
export async function tenantDriftReport(actor: Actor, deps: CoreDeps, tenantId: string, opts: { onlyDrifted?: boolean } = {}): Promise<DomainTemplateStatus[]> {
  authorize(actor, 'domains.read');
  const scope = scopeOf(actor);
  const r = repos(deps.db, scope);
  await r.tenants.get(tenantId);
  const out: DomainTemplateStatus[] = [];
  for await (const d of r.domains.eachOfTenant(tenantId)) {
    const s = await statusOf(deps, scope, d);
    if (!opts.onlyDrifted || s.drift.length) out.push(s);
  }
  return out;
}

// ---- apply -------------------------------------------------------------------------------

async function ensureAlias(trx: Transaction<DB>, scope: Scope, actor: Actor, domain: Domain, localPart: string, target: string, now: number): Promise<string | null> {
  const address = `${localPart}@${domain.name}`;
  const templates = repos(trx, scope).templates;
  if (await templates.liveMailboxAt(address)) return null;
  const resolved = await resolveTarget(trx, domain.tenant_id, target, 'defaultAliases.target');
  const existing = await templates.aliasAt(address);
  if (existing && existing.status === 'active') {
    const targets = JSON.parse(existing.targets) as string[];
    if (targets.length === 1 && targets[0] === resolved.address) return null;
    await templates.pointAlias(existing.id, resolved.address, now, false);
    await appendAudit(
      trx,
      actor,
      { action: 'alias.update', targetType: 'alias', targetId: existing.id, tenantId: domain.tenant_id, before: { targets }, after: { targets: [resolved.address] }, reason: 'domain template' },
      now,
    );
    return `${address} → ${resolved.address} (re-pointed)`;
  }
  if (existing) {
    // Reserved by a deleted alias in the recycle bin: bring it back pointed at the template's target.
    await templates.pointAlias(existing.id, resolved.address, now, true);
    await appendAudit(
      trx,
      actor,
      {
        action: 'alias.restore',
        targetType: 'alias',
        targetId: existing.id,
        tenantId: domain.tenant_id,
        before: { status: existing.status },
        after: { status: 'active', targets: [resolved.address] },
        reason: 'domain template',
      },
      now,
    );
    return `${address} → ${resolved.address} (restored)`;
  }
  const id = newId('als');
  await templates.insertAlias({ id, tenant_id: domain.tenant_id, domain_id: domain.id, local_part: localPart, address, target: resolved.address, created_by: actor.principalId, now });
  await appendAudit(
    trx,
    actor,
    {
      action: 'alias.create',
      targetType: 'alias',
      targetId: id,
      tenantId: domain.tenant_id,
      after: { address, targets: [resolved.address], externalTargets: resolved.kind === 'external' ? [resolved.address] : [] },
      reason: 'domain template',
    },
    now,
  );
  return `${address} → ${resolved.address}`;
}

/** Publishes DKIM keys for the template's algorithms the domain lacks (outside any transaction: the sending service generates and audits them). */
async function publishMissingDkim(actor: Actor, deps: CoreDeps, scope: Scope, domain: Domain, s: TemplateSettings): Promise<string[]> {
  const live = await repos(deps.db, scope).dkim.live(domain.id);
  const toPublish = s.dkim.algorithms.filter((a) => !live.some((k) => k.algorithm === a));
  if (!toPublish.length) return [];
  const keys = await rotateDkim(actor, deps, domain.id, { algorithms: toPublish });
  return keys.map((k) => `DKIM ${k.algorithm} ${k.selector} (published)`);
}

/** Inside one transaction: default aliases, catch-all off when the template says so, the recorded settings, the audit event. */
async function applyInTransaction(
  trx: Transaction<DB>,
  actor: Actor,
  deps: CoreDeps,
  scope: Scope,
  domain: Domain,
  t: { id: string; version: number; settings: TemplateSettings },
  before: DomainTemplateStatus,
  reason: string | null,
  created: string[],
): Promise<void> {
  const now = deps.now();
  const r = repos(trx, scope);
  if (!domain.alias_of) {
    const target = await aliasTarget(trx, deps, domain.tenant_id, t.settings);
    for (const lp of aliasLocalParts(t.settings)) {
      const made = await ensureAlias(trx, scope, actor, domain, lp, target, now);
      if (made) created.push(`alias ${made}`);
    }
  }
  const catchAll = await r.domains.catchAll(domain.id);
  if (t.settings.catchAll === 'off' && catchAll !== null) {
    await r.domains.setCatchAll(domain.id, null, now);
    await appendAudit(
      trx,
      actor,
      {
        action: 'domain.catch_all.clear',
        targetType: 'domain',
        targetId: domain.id,
        tenantId: domain.tenant_id,
        before: { catchAll },
        after: { catchAll: null },
        reason: 'domain template: catch-all off',
      },
      now,
    );
    created.push('catch-all switched off');
  }
  await r.templates.putDomainSettings({
    domain_id: domain.id,
    tenant_id: domain.tenant_id,
    settings: JSON.stringify(t.settings),
    template_id: t.id,
    template_version: t.version,
    applied_at: now,
    updated_at: now,
  });
  await appendAudit(
    trx,
    actor,
    {
      action: 'domain.template.apply',
      targetType: 'domain',
      targetId: domain.id,
      tenantId: domain.tenant_id,
      before: { template: before.template, drift: before.drift },
      after: { template: { id: t.id, version: t.version }, settings: t.settings, created },
      reason,
    },
    now,
  );
}

async function applyToDomain(actor: Actor, deps: CoreDeps, scope: Scope, domain: Domain, templateId: string, version: number | undefined, reason: string | null): Promise<TemplateApplyResult> {
  const t = await templateVersionSettings(deps, scope, templateId, version);
  if (templateId !== PLATFORM_DEFAULT_TEMPLATE_ID) {
    const row = await repos(deps.db, scope).templates.get(templateId);
    if (row.tenant_id !== null && row.tenant_id !== domain.tenant_id) throw notFound('template');
  }
  const before = await statusOf(deps, scope, domain);
  const created = await publishMissingDkim(actor, deps, scope, domain, t.settings);
  await deps.db.transaction().execute((trx) => applyInTransaction(trx, actor, deps, scope, domain, { id: templateId, ...t }, before, reason, created));
  const fixed = before.template?.id === templateId && before.template.version === t.version ? before.drift : diffSettings(t.settings, before.settings);
  return { domainId: domain.id, domain: domain.name, template: { id: templateId, version: t.version }, created, fixed };
}

export async function applyTemplate(actor: Actor, deps: CoreDeps, domainId: string, input: { templateId: string; version?: number; reason?: string }): Promise<TemplateApplyResult> {
  authorize(actor, 'domains.manage');
  const scope = scopeOf(actor);
  const domain = await repos(deps.db, scope).domains.get(domainId);
  return applyToDomain(actor, deps, scope, domain, input.templateId, input.version, optionalText(input.reason, 'reason', { max: NOTE_MAX }));
}

/** Applies a template version to every domain of a tenant; one transaction and audit event per domain. */
export async function applyTemplateToTenant(actor: Actor, deps: CoreDeps, tenantId: string, input: { templateId: string; version?: number; reason?: string }): Promise<TemplateApplyResult[]> {
  authorize(actor, 'domains.manage');
  const scope = scopeOf(actor);
  const r = repos(deps.db, scope);
  const tenant = await r.tenants.get(tenantId);
  await templateVersionSettings(deps, scope, input.templateId, input.version);
  const reason = optionalText(input.reason, 'reason', { max: NOTE_MAX });
  const out: TemplateApplyResult[] = [];
  for await (const d of r.domains.eachOfTenant(tenant.id)) out.push(await applyToDomain(actor, deps, scope, d, input.templateId, input.version, reason));
  return out;
}

/**
 * A manual change of a domain's settings (outside its template): recorded and audited, and
 * reported as drift until the template is re-applied.
 */
export async function updateDomainSettings(actor: Actor, deps: CoreDeps, domainId: string, input: { settings: TemplateSettingsInput; reason?: string }): Promise<DomainTemplateStatus> {
  authorize(actor, 'domains.manage');
  const scope = scopeOf(actor);
  const domain = await repos(deps.db, scope).domains.get(domainId);
  const eff = await effectiveDomainSettings(deps, domain.id);
  const settings = mergeSettings(eff.settings, input.settings);
  const changes = diffSettings(eff.settings, settings);
  const reason = optionalText(input.reason, 'reason', { max: NOTE_MAX });
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await repos(trx, scope).templates.changeDomainSettings({
      domain_id: domain.id,
      tenant_id: domain.tenant_id,
      settings: JSON.stringify(settings),
      template_id: eff.templateId,
      template_version: eff.templateVersion,
      applied_at: eff.appliedAt,
      updated_at: now,
    });
    await appendAudit(
      trx,
      actor,
      { action: 'domain.settings.update', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, before: { settings: eff.settings }, after: { changes }, reason },
      now,
    );
  });
  return statusOf(deps, scope, domain);
}
