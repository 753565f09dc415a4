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
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Domain } from '../../db/tables/control.table.js';
import type { DomainTemplate } from '../../db/tables/portfolio.table.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, isPlatformActor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { scopedRepo, type Scope, scopeOf } from '../../db/repo.js';
import { requiredLocalParts, roleMailTarget } from '../mailboxes/role-addresses.js';
import { rotateDkim } from '../sending/dkim-keys.service.js';
import { resolveTarget } from '../mailboxes/targets.js';
import {
  diffSettings,
  type DriftField,
  mergeSettings,
  PLATFORM_DEFAULT_TEMPLATE_ID,
  platformDefaultSettings,
  type TemplateSettings,
  type TemplateSettingsInput,
} from './templates.js';
import { cleanName, iso } from '../kernel/util.js';

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

function cleanNote(raw: string | undefined | null): string | null {
  if (raw === undefined || raw === null) return null;
  const s = cleanName(raw, NOTE_MAX);
  if (s === null) throw invalid(`note must be 1 to ${NOTE_MAX} characters`, { field: 'note' });
  return s;
}

function defaults(deps: CoreDeps): TemplateSettings {
  return platformDefaultSettings(deps.config.defaultQuotaBytes);
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

/** A template visible in `scope`: the tenant's own or a platform template. */
async function templateRow(db: Kysely<DB>, scope: Scope, templateId: string): Promise<DomainTemplate> {
  let q = db.selectFrom('domain_templates').selectAll().where('id', '=', templateId);
  if (scope.tenantId !== null) q = q.where((eb) => eb.or([eb('tenant_id', '=', scope.tenantId), eb('tenant_id', 'is', null)]));
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('template');
  return row;
}

async function templateView(db: Kysely<DB>, row: DomainTemplate): Promise<TemplateView> {
  const versions = await db.selectFrom('domain_template_versions').selectAll().where('template_id', '=', row.id).orderBy('version').execute();
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
  const row = await templateRow(deps.db, scope, templateId);
  const v = version ?? Number(row.latest_version);
  const ver = await deps.db.selectFrom('domain_template_versions').select('settings').where('template_id', '=', row.id).where('version', '=', v).executeTakeFirst();
  if (!ver) throw notFound('template version');
  return { version: v, settings: JSON.parse(ver.settings) as TemplateSettings };
}

/** What a domain runs with: its recorded settings, or the platform default when no template was applied. */
export async function effectiveDomainSettings(deps: CoreDeps, domainId: string): Promise<{ settings: TemplateSettings; templateId: string | null; templateVersion: number | null; appliedAt: number | null }> {
  const row = await deps.db.selectFrom('domain_settings').selectAll().where('domain_id', '=', domainId).executeTakeFirst();
  if (!row) return { settings: defaults(deps), templateId: null, templateVersion: null, appliedAt: null };
  return { settings: mergeSettings(defaults(deps), JSON.parse(row.settings) as TemplateSettingsInput), templateId: row.template_id, templateVersion: row.template_version === null ? null : Number(row.template_version), appliedAt: row.applied_at === null ? null : Number(row.applied_at) };
}

export async function createTemplate(actor: Actor, deps: CoreDeps, tenantId: string | null, input: { name: string; settings?: TemplateSettingsInput; note?: string }): Promise<TemplateView> {
  authorize(actor, 'domains.manage');
  if (tenantId === null && !isPlatformActor(actor)) throw new AppError('Forbidden', 'platform templates are created by operators');
  const tenant = tenantId === null ? null : await scopedRepo(deps.db, actor).tenant(tenantId);
  const name = cleanName(input.name, 100);
  if (name === null) throw invalid('name must be 1 to 100 characters', { field: 'name' });
  const settings = mergeSettings(defaults(deps), input.settings);
  const note = cleanNote(input.note);
  const now = deps.now();
  const id = `tpl_${randomBytes(12).toString('hex')}`;
  await deps.db.transaction().execute(async (trx) => {
    await trx.insertInto('domain_templates').values({ id, tenant_id: tenant?.id ?? null, name, latest_version: 1, created_by: actor.principalId, created_at: now, updated_at: now }).execute();
    await trx.insertInto('domain_template_versions').values({ template_id: id, version: 1, settings: JSON.stringify(settings), note, created_by: actor.principalId, created_at: now }).execute();
    await appendAudit(trx, actor, { action: 'template.create', targetType: 'template', targetId: id, tenantId: tenant?.id ?? null, after: { name, version: 1, settings }, reason: note }, now);
  });
  return templateView(deps.db, (await deps.db.selectFrom('domain_templates').selectAll().where('id', '=', id).executeTakeFirstOrThrow()));
}

/** A new version: `settings` merged over `basedOn` (default: the latest version). Versions are never edited. */
export async function addTemplateVersion(actor: Actor, deps: CoreDeps, templateId: string, input: { settings?: TemplateSettingsInput; basedOn?: number; note?: string }): Promise<TemplateView> {
  authorize(actor, 'domains.manage');
  const scope = scopeOf(actor);
  if (templateId === PLATFORM_DEFAULT_TEMPLATE_ID) throw new AppError('Conflict', 'the built-in platform default cannot be changed; create a template');
  const row = await templateRow(deps.db, scope, templateId);
  if (row.tenant_id === null && !isPlatformActor(actor)) throw new AppError('Forbidden', 'platform templates are changed by operators');
  const base = await templateVersionSettings(deps, scope, row.id, input.basedOn);
  const settings = mergeSettings(base.settings, input.settings);
  const note = cleanNote(input.note);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('domain_templates').select('latest_version').where('id', '=', row.id).executeTakeFirstOrThrow();
    const version = Number(current.latest_version) + 1;
    const prev = await trx.selectFrom('domain_template_versions').select('settings').where('template_id', '=', row.id).where('version', '=', Number(current.latest_version)).executeTakeFirstOrThrow();
    await trx.insertInto('domain_template_versions').values({ template_id: row.id, version, settings: JSON.stringify(settings), note, created_by: actor.principalId, created_at: now }).execute();
    await trx.updateTable('domain_templates').set({ latest_version: version, updated_at: now }).where('id', '=', row.id).execute();
    const changes = diffSettings(JSON.parse(prev.settings) as TemplateSettings, settings);
    await appendAudit(
      trx,
      actor,
      { action: 'template.version', targetType: 'template', targetId: row.id, tenantId: row.tenant_id, before: { version: version - 1 }, after: { version, basedOn: base.version, changes }, reason: note },
      now,
    );
  });
  return templateView(deps.db, await templateRow(deps.db, scope, row.id));
}

