/**
 * IMAP migration jobs and their per-folder progress (issue 20). Tenant-owned: a tenant scope
 * sees and changes its own tenant's jobs only. The sealed source secret is read by
 * `secretOf` alone (the runner); listed rows never carry it.
 */
import type { Insertable, Updateable } from 'kysely';
import type { ImapMigrationFolderRow, ImapMigrationFoldersTable, ImapMigrationRow, ImapMigrationsTable } from '../tables/migrations.table.js';
import { Repo } from './base.js';

export type MigrationRow = Omit<ImapMigrationRow, 'source_secret'> & { has_secret: boolean };

const COLUMNS = [
  'id',
  'tenant_id',
  'mailbox_id',
  'state',
  'source_host',
  'source_port',
  'source_tls',
  'source_user',
  'source_auth',
  'folders',
  'messages',
  'bytes',
  'total_messages',
  'total_bytes',
  'runs',
  'report',
  'error',
  'created_by',
  'created_from',
  'created_at',
  'started_at',
  'finished_at',
  'updated_at',
] as const;

const NUMERIC = ['source_port', 'messages', 'bytes', 'total_messages', 'total_bytes', 'runs', 'created_at', 'updated_at'] as const;

function toRow(r: Omit<ImapMigrationRow, 'source_secret'> & { source_secret?: string | null }): MigrationRow {
  const out = { ...r } as Record<string, unknown>;
  for (const k of NUMERIC) out[k] = Number(r[k]);
  out.started_at = r.started_at === null ? null : Number(r.started_at);
  out.finished_at = r.finished_at === null ? null : Number(r.finished_at);
  out.has_secret = r.source_secret !== null && r.source_secret !== undefined;
  delete out.source_secret;
  return out as MigrationRow;
}

function toFolder(r: ImapMigrationFolderRow): ImapMigrationFolderRow {
  return {
    ...r,
    position: Number(r.position),
    uid_validity: r.uid_validity === null ? null : Number(r.uid_validity),
    last_uid: Number(r.last_uid),
    copied: Number(r.copied),
    bytes: Number(r.bytes),
    total: Number(r.total),
    total_bytes: Number(r.total_bytes),
    done: Number(r.done),
  };
}

export class MigrationsRepo extends Repo {
  async insert(row: Insertable<ImapMigrationsTable>): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('imap_migrations').values(row).execute();
  }

  async find(id: string): Promise<MigrationRow | undefined> {
    const r = await this.scoped(
      this.db
        .selectFrom('imap_migrations')
        .select([...COLUMNS, 'source_secret'])
        .where('id', '=', id),
    ).executeTakeFirst();
    return r ? toRow(r) : undefined;
  }

  /** A mailbox's jobs, newest first. */
  async listForMailbox(mailboxId: string, limit = 100): Promise<MigrationRow[]> {
    const rows = await this.scoped(
      this.db
        .selectFrom('imap_migrations')
        .select([...COLUMNS, 'source_secret'])
        .where('mailbox_id', '=', mailboxId),
    )
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toRow);
  }

  /** The job of the mailbox that is queued or running, if any (one at a time per mailbox). */
  async activeForMailbox(mailboxId: string): Promise<string | undefined> {
    const r = await this.scoped(this.db.selectFrom('imap_migrations').select('id').where('mailbox_id', '=', mailboxId).where('state', 'in', ['queued', 'running'])).executeTakeFirst();
    return r?.id;
  }

  /** The sealed source secret (the runner opens it); null once wiped. */
  async secretOf(id: string): Promise<string | null> {
    const r = await this.scoped(this.db.selectFrom('imap_migrations').select('source_secret').where('id', '=', id)).executeTakeFirst();
    return r?.source_secret ?? null;
  }

  async update(id: string, patch: Updateable<ImapMigrationsTable>): Promise<void> {
    await this.scoped(this.db.updateTable('imap_migrations').set(patch).where('id', '=', id)).execute();
  }

  /** Moves the job from one of `from` to `to`; false when it was in none of them (someone else moved it). */
  async transition(id: string, from: string[], patch: Updateable<ImapMigrationsTable> & { state: string }): Promise<boolean> {
    const r = await this.scoped(this.db.updateTable('imap_migrations').set(patch).where('id', '=', id).where('state', 'in', from)).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Ids of the jobs in a state, oldest first (the runner's recovery at boot). */
  /** Job ids in a state, oldest first; `updatedBefore`: only those without progress since then. */
  async idsInState(state: string, updatedBefore?: number): Promise<string[]> {
    let q = this.scoped(this.db.selectFrom('imap_migrations').select('id').where('state', '=', state));
    if (updatedBefore !== undefined) q = q.where('updated_at', '<', updatedBefore);
    const rows = await q.orderBy('created_at').execute();
    return rows.map((r) => r.id);
  }

  // ---- folders -----------------------------------------------------------------------------

  async folders(id: string): Promise<ImapMigrationFolderRow[]> {
    const rows = await this.scoped(this.db.selectFrom('imap_migration_folders').selectAll().where('migration_id', '=', id))
      .orderBy('position')
      .execute();
    return rows.map(toFolder);
  }

  async insertFolder(row: Insertable<ImapMigrationFoldersTable>): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('imap_migration_folders').values(row).execute();
  }

  async updateFolder(id: string, source: string, patch: Updateable<ImapMigrationFoldersTable>): Promise<void> {
    await this.scoped(this.db.updateTable('imap_migration_folders').set(patch).where('migration_id', '=', id).where('source', '=', source)).execute();
  }

  /** A batch stored: the folder's high-water UID and both counters move together. */
  async recordCopied(id: string, source: string, lastUid: number, count: number, bytes: number, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('imap_migration_folders')
        .set((eb) => ({ last_uid: lastUid, copied: eb('copied', '+', count), bytes: eb('bytes', '+', bytes) }))
        .where('migration_id', '=', id)
        .where('source', '=', source),
    ).execute();
    await this.scoped(
      this.db
        .updateTable('imap_migrations')
        .set((eb) => ({ messages: eb('messages', '+', count), bytes: eb('bytes', '+', bytes), updated_at: now }))
        .where('id', '=', id),
    ).execute();
  }

  /** The job's totals: the sums of its folders' source counts. */
  async refreshTotals(id: string): Promise<void> {
    const t = await this.scoped(
      this.db
        .selectFrom('imap_migration_folders')
        .select((eb) => [eb.fn.sum<number>('total').as('n'), eb.fn.sum<number>('total_bytes').as('b')])
        .where('migration_id', '=', id),
    ).executeTakeFirst();
    await this.scoped(
      this.db
        .updateTable('imap_migrations')
        .set({ total_messages: Number(t?.n ?? 0), total_bytes: Number(t?.b ?? 0) })
        .where('id', '=', id),
    ).execute();
  }
}
