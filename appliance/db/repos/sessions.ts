/**
 * Web sessions of the console: principals' (tenant_id null for operators) and mailbox owners'.
 * Only the sha256 of the cookie and of the CSRF token is stored. A tenant scope sees its own
 * tenant's sessions only; operators' sessions exist for the platform scope alone.
 */
import type { Insertable } from 'kysely';
import type { WebSession, WebSessionsTable } from '../tables/principals.table.js';
import { Repo } from './base.js';
import type { WebSessionMfa } from '../tables/status.js';

export class SessionsRepo extends Repo {
  async insert(row: Insertable<WebSessionsTable>): Promise<void> {
    this.guardTenant(row.tenant_id ?? null);
    await this.db.insertInto('web_sessions').values(row).execute();
  }

  /** The session whose cookie hashes to `tokenHash`, or undefined. */
  async byTokenHash(tokenHash: string): Promise<WebSession | undefined> {
    return this.scoped(this.db.selectFrom('web_sessions').selectAll().where('token_hash', '=', tokenHash)).executeTakeFirst();
  }

  /** Records use (the caller limits how often): durable before it resolves, its fsync off the serving loop. */
  async touch(id: string, now: number): Promise<void> {
    await this.syncedOffLoop((db) => this.scoped(db.updateTable('web_sessions').set({ last_seen_at: now }).where('id', '=', id)).execute());
  }

  /** Ends one session (logout). */
  async revoke(id: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('web_sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null)).execute();
  }

  /** Ends every live session of a principal; returns how many. */
  async revokeForPrincipal(principalId: string, now: number): Promise<number> {
    const res = await this.scoped(this.db.updateTable('web_sessions').set({ revoked_at: now }).where('principal_id', '=', principalId).where('revoked_at', 'is', null)).executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** The session's second-factor state (a principal's session after TOTP enrolment: 'ok'). */
  async setMfa(id: string, mfa: WebSessionMfa): Promise<void> {
    await this.scoped(this.db.updateTable('web_sessions').set({ mfa }).where('id', '=', id)).execute();
  }
}