export async function getTemplate(actor: Actor, deps: CoreDeps, templateId: string): Promise<TemplateView> {
  authorize(actor, 'domains.read');
  if (templateId === PLATFORM_DEFAULT_TEMPLATE_ID) return builtInTemplate(deps);
  return templateView(deps.db, await templateRow(deps.db, scopeOf(actor), templateId));
}

/** The tenant's templates, the platform templates and the built-in default. */
export async function listTemplates(actor: Actor, deps: CoreDeps, tenantId: string): Promise<TemplateView[]> {
  authorize(actor, 'domains.read');
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
  const rows = await deps.db
    .selectFrom('domain_templates')
    .selectAll()
    .where((eb) => eb.or([eb('tenant_id', '=', tenant.id), eb('tenant_id', 'is', null)]))
    .orderBy('created_at')
    .limit(500)
    .execute();
  return [builtInTemplate(deps), ...(await Promise.all(rows.map((r) => templateView(deps.db, r))))];
}

// ---- drift -------------------------------------------------------------------------------

/** Where the default aliases deliver: the template's target, else the tenant's required-address destination. */
async function aliasTarget(db: Kysely<DB>, deps: CoreDeps, tenantId: string, s: TemplateSettings): Promise<string> {
  if (s.defaultAliases.target) return s.defaultAliases.target.trim().toLowerCase();
  return (await roleMailTarget(db, deps, tenantId)).address;
}

/** The template's default aliases plus the addresses every domain must have (postmaster, abuse, report address). */
function aliasLocalParts(s: TemplateSettings): string[] {
  return [...new Set([...requiredLocalParts(s.dmarc.reportLocalPart), ...s.defaultAliases.localParts])];
}

/** Differences between what `settings` require and the domain's live state (aliases, catch-all, DKIM keys). */
async function liveDrift(db: Kysely<DB>, deps: CoreDeps, domain: Domain, s: TemplateSettings): Promise<DriftField[]> {
  const out: DriftField[] = [];
  if (!domain.alias_of) {
    const target = await aliasTarget(db, deps, domain.tenant_id, s);
    for (const lp of aliasLocalParts(s)) {
      const address = `${lp}@${domain.name}`;
      const mb = await db.selectFrom('mailboxes').select('id').where('address', '=', address).where('status', '!=', 'deleted').executeTakeFirst();
      if (mb) continue; // a real mailbox answers for it
      const al = await db.selectFrom('aliases').select('targets').where('address', '=', address).where('status', '=', 'active').executeTakeFirst();
      const actual = al ? (JSON.parse(al.targets) as string[]) : null;
      if (!actual || actual.length !== 1 || actual[0] !== target) out.push({ field: `aliases.${lp}`, expected: [target], actual });
    }
  }
  if (s.catchAll === 'off' && domain.catch_all !== null) out.push({ field: 'catchAll.target', expected: null, actual: domain.catch_all });
  const keys = await db.selectFrom('dkim_keys').select(['algorithm']).where('domain_id', '=', domain.id).where('status', 'in', ['active', 'published']).execute();
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
  drift.push(...(await liveDrift(deps.db, deps, domain, expected)));
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
  const repo = scopedRepo(deps.db, actor);
  return statusOf(deps, repo.scope, await repo.domain(domainId));
}

