/**
 * Versioned domain templates and the settings each domain runs with. A template belongs to a
 * tenant or to the platform (`tenant_id` null): platform templates are visible to every tenant
 * scope, which this repository expresses in `visible(q)`; writing one needs the platform scope.
 * Versions are rows of their template (reached through it). Also the alias reads and writes a
 * template's default aliases need.
 */
import { notFound } from '../../core/kernel/errors.js';
import type { Alias } from '../tables/control.table.js';
import type { DomainSettingsRow, DomainTemplate, DomainTemplateVersion } from '../tables/portfolio.table.js';
import { Repo } from './base.js';

export interface NewTemplate {
  id: string;
  tenant_id: string | null;
  name: string;
  settings: string;
  note: string | null;
  created_by: string;
  now: number;
}

export interface NewVersion {
  version: number;
  settings: string;
  note: string | null;
  created_by: string;
  now: number;
}

export interface DomainSettingsWrite {
  domain_id: string;
  tenant_id: string;
  settings: string;
  template_id: string | null;
  template_version: number | null;
  applied_at: number | null;
  updated_at: number;
}

export class TemplatesRepo extends Repo {
  /** Templates this scope may see: its tenant's own and the platform's (tenant_id null). */
  private visible<Q extends { where: (...args: any[]) => any }>(q: Q): Q {
    const t = this.tenantId;
    if (t === null) return q;
    return q.where((eb: any) => eb.or([eb('domain_templates.tenant_id', '=', t), eb('domain_templates.tenant_id', 'is', null)])) as Q;
  }

