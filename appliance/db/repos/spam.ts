/**
 * Spam policy and lists (issue 15): a tenant's policy and its domains' overrides, the allow and
 * block lists (tenant-wide or one mailbox's), the look-ups the MTA makes at RCPT and for an
 * authenticated submission, and the facts the learner needs about a folder the user moved mail
 * into (whose mailbox and tenant, whether it is Junk or Trash).
 */
import type { SpamListRow, SpamPolicyRow } from '../tables/spam.table.js';
import { AppError, notFound } from '../../core/kernel/errors.js';
import { preparedRows } from './prepared.js';
import { DomainKeyedRepo } from './sending.js';

export type { SpamListRow, SpamPolicyRow } from '../tables/spam.table.js';

export type PolicyLevel = 'tenant' | 'domain';

/** A list entry as the RCPT decision reads it. */
export type ListEntryFacts = Pick<SpamListRow, 'kind' | 'value' | 'value_type' | 'mailbox_id'>;

/** The columns of a policy row a decision reads. */
export type PolicyFacts = Pick<SpamPolicyRow, 'tenant_id' | 'junk_score' | 'reject_score' | 'greylisting' | 'fail_mode' | 'owner_lists'>;

/** What the RCPT decision reads about a recipient (recipientFacts). */
export interface RecipientSpamFacts {
  domain: { id: string; tenant_id: string };
  mailboxId: string | null;
  domainPolicy: PolicyFacts | null;
  tenantPolicy: PolicyFacts | null;
}

/** A folder as the learner sees it. */
export interface LearnerFolderRow {
  mailbox_id: string;
  special_use: string | null;
  name: string;
  tenant_id: string;
}

export class SpamRepo extends DomainKeyedRepo {
  // ---- policies ----------------------------------------------------------------------------

  policy(level: PolicyLevel, scopeId: string): Promise<SpamPolicyRow | undefined> {
    return this.scoped(this.db.selectFrom('spam_policies').selectAll().where('scope', '=', level).where('scope_id', '=', scopeId)).executeTakeFirst();
  }

