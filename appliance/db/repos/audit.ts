/**
 * The audit log's storage: the chain head, event rows, and the reads (a tenant scope sees its
 * tenant's events only). The chain itself (canonical rows, hashes) is computed by the core
 * (core/audit/audit.ts); this repository stores and reads rows. Appending is appliance-wide:
 * the chain is one per appliance, so `takeHead` serializes every appender.
 */
import { sql } from 'kysely';
import type { AuditEvent } from '../tables/control.table.js';
import { Repo } from './base.js';
import { preparedRows } from './prepared.js';
import { type ChainCheck, verifyChainOffThread } from '../audit-chain-thread.js';

export interface AuditFilter {
  tenantId?: string;
  targetType?: string;
  targetId?: string;
  /** An action name, or a prefix ending in `.*` (e.g. `mailbox.*`). */
  action?: string;
  actorType?: string;
  actorId?: string;
  tokenId?: string;
  requestId?: string;
  /** since ≤ at < until, epoch ms. */
  since?: number;
  until?: number;
}

/** The `settings` row holding the last verified point of the chain. */
const VERIFIED_KEY = 'audit.chain.verified';

/** The kinds of ids that have a display name, and where the name lives. */
export type NamedKind = 'tnt' | 'dom' | 'mbx' | 'als' | 'tok' | 'prn';

/** Id lists up to this long are looked up by a statement compiled once per kind and length. */
const NAMES_PREPARED_MAX = 8;

export class AuditRepo extends Repo {
  // ---- the chain --------------------------------------------------------------------------

  /**
   * Takes the next sequence number: this row update is the lock that orders appenders, on
   * SQLite (one writer) and on PostgreSQL alike, where appenders on several nodes queue on the
   * row lock until the holder's transaction ends and then read the head it committed (READ
   * COMMITTED re-reads the updated row). Returns the new number and the previous hash.
   */
  async takeHead(): Promise<{ seq: number; hash: string }> {
    const head = await this.db
      .updateTable('audit_head')
      .set((eb) => ({ seq: eb('seq', '+', 1) }))
      .where('id', '=', 1)
      .returning(['seq', 'hash'])
      .executeTakeFirstOrThrow();
    return { seq: Number(head.seq), hash: head.hash };
  }

