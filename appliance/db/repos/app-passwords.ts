/**
 * App passwords of mailboxes (per mailbox, named, scoped to IMAP and/or SMTP; only the hash of
 * the secret is stored). Tenant-owned: a tenant scope sees and revokes its own tenant's only.
 */
import type { Insertable } from 'kysely';
import type { AppPasswordsTable } from '../tables/access.table.js';
import { Repo } from './base.js';

/** An app password as listed (never its hash). */
export interface AppPasswordRow {
  id: string;
  mailbox_id: string;
  name: string;
  scopes: string;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const LISTED = ['id', 'mailbox_id', 'name', 'scopes', 'created_by', 'created_at', 'last_used_at', 'revoked_at'] as const;

export class AppPasswordsRepo extends Repo {
  /** How many unrevoked app passwords the mailbox has. */
  async countLive(mailboxId: string): Promise<number> {
    const row = await this.scoped(
      this.db
        .selectFrom('app_passwords')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('mailbox_id', '=', mailboxId)
        .where('revoked_at', 'is', null),
    ).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(row: Insertable<AppPasswordsTable>): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('app_passwords').values(row).execute();
  }

  /** The mailbox's app passwords, oldest first; revoked ones only when asked. */
  async list(mailboxId: string, includeRevoked: boolean): Promise<AppPasswordRow[]> {
    let q = this.scoped(this.db.selectFrom('app_passwords').select(LISTED).where('mailbox_id', '=', mailboxId));
    if (!includeRevoked) q = q.where('revoked_at', 'is', null);
    return q.orderBy('created_at').orderBy('id').execute();
  }

  /** One app password of the mailbox, or undefined. */
  async find(mailboxId: string, id: string): Promise<AppPasswordRow | undefined> {
    return this.scoped(this.db.selectFrom('app_passwords').select(LISTED).where('id', '=', id).where('mailbox_id', '=', mailboxId)).executeTakeFirst();
  }

  async revoke(id: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('app_passwords').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null)).execute();
  }

  /** Revokes every live app password of a mailbox; returns their ids. */
  async revokeAllLive(mailboxId: string, now: number): Promise<string[]> {
    const live = await this.scoped(this.db.selectFrom('app_passwords').select('id').where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null)).execute();
    if (live.length) await this.scoped(this.db.updateTable('app_passwords').set({ revoked_at: now }).where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null)).execute();
    return live.map((r) => r.id);
  }

  // ---- a look-up on the offboarding aggregate (kept here until OffboardingRepo offers it) ------

  /** True when the mailbox was offboarded (an applied offboarding exists): it gets no new credentials. */
  async mailboxOffboarded(mailboxId: string): Promise<boolean> {
    const row = await this.scoped(this.db.selectFrom('offboardings').select('id').where('mailbox_id', '=', mailboxId).where('status', '=', 'applied')).executeTakeFirst();
    return !!row;
  }
}