  /** A template visible in this scope, or NotFound. */
  async get(id: string): Promise<DomainTemplate> {
    const row = await this.visible(this.db.selectFrom('domain_templates').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw notFound('template');
    return row;
  }

  /** The templates of a tenant and the platform's, oldest first. */
  async listForTenant(tenantId: string, limit = 500): Promise<DomainTemplate[]> {
    return this.visible(
      this.db
        .selectFrom('domain_templates')
        .selectAll()
        .where((eb) => eb.or([eb('tenant_id', '=', tenantId), eb('tenant_id', 'is', null)])),
    )
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /** Every version of a visible template, oldest first. */
  async versions(templateId: string): Promise<DomainTemplateVersion[]> {
    return this.db
      .selectFrom('domain_template_versions')
      .innerJoin('domain_templates', 'domain_templates.id', 'domain_template_versions.template_id')
      .selectAll('domain_template_versions')
      .where('domain_template_versions.template_id', '=', templateId)
      .$call((q) => this.visible(q))
      .orderBy('domain_template_versions.version')
      .execute();
  }

  /** The settings JSON of one version of a visible template, or undefined. */
  async versionSettings(templateId: string, version: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('domain_template_versions')
      .innerJoin('domain_templates', 'domain_templates.id', 'domain_template_versions.template_id')
      .select('domain_template_versions.settings')
      .where('domain_template_versions.template_id', '=', templateId)
      .where('domain_template_versions.version', '=', version)
      .$call((q) => this.visible(q))
      .executeTakeFirst();
    return row?.settings;
  }

  /** Creates a template with its version 1. A platform template (tenant_id null) needs the platform scope. */
  async create(t: NewTemplate): Promise<void> {
    this.guardTenant(t.tenant_id);
    await this.db
      .insertInto('domain_templates')
      .values({ id: t.id, tenant_id: t.tenant_id, name: t.name, latest_version: 1, created_by: t.created_by, created_at: t.now, updated_at: t.now })
      .execute();
    await this.db.insertInto('domain_template_versions').values({ template_id: t.id, version: 1, settings: t.settings, note: t.note, created_by: t.created_by, created_at: t.now }).execute();
  }

  /**
   * Appends the next version (latest + 1, read in the caller's transaction) to a template of
   * this scope; returns its number and the previous version's settings JSON.
   */
  async appendVersion(templateId: string, v: Omit<NewVersion, 'version'>): Promise<{ version: number; previousSettings: string }> {
    const row = await this.db.selectFrom('domain_templates').select(['latest_version', 'tenant_id']).where('id', '=', templateId).executeTakeFirst();
    if (!row) throw notFound('template');
    this.guardTenant(row.tenant_id);
    const latest = Number(row.latest_version);
    const prev = await this.db.selectFrom('domain_template_versions').select('settings').where('template_id', '=', templateId).where('version', '=', latest).executeTakeFirstOrThrow();
    const version = latest + 1;
    await this.db.insertInto('domain_template_versions').values({ template_id: templateId, version, settings: v.settings, note: v.note, created_by: v.created_by, created_at: v.now }).execute();
    await this.db.updateTable('domain_templates').set({ latest_version: version, updated_at: v.now }).where('id', '=', templateId).execute();
    return { version, previousSettings: prev.settings };
  }

  // ---- the settings a domain runs with ----------------------------------------------------

  async domainSettings(domainId: string): Promise<DomainSettingsRow | undefined> {
    return this.scoped(this.db.selectFrom('domain_settings').selectAll().where('domain_id', '=', domainId)).executeTakeFirst();
  }

  /** Records what a template application sets (every column). */
  async putDomainSettings(row: DomainSettingsWrite): Promise<void> {
    this.guardTenant(row.tenant_id);
    const { domain_id: _d, tenant_id: _t, ...values } = row;
    await this.db
      .insertInto('domain_settings')
      .values(row)
      .onConflict((oc) => oc.column('domain_id').doUpdateSet(values))
      .execute();
  }

  /** A manual settings change: inserts the row if missing, else changes the settings only. */
  async changeDomainSettings(row: DomainSettingsWrite): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db
      .insertInto('domain_settings')
      .values(row)
      .onConflict((oc) => oc.column('domain_id').doUpdateSet({ settings: row.settings, updated_at: row.updated_at }))
      .execute();
  }

  // ---- default aliases (mailboxes and aliases of this scope, by address) -------------------

  /** True when a live mailbox of this scope has the address. */
  async liveMailboxAt(address: string): Promise<boolean> {
    return !!(await this.scoped(this.db.selectFrom('mailboxes').select('id').where('address', '=', address).where('status', '!=', 'deleted')).executeTakeFirst());
  }

  /** The targets of the active alias of this scope with the address, or null. */
  async activeAliasTargets(address: string): Promise<string[] | null> {
    const row = await this.scoped(this.db.selectFrom('aliases').select('targets').where('address', '=', address).where('status', '=', 'active')).executeTakeFirst();
    return row ? (JSON.parse(row.targets) as string[]) : null;
  }

  /** The alias of this scope with the address, whatever its status (deleted aliases keep their address reserved). */
  async aliasAt(address: string): Promise<Alias | undefined> {
    return this.scoped(this.db.selectFrom('aliases').selectAll().where('address', '=', address)).executeTakeFirst();
  }

  /** Points an alias at one target; `restore` also brings a deleted alias back. */
  async pointAlias(id: string, target: string, now: number, restore: boolean): Promise<void> {
    const set = restore ? { status: 'active' as const, targets: JSON.stringify([target]), deleted_with: null, updated_at: now } : { targets: JSON.stringify([target]), updated_at: now };
    await this.scoped(this.db.updateTable('aliases').set(set).where('id', '=', id)).execute();
  }

  async insertAlias(a: { id: string; tenant_id: string; domain_id: string; local_part: string; address: string; target: string; created_by: string; now: number }): Promise<void> {
    this.guardTenant(a.tenant_id);
    await this.db
      .insertInto('aliases')
      .values({
        id: a.id,
        tenant_id: a.tenant_id,
        domain_id: a.domain_id,
        local_part: a.local_part,
        address: a.address,
        targets: JSON.stringify([a.target]),
        created_by: a.created_by,
        created_at: a.now,
        updated_at: a.now,
      })
      .execute();
  }
}
