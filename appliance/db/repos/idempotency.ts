/**
 * Idempotency keys of the control plane's POST requests, shared by the nodes of a cluster
 * (issue 17). The caller seals the payload (it may hold a secret shown once). Platform scope:
 * the key already names the caller (token or principal).
 */
import type { IdempotencyKeysTable } from '../tables/cluster.table.js';
import { Repo } from './base.js';

/** A stored key: the table's row. */
export type IdempotencyRow = IdempotencyKeysTable;

export class IdempotencyRepo extends Repo {
  async find(key: string): Promise<IdempotencyRow | undefined> {
    const r = await this.db.selectFrom('idempotency_keys').selectAll().where('key', '=', key).executeTakeFirst();
    return r ? { ...r, expires_at: Number(r.expires_at) } : undefined;
  }

  /**
   * Claims a key for a running request: inserted when new, or taken over when the old entry has
   * expired. False: an unexpired entry exists (the caller reads it).
   */
  async claim(key: string, fingerprint: string, now: number, expiresAt: number): Promise<boolean> {
    const inserted = await this.db
      .insertInto('idempotency_keys')
      .values({ key, fingerprint, state: 'running', status: null, content_type: null, payload: null, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({ fingerprint, state: 'running', status: null, content_type: null, payload: null, expires_at: expiresAt }).where('idempotency_keys.expires_at', '<=', now),
      )
      .returning('key')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async complete(key: string, status: number, contentType: string | null, payload: string): Promise<void> {
    await this.db.updateTable('idempotency_keys').set({ state: 'done', status, content_type: contentType, payload }).where('key', '=', key).where('state', '=', 'running').execute();
  }

  async remove(key: string, onlyRunning: boolean): Promise<void> {
    let q = this.db.deleteFrom('idempotency_keys').where('key', '=', key);
    if (onlyRunning) q = q.where('state', '=', 'running');
    await q.execute();
  }

  async prune(now: number): Promise<number> {
    const r = await this.db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