/** Every domain of a tenant with its template and drift; `onlyDrifted` keeps those that differ. */
export async function tenantDriftReport(actor: Actor, deps: CoreDeps, tenantId: string, opts: { onlyDrifted?: boolean } = {}): Promise<DomainTemplateStatus[]> {
  authorize(actor, 'domains.read');
  const repo = scopedRepo(deps.db, actor);
  await repo.tenant(tenantId);
  const out: DomainTemplateStatus[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await repo.listDomains(tenantId, { limit: 500, after });
    for (const d of page) {
      const s = await statusOf(deps, repo.scope, d);
      if (!opts.onlyDrifted || s.drift.length) out.push(s);
    }
    if (page.length < 500) break;
    after = page[page.length - 1]!.id;
  }
  return out;
}

// ---- apply -------------------------------------------------------------------------------

async function ensureAlias(trx: Transaction<DB>, actor: Actor, deps: CoreDeps, domain: Domain, localPart: string, target: string, now: number): Promise<string | null> {
  const address = `${localPart}@${domain.name}`;
  const mb = await trx.selectFrom('mailboxes').select('id').where('address', '=', address).where('status', '!=', 'deleted').executeTakeFirst();
  if (mb) return null;
  const resolved = await resolveTarget(trx, domain.tenant_id, target, 'defaultAliases.target');
  const existing = await trx.selectFrom('aliases').selectAll().where('address', '=', address).executeTakeFirst();
  if (existing && existing.status === 'active') {
    const targets = JSON.parse(existing.targets) as string[];
    if (targets.length === 1 && targets[0] === resolved.address) return null;
    await trx.updateTable('aliases').set({ targets: JSON.stringify([resolved.address]), updated_at: now }).where('id', '=', existing.id).execute();
    await appendAudit(trx, actor, { action: 'alias.update', targetType: 'alias', targetId: existing.id, tenantId: domain.tenant_id, before: { targets }, after: { targets: [resolved.address] }, reason: 'domain template' }, now);
    return `${address} → ${resolved.address} (re-pointed)`;
  }
  if (existing) {
    // Reserved by a deleted alias in the recycle bin: bring it back pointed at the template's target.
    await trx.updateTable('aliases').set({ status: 'active', targets: JSON.stringify([resolved.address]), deleted_with: null, updated_at: now }).where('id', '=', existing.id).execute();
    await appendAudit(trx, actor, { action: 'alias.restore', targetType: 'alias', targetId: existing.id, tenantId: domain.tenant_id, before: { status: existing.status }, after: { status: 'active', targets: [resolved.address] }, reason: 'domain template' }, now);
    return `${address} → ${resolved.address} (restored)`;
  }
  const id = newId('als');
  await trx
    .insertInto('aliases')
    .values({ id, tenant_id: domain.tenant_id, domain_id: domain.id, local_part: localPart, address, targets: JSON.stringify([resolved.address]), created_by: actor.principalId, created_at: now, updated_at: now })
    .execute();
  await appendAudit(
    trx,
    actor,
    { action: 'alias.create', targetType: 'alias', targetId: id, tenantId: domain.tenant_id, after: { address, targets: [resolved.address], externalTargets: resolved.kind === 'external' ? [resolved.address] : [] }, reason: 'domain template' },
    now,
  );
  return `${address} → ${resolved.address}`;
}

