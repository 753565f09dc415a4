/**
 * The recycle bin: two-step deletion intents, what a deletion would take, a domain's deletion
 * and restoration with everything in it, the bin's listing and the purge of what has been in it
 * long enough. Mailbox status moves themselves are the mailboxes repository's (softDelete,
 * restore). Every query on a tenant-owned table goes through `scoped()`; the purge removes a
 * mailbox's mail (folders, message references) in the same transaction as the mailbox row.
 */
import { notFound } from '../../core/kernel/errors.js';
import type { DeletionIntent, Domain, Mailbox } from '../tables/control.table.js';
import type { DeletionTargetType, DomainStatus } from '../tables/status.js';
import { Repo } from './base.js';

export interface NewDeletionIntent {
  id: string;
  tenant_id: string;
  target_type: 'mailbox' | 'domain';
  target_id: string;
  /** The impact shown to the caller (stored as JSON). */
  impact: Record<string, unknown>;
  created_by: string;
  created_at: number;
  expires_at: number;
}

export class RecycleBinRepo extends Repo {
  // ---- deletion intents --------------------------------------------------------------------

  async insertIntent(row: NewDeletionIntent): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db
      .insertInto('deletion_intents')
      .values({ ...row, impact: JSON.stringify(row.impact), confirmed_at: null })
      .execute();
  }

  /** The intent `id` for this target, or undefined. */
  async intent(id: string, target: { type: DeletionTargetType; id: string }): Promise<DeletionIntent | undefined> {
    return this.scoped(this.db.selectFrom('deletion_intents').selectAll().where('id', '=', id).where('target_type', '=', target.type).where('target_id', '=', target.id)).executeTakeFirst();
  }

  async confirmIntent(id: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('deletion_intents').set({ confirmed_at: now }).where('id', '=', id)).execute();
  }

  // ---- what a deletion would take ----------------------------------------------------------

  /** Live domains of a tenant whose catch-all delivers to `address`. */
  async catchAllOf(tenantId: string, address: string): Promise<string[]> {
    const rows = await this.scoped(this.db.selectFrom('domains').select('name').where('tenant_id', '=', tenantId).where('catch_all', '=', address).where('status', '!=', 'deleted')).execute();
    return rows.map((d) => d.name);
  }

  /** Live mailboxes (address, usage) and alias addresses of a domain. */
  async domainContents(domainId: string): Promise<{ mailboxes: Array<{ address: string; usedBytes: number; messageCount: number }>; aliases: string[] }> {
    const mailboxes = await this.scoped(
      this.db.selectFrom('mailboxes').select(['address', 'used_bytes', 'message_count']).where('domain_id', '=', domainId).where('status', '!=', 'deleted'),
    ).execute();
    const aliases = await this.scoped(this.db.selectFrom('aliases').select('address').where('domain_id', '=', domainId).where('status', '!=', 'deleted')).execute();
    return {
      mailboxes: mailboxes.map((m) => ({ address: m.address, usedBytes: Number(m.used_bytes), messageCount: Number(m.message_count) })),
      aliases: aliases.map((a) => a.address),
    };
  }

  /** Names of the live domain aliases pointing at a domain. */
  async domainAliasesOf(domainId: string): Promise<string[]> {
    const rows = await this.scoped(this.db.selectFrom('domains').select('name').where('alias_of', '=', domainId).where('status', '!=', 'deleted')).execute();
    return rows.map((r) => r.name);
  }

  /** The status of a mailbox's domain (any status), or undefined when it is gone. */
  async domainStatus(domainId: string): Promise<Domain['status'] | undefined> {
    const row = await this.scoped(this.db.selectFrom('domains').select('status').where('id', '=', domainId)).executeTakeFirst();
    return row?.status;
  }

  // ---- a domain's deletion and restoration ---------------------------------------------------

  /** A domain in the recycle bin, or NotFound. */
  async deletedDomain(id: string): Promise<Domain> {
    const row = await this.scoped(this.db.selectFrom('domains').selectAll().where('id', '=', id).where('status', '=', 'deleted')).executeTakeFirst();
    if (!row) throw notFound('deleted domain');
    return row;
  }

  /** The live mailboxes of a domain (id and status), to go to the bin with it. */
  async liveMailboxesOf(domainId: string): Promise<Array<Pick<Mailbox, 'id' | 'status'>>> {
    return this.scoped(this.db.selectFrom('mailboxes').select(['id', 'status']).where('domain_id', '=', domainId).where('status', '!=', 'deleted')).execute();
  }

  /** Moves a domain's live aliases to the bin with it; returns how many. */
  async deleteDomainAliases(domainId: string, now: number): Promise<number> {
    const res = await this.scoped(
      this.db.updateTable('aliases').set({ status: 'deleted', deleted_with: domainId, updated_at: now }).where('domain_id', '=', domainId).where('status', '!=', 'deleted'),
    ).executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async deleteDomain(d: Pick<Domain, 'id' | 'status'>, now: number, purgeAfter: number): Promise<void> {
    await this.scoped(
      this.db.updateTable('domains').set({ status: 'deleted', status_before_delete: d.status, deleted_at: now, purge_after: purgeAfter, updated_at: now }).where('id', '=', d.id),
    ).execute();
  }

  /** The mailboxes that went to the bin with a domain, still there. */
  async mailboxesDeletedWith(domainId: string): Promise<Array<Pick<Mailbox, 'id' | 'status_before_delete' | 'password_hash'>>> {
    return this.scoped(this.db.selectFrom('mailboxes').select(['id', 'status_before_delete', 'password_hash']).where('deleted_with', '=', domainId).where('status', '=', 'deleted')).execute();
  }

  async restoreDomainAliases(domainId: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('aliases').set({ status: 'active', deleted_with: null, updated_at: now }).where('deleted_with', '=', domainId)).execute();
  }

  async restoreDomain(id: string, status: DomainStatus, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('domains').set({ status, status_before_delete: null, deleted_at: null, purge_after: null, updated_at: now }).where('id', '=', id)).execute();
  }

  // ---- the bin ------------------------------------------------------------------------------

  /** A tenant's bin: deleted mailboxes (not deleted with their domain) and domains, with each domain's mailbox count. */
  async listing(tenantId: string): Promise<{ mailboxes: Mailbox[]; domains: Array<Domain & { mailboxCount: number }> }> {
    const mailboxes = await this.scoped(this.db.selectFrom('mailboxes').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'deleted').where('deleted_with', 'is', null))
      .orderBy('deleted_at')
      .limit(1000)
      .execute();
    const domains = await this.scoped(this.db.selectFrom('domains').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'deleted'))
      .orderBy('deleted_at')
      .limit(1000)
      .execute();
    const out: Array<Domain & { mailboxCount: number }> = [];
    for (const d of domains) {
      const r = await this.scoped(
        this.db
          .selectFrom('mailboxes')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('deleted_with', '=', d.id),
      ).executeTakeFirstOrThrow();
      out.push({ ...d, mailboxCount: Number(r.n) });
    }
    return { mailboxes, domains: out };
  }

  /** Mailboxes whose time in the bin is up, oldest first. */
  async mailboxesDue(now: number, limit = 1000): Promise<Mailbox[]> {
    return this.scoped(this.db.selectFrom('mailboxes').selectAll().where('status', '=', 'deleted').where('purge_after', '<=', now))
      .orderBy('purge_after')
      .limit(limit)
      .execute();
  }

  /** Domains whose time in the bin is up. */
  async domainsDue(now: number, limit = 1000): Promise<Domain[]> {
    return this.scoped(this.db.selectFrom('domains').selectAll().where('status', '=', 'deleted').where('purge_after', '<=', now))
      .limit(limit)
      .execute();
  }

  // ---- purge --------------------------------------------------------------------------------

  /**
   * Removes one deleted mailbox and its mail: folder entries are dropped and each message's
   * reference count decremented (messages nobody refers to any more are deleted; their blobs are
   * left to the store's orphan sweep). Returns how many message references went, or null when
   * the mailbox is no longer in the bin (restored meanwhile).
   */
  async purgeMailbox(mailboxId: string): Promise<{ messages: number } | null> {
    const m = await this.scoped(this.db.selectFrom('mailboxes').select('id').where('id', '=', mailboxId).where('status', '=', 'deleted')).executeTakeFirst();
    if (!m) return null;
    const messages = await this.purgeMail(mailboxId);
    await this.db.deleteFrom('subscriptions').where('mailbox_id', '=', mailboxId).execute();
    await this.db.deleteFrom('setup_tokens').where('mailbox_id', '=', mailboxId).execute();
    await this.db.deleteFrom('web_sessions').where('mailbox_id', '=', mailboxId).execute();
    await this.db.deleteFrom('forwards').where('mailbox_id', '=', mailboxId).execute();
    await this.db.deleteFrom('send_as_grants').where('mailbox_id', '=', mailboxId).execute();
    await this.db
      .deleteFrom('mailbox_grants')
      .where((eb) => eb.or([eb('mailbox_id', '=', mailboxId), eb('member_mailbox_id', '=', mailboxId)]))
      .execute();
    await this.db.deleteFrom('mailboxes').where('id', '=', mailboxId).where('status', '=', 'deleted').execute();
    return { messages };
  }

  /** Drops a mailbox's folders and their entries, releasing each message's references. */
  private async purgeMail(mailboxId: string): Promise<number> {
    const folders = await this.db.selectFrom('folders').select('id').where('mailbox_id', '=', mailboxId).execute();
    const folderIds = folders.map((f) => Number(f.id));
    if (!folderIds.length) return 0;
    let messages = 0;
    const refs = await this.db
      .selectFrom('folder_messages')
      .select(['message_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('folder_id', 'in', folderIds)
      .groupBy('message_id')
      .execute();
    for (const r of refs) {
      messages += Number(r.n);
      await this.db
        .updateTable('messages')
        .set((eb) => ({ refs: eb('refs', '-', Number(r.n)) }))
        .where('id', '=', Number(r.message_id))
        .execute();
    }
    await this.db.deleteFrom('folder_messages').where('folder_id', 'in', folderIds).execute();
    await this.db.deleteFrom('folder_expunges').where('folder_id', 'in', folderIds).execute();
    if (refs.length) {
      await this.db
        .deleteFrom('messages')
        .where(
          'id',
          'in',
          refs.map((r) => Number(r.message_id)),
        )
        .where('refs', '<=', 0)
        .execute();
    }
    await this.db.deleteFrom('folders').where('mailbox_id', '=', mailboxId).execute();
    return messages;
  }

  /**
   * Removes a deleted domain with its aliases, DKIM keys and outbound routes, unless a mailbox
   * still holds it (restored, or purged next run): then false.
   */
  async purgeDomain(domainId: string): Promise<boolean> {
    const d = await this.scoped(this.db.selectFrom('domains').select('id').where('id', '=', domainId).where('status', '=', 'deleted')).executeTakeFirst();
    if (!d) return false;
    const left = await this.db.selectFrom('mailboxes').select('id').where('domain_id', '=', domainId).executeTakeFirst();
    if (left) return false;
    await this.db.deleteFrom('aliases').where('domain_id', '=', domainId).execute();
    await this.db.deleteFrom('dkim_keys').where('domain_id', '=', domainId).execute();
    await this.db.deleteFrom('outbound_routes').where('domain_id', '=', domainId).execute();
    await this.db.deleteFrom('domains').where('id', '=', domainId).where('status', '=', 'deleted').execute();
    return true;
  }
}