  async insert(row: AuditEvent): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('audit_events').values(row).execute();
  }

  async setHeadHash(hash: string): Promise<void> {
    await this.db.updateTable('audit_head').set({ hash }).where('id', '=', 1).execute();
  }

  /** The chain head (last sequence number and hash), or undefined when the head row is gone. */
  async head(): Promise<{ seq: number; hash: string } | undefined> {
    const h = await this.db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
    return h ? { seq: Number(h.seq), hash: h.hash } : undefined;
  }

  /** Events of the whole chain from sequence number `fromId` on, up to `toId` when given (verification: the platform's). */
  async chainPage(fromId: number, limit: number, toId?: number): Promise<AuditEvent[]> {
    let q = this.scoped(this.db.selectFrom('audit_events').selectAll().where('id', '>=', fromId));
    if (toId !== undefined) q = q.where('id', '<=', toId);
    return q.orderBy('id').limit(limit).execute();
  }

  /**
   * The chain after `fromSeq` checked on a thread of its own with one read snapshot (SQLite file
   * databases; `columns` in canonical order), or null where it runs on the caller's loop instead.
   */
  verifyOffThread(columns: readonly string[], fromSeq: number, prevHash: string): Promise<ChainCheck> | null {
    return verifyChainOffThread(this.db, columns, fromSeq, prevHash);
  }

  /** The highest event id stored, or undefined when there is none. */
  async lastEventId(): Promise<number | undefined> {
    const row = await this.scoped(this.db.selectFrom('audit_events').select('id').orderBy('id', 'desc').limit(1)).executeTakeFirst();
    return row ? Number(row.id) : undefined;
  }

  /** The hash of one event of the chain, or undefined. */
  async hashOf(id: number): Promise<string | undefined> {
    return (await this.scoped(this.db.selectFrom('audit_events').select('hash').where('id', '=', id)).executeTakeFirst())?.hash;
  }

  /**
   * The last verified point of the chain (incremental verification), or undefined before the
   * first; `fullAt`: when the whole chain was last verified (undefined: not recorded yet).
   */
  async verifiedCheckpoint(): Promise<{ seq: number; hash: string; fullAt?: number } | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', VERIFIED_KEY).executeTakeFirst();
    if (!row) return undefined;
    const v = JSON.parse(row.value) as { seq?: unknown; hash?: unknown; fullAt?: unknown };
    if (typeof v.seq !== 'number' || typeof v.hash !== 'string') return undefined;
    return { seq: v.seq, hash: v.hash, ...(typeof v.fullAt === 'number' ? { fullAt: v.fullAt } : {}) };
  }

  async saveVerifiedCheckpoint(seq: number, hash: string, at: number, fullAt?: number): Promise<void> {
    const value = JSON.stringify({ seq, hash, at, ...(fullAt !== undefined ? { fullAt } : {}) });
    // the scheduled verification's one write: durable before it resolves, its fsync off the serving loop
    await this.syncedOffLoop((db) =>
      db
        .insertInto('settings')
        .values({ key: VERIFIED_KEY, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute(),
    );
  }

  // ---- reads ------------------------------------------------------------------------------

  /** Events matching the filter with an id above `after`, oldest first. */
  async list(filter: AuditFilter, after: number | undefined, limit: number): Promise<AuditEvent[]> {
    let q = this.scoped(this.db.selectFrom('audit_events').selectAll());
    if (filter.tenantId) q = q.where('tenant_id', '=', filter.tenantId);
    if (filter.targetType) q = q.where('target_type', '=', filter.targetType);
    if (filter.targetId) q = q.where('target_id', '=', filter.targetId);
    if (filter.action) {
      if (filter.action.endsWith('.*')) q = q.where(sql<boolean>`substr(action, 1, ${filter.action.length - 1}) = ${filter.action.slice(0, -1)}`);
      else q = q.where('action', '=', filter.action);
    }
    if (filter.actorType) q = q.where('actor_type', '=', filter.actorType);
    if (filter.actorId) q = q.where('actor_id', '=', filter.actorId);
    if (filter.tokenId) q = q.where('token_id', '=', filter.tokenId);
    if (filter.requestId) q = q.where('request_id', '=', filter.requestId);
    if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('at', '<', filter.until);
    if (after !== undefined) q = q.where('id', '>', after);
    return q.orderBy('id').limit(limit).execute();
  }

  /** The latest events on one target of a tenant, newest first. */
  async ofTarget(tenantId: string, targetType: string, targetId: string, limit: number): Promise<Array<Pick<AuditEvent, 'id' | 'action' | 'actor_type' | 'actor_id' | 'at' | 'before'>>> {
    return preparedRows(this.db, 'audit.ofTarget', this.tenantId, [tenantId, targetType, targetId, limit] as const, (tenant, type, id, max) =>
      this.scoped(
        this.db
          .selectFrom('audit_events')
          .select(['id', 'action', 'actor_type', 'actor_id', 'at', 'before'])
          .where('target_type', '=', type)
          .where('target_id', '=', id)
          .where('tenant_id', '=', tenant),
      )
        .orderBy('id', 'desc')
        .limit(max),
    );
  }

  /** Events of a domain and of its mailboxes and aliases, newest first (the domain's timeline). */
  async ofDomain(
    tenantId: string,
    domainId: string,
    limit: number,
  ): Promise<Array<Pick<AuditEvent, 'id' | 'at' | 'action' | 'actor_type' | 'actor_id' | 'target_type' | 'target_id' | 'after' | 'reason'>>> {
    return this.scoped(this.db.selectFrom('audit_events').select(['id', 'at', 'action', 'actor_type', 'actor_id', 'target_type', 'target_id', 'after', 'reason']).where('tenant_id', '=', tenantId))
      .where((eb) =>
        eb.or([
          eb.and([eb('target_type', '=', 'domain'), eb('target_id', '=', domainId)]),
          eb.and([eb('target_type', '=', 'mailbox'), eb('target_id', 'in', eb.selectFrom('mailboxes').select('mailboxes.id').where('domain_id', '=', domainId))]),
          eb.and([eb('target_type', '=', 'alias'), eb('target_id', 'in', eb.selectFrom('aliases').select('aliases.id').where('domain_id', '=', domainId))]),
        ]),
      )
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  /**
   * The latest events of one action on a target, newest first (`at` and `after` only). The target's
   * type and id walk the target index (audit_target_idx); without the type the whole audit log was
   * scanned, per domain at every housekeeping run (DKIM rotation; issue 18).
   */
  async latestOfAction(action: string, targetType: string, targetId: string, limit: number): Promise<Array<Pick<AuditEvent, 'at' | 'after'>>> {
    return this.scoped(this.db.selectFrom('audit_events').select(['at', 'after']).where('target_type', '=', targetType).where('target_id', '=', targetId).where('action', '=', action))
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  /** Display names (tenant, domain, token, person names; mailbox and alias addresses) of ids of one kind. */
  async names(kind: NamedKind, ids: string[]): Promise<Array<{ id: string; label: string }>> {
    if (!ids.length) return [];
    const db = this.db;
    const query = (xs: readonly string[]) => {
      switch (kind) {
        case 'tnt':
          return db.selectFrom('tenants').select(['id', 'name as label']).where('id', 'in', xs);
        case 'dom':
          return db.selectFrom('domains').select(['id', 'name as label']).where('id', 'in', xs);
        case 'mbx':
          return db.selectFrom('mailboxes').select(['id', 'address as label']).where('id', 'in', xs);
        case 'als':
          return db.selectFrom('aliases').select(['id', 'address as label']).where('id', 'in', xs);
        case 'tok':
          return db.selectFrom('api_tokens').select(['id', 'name as label']).where('id', 'in', xs);
        case 'prn':
          return db.selectFrom('principals').select(['id', 'name as label']).where('id', 'in', xs);
      }
    };
    // a few ids (an answer's actors): compiled once per kind and count (the ownership answer names its actors per request; issue 18)
    if (ids.length > NAMES_PREPARED_MAX) return query(ids).execute();
    return preparedRows(db, `audit.names.${kind}.${ids.length}`, this.tenantId, ids, (...xs) => query(xs));
  }
}