async function applyToDomain(actor: Actor, deps: CoreDeps, scope: Scope, domain: Domain, templateId: string, version: number | undefined, reason: string | null): Promise<TemplateApplyResult> {
  const t = await templateVersionSettings(deps, scope, templateId, version);
  if (templateId !== PLATFORM_DEFAULT_TEMPLATE_ID) {
    const row = await templateRow(deps.db, scope, templateId);
    if (row.tenant_id !== null && row.tenant_id !== domain.tenant_id) throw notFound('template');
  }
  const before = await statusOf(deps, scope, domain);
  const created: string[] = [];
  // DKIM keys are generated outside the transaction (the sending service publishes them, audited).
  const keysNow = await deps.db.selectFrom('dkim_keys').select('algorithm').where('domain_id', '=', domain.id).where('status', 'in', ['active', 'published']).execute();
  const toPublish = t.settings.dkim.algorithms.filter((a) => !keysNow.some((k) => k.algorithm === a));
  if (toPublish.length) {
    const keys = await rotateDkim(actor, deps, domain.id, { algorithms: toPublish });
    created.push(...keys.map((k) => `DKIM ${k.algorithm} ${k.selector} (published)`));
  }
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    if (!domain.alias_of) {
      const target = await aliasTarget(trx, deps, domain.tenant_id, t.settings);
      for (const lp of aliasLocalParts(t.settings)) {
        const made = await ensureAlias(trx, actor, deps, domain, lp, target, now);
        if (made) created.push(`alias ${made}`);
      }
    }
    const fresh = await trx.selectFrom('domains').select('catch_all').where('id', '=', domain.id).executeTakeFirstOrThrow();
    if (t.settings.catchAll === 'off' && fresh.catch_all !== null) {
      await trx.updateTable('domains').set({ catch_all: null, updated_at: now }).where('id', '=', domain.id).where('tenant_id', '=', domain.tenant_id).execute();
      await appendAudit(trx, actor, { action: 'domain.catch_all.clear', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, before: { catchAll: fresh.catch_all }, after: { catchAll: null }, reason: 'domain template: catch-all off' }, now);
      created.push('catch-all switched off');
    }
    const values = { settings: JSON.stringify(t.settings), template_id: templateId, template_version: t.version, applied_at: now, updated_at: now };
    await trx
      .insertInto('domain_settings')
      .values({ domain_id: domain.id, tenant_id: domain.tenant_id, ...values })
      .onConflict((oc) => oc.column('domain_id').doUpdateSet(values))
      .execute();
    await appendAudit(
      trx,
      actor,
      {
        action: 'domain.template.apply',
        targetType: 'domain',
        targetId: domain.id,
        tenantId: domain.tenant_id,
        before: { template: before.template, drift: before.drift },
        after: { template: { id: templateId, version: t.version }, settings: t.settings, created },
        reason,
      },
      now,
    );
  });
  return { domainId: domain.id, domain: domain.name, template: { id: templateId, version: t.version }, created, fixed: before.template?.id === templateId && before.template.version === t.version ? before.drift : diffSettings(t.settings, before.settings) };
}

export async function applyTemplate(actor: Actor, deps: CoreDeps, domainId: string, input: { templateId: string; version?: number; reason?: string }): Promise<TemplateApplyResult> {
  authorize(actor, 'domains.manage');
  const repo = scopedRepo(deps.db, actor);
  const domain = await repo.domain(domainId);
  return applyToDomain(actor, deps, repo.scope, domain, input.templateId, input.version, cleanNote(input.reason));
}

/** Applies a template version to every domain of a tenant; one transaction and audit event per domain. */
export async function applyTemplateToTenant(actor: Actor, deps: CoreDeps, tenantId: string, input: { templateId: string; version?: number; reason?: string }): Promise<TemplateApplyResult[]> {
  authorize(actor, 'domains.manage');
  const repo = scopedRepo(deps.db, actor);
  const tenant = await repo.tenant(tenantId);
  await templateVersionSettings(deps, repo.scope, input.templateId, input.version);
  const reason = cleanNote(input.reason);
  const out: TemplateApplyResult[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await repo.listDomains(tenant.id, { limit: 500, after });
    for (const d of page) out.push(await applyToDomain(actor, deps, repo.scope, d, input.templateId, input.version, reason));
    if (page.length < 500) break;
    after = page[page.length - 1]!.id;
  }
  return out;
}

/**
 * A manual change of a domain's settings (outside its template): recorded and audited, and
 * reported as drift until the template is re-applied.
 */
export async function updateDomainSettings(actor: Actor, deps: CoreDeps, domainId: string, input: { settings: TemplateSettingsInput; reason?: string }): Promise<DomainTemplateStatus> {
  authorize(actor, 'domains.manage');
  const repo = scopedRepo(deps.db, actor);
  const domain = await repo.domain(domainId);
  const eff = await effectiveDomainSettings(deps, domain.id);
  const settings = mergeSettings(eff.settings, input.settings);
  const changes = diffSettings(eff.settings, settings);
  const reason = cleanNote(input.reason);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('domain_settings')
      .values({ domain_id: domain.id, tenant_id: domain.tenant_id, settings: JSON.stringify(settings), template_id: eff.templateId, template_version: eff.templateVersion, applied_at: eff.appliedAt, updated_at: now })
      .onConflict((oc) => oc.column('domain_id').doUpdateSet({ settings: JSON.stringify(settings), updated_at: now }))
      .execute();
    await appendAudit(trx, actor, { action: 'domain.settings.update', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, before: { settings: eff.settings }, after: { changes }, reason }, now);
  });
  return statusOf(deps, repo.scope, domain);
}