  /** Creates or replaces the policy of a tenant or a domain. */
  async putPolicy(row: SpamPolicyRow): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db
      .insertInto('spam_policies')
      .values(row)
      .onConflict((oc) => oc.columns(['scope', 'scope_id']).doUpdateSet({ ...row }))
      .execute();
  }

  async deletePolicy(level: PolicyLevel, scopeId: string): Promise<void> {
    await this.scoped(this.db.deleteFrom('spam_policies').where('scope', '=', level).where('scope_id', '=', scopeId)).execute();
  }

  // ---- allow and block lists ---------------------------------------------------------------

  /** A tenant's entries (mailboxId null) or one mailbox's, oldest first. */
  listEntries(tenantId: string, mailboxId: string | null): Promise<SpamListRow[]> {
    let q = this.db.selectFrom('spam_lists').selectAll().where('tenant_id', '=', tenantId);
    q = mailboxId ? q.where('mailbox_id', '=', mailboxId) : q.where('mailbox_id', 'is', null);
    return this.scoped(q).orderBy('created_at').orderBy('id').execute();
  }

  /** An entry; with `mailboxId`, only that mailbox's. */
  async listEntry(id: string, mailboxId?: string): Promise<SpamListRow> {
    let q = this.db.selectFrom('spam_lists').selectAll().where('id', '=', id);
    if (mailboxId !== undefined) q = q.where('mailbox_id', '=', mailboxId);
    const row = await this.scoped(q).executeTakeFirst();
    if (!row) throw notFound('spam list entry');
    return row;
  }

  /** Inserts an entry; AlreadyExists when the same value is on the same list. */
  async addListEntry(row: SpamListRow): Promise<void> {
    this.guardTenant(row.tenant_id);
    let dup = this.db.selectFrom('spam_lists').select('id').where('tenant_id', '=', row.tenant_id).where('kind', '=', row.kind).where('value', '=', row.value);
    dup = row.mailbox_id ? dup.where('mailbox_id', '=', row.mailbox_id) : dup.where('mailbox_id', 'is', null);
    if (await dup.executeTakeFirst()) throw new AppError('AlreadyExists', `${row.value} is already on this ${row.kind} list`);
    await this.db.insertInto('spam_lists').values(row).execute();
  }

  async deleteListEntry(id: string): Promise<void> {
    await this.scoped(this.db.deleteFrom('spam_lists').where('id', '=', id)).execute();
  }

  // ---- the MTA's look-ups --------------------------------------------------------------------

  /** A hosted (not deleted) domain by name. */
  recipientDomain(name: string): Promise<{ id: string; tenant_id: string } | undefined> {
    return this.scoped(this.db.selectFrom('domains').select(['id', 'tenant_id']).where('name', '=', name).where('status', '!=', 'deleted')).executeTakeFirst();
  }

  /** A mailbox of a tenant by address (any status). */
  mailboxIdByAddress(address: string, tenantId: string): Promise<{ id: string } | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').select(['id']).where('address', '=', address).where('tenant_id', '=', tenantId)).executeTakeFirst();
  }

  /**
   * An inbound recipient's facts in one statement (issue 18; before: four): the hosted (not
   * deleted) domain of `domainName`, the tenant's mailbox of `address` (any status), and the
   * policy rows of that domain and of its tenant. Names and addresses are unique, and so is a
   * policy per scope, so there is at most one row.
   */
  async recipientFacts(address: string, domainName: string): Promise<RecipientSpamFacts | undefined> {
    // per inbound recipient: compiled once per scope (prepared.ts, issue 18)
    const rows = await preparedRows(this.db, 'spam.recipientFacts', this.tenantId, [address, domainName] as const, (a, d) => this.recipientFactsQuery(a, d));
    const row = rows[0] as Record<string, unknown> | undefined;
    if (!row) return undefined;
    const policy = (prefix: 'pd_' | 'pt_'): PolicyFacts | null =>
      row[`${prefix}tenant_id`] === null || row[`${prefix}tenant_id`] === undefined
        ? null
        : {
            tenant_id: String(row[`${prefix}tenant_id`]),
            junk_score: row[`${prefix}junk_score`] as number,
            reject_score: row[`${prefix}reject_score`] as number,
            greylisting: row[`${prefix}greylisting`] as number,
            fail_mode: String(row[`${prefix}fail_mode`]),
            owner_lists: row[`${prefix}owner_lists`] as number,
          };
    return {
      domain: { id: String(row.domain_id), tenant_id: String(row.tenant_id) },
      mailboxId: row.mailbox_id === null || row.mailbox_id === undefined ? null : String(row.mailbox_id),
      domainPolicy: policy('pd_'),
      tenantPolicy: policy('pt_'),
    };
  }

  private recipientFactsQuery(address: string, domainName: string) {
    const policyColumns = ['tenant_id', 'junk_score', 'reject_score', 'greylisting', 'fail_mode', 'owner_lists'] as const;
    const q = this.db
      .selectFrom('domains as d')
      .leftJoin('mailboxes as m', (j) => j.onRef('m.tenant_id', '=', 'd.tenant_id').on('m.address', '=', address))
      .leftJoin('spam_policies as pd', (j) => j.onRef('pd.scope_id', '=', 'd.id').on('pd.scope', '=', 'domain'))
      .leftJoin('spam_policies as pt', (j) => j.onRef('pt.scope_id', '=', 'd.tenant_id').on('pt.scope', '=', 'tenant'))
      .select(['d.id as domain_id', 'd.tenant_id as tenant_id', 'm.id as mailbox_id'])
      .select(policyColumns.map((c) => `pd.${c} as pd_${c}` as const))
      .select(policyColumns.map((c) => `pt.${c} as pt_${c}` as const))
      .where('d.name', '=', domainName)
      .where('d.status', '!=', 'deleted');
    return this.scoped(q, 'd.tenant_id');
  }

  /** The tenant-wide entries of a tenant and, when given, one mailbox's. */
  entriesFor(tenantId: string, mailboxId: string | null): Promise<ListEntryFacts[]> {
    // per inbound recipient: compiled once per shape and scope (prepared.ts, issue 18)
    const entries = this.db.selectFrom('spam_lists').select(['kind', 'value', 'value_type', 'mailbox_id']);
    if (mailboxId === null) {
      return preparedRows(this.db, 'spam.entriesForTenant', this.tenantId, [tenantId] as const, (t) => this.scoped(entries.where('tenant_id', '=', t).where('mailbox_id', 'is', null)));
    }
    return preparedRows(this.db, 'spam.entriesForMailbox', this.tenantId, [tenantId, mailboxId] as const, (t, m) =>
      this.scoped(entries.where('tenant_id', '=', t).where((eb) => eb.or([eb('mailbox_id', 'is', null), eb('mailbox_id', '=', m)]))),
    );
  }

  /** The tenant and domain of a mailbox (any status). */
  mailboxPlace(mailboxId: string): Promise<{ tenant_id: string; domain_id: string } | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').select(['tenant_id', 'domain_id']).where('id', '=', mailboxId)).executeTakeFirst();
  }

  // ---- the learner's look-ups (mail store tables, read only) --------------------------------

  learnerFolder(folderId: number): Promise<LearnerFolderRow | undefined> {
    const q = this.db
      .selectFrom('folders')
      .innerJoin('mailboxes', 'mailboxes.id', 'folders.mailbox_id')
      .select(['folders.mailbox_id', 'folders.special_use', 'folders.name', 'mailboxes.tenant_id'])
      .where('folders.id', '=', folderId);
    return this.scoped(q, 'mailboxes.tenant_id').executeTakeFirst();
  }

  /** The message ids and flags (space-separated) of some entries of a folder. */
  async learnerEntries(folderId: number, uids: number[]): Promise<Array<{ message_id: number; flags: string }>> {
    if (!uids.length) return [];
    let q = this.db.selectFrom('folder_messages').select(['message_id', 'flags']).where('folder_id', '=', folderId).where('uid', 'in', uids);
    if (this.tenantId !== null) {
      const own = this.db.selectFrom('folders').innerJoin('mailboxes', 'mailboxes.id', 'folders.mailbox_id').select('folders.id').where('mailboxes.tenant_id', '=', this.tenantId);
      q = q.where('folder_id', 'in', own);
    }
    const rows = await q.execute();
    return rows.map((r) => ({ message_id: Number(r.message_id), flags: r.flags }));
  }
}
