/**
 * `postern migrate`, the database half: copies every table of a single node's SQLite database
 * into an (already migrated) PostgreSQL database in foreign-key order, in batches, each batch
 * committed together with its progress mark, so an interrupted run continues where it stopped.
 * Bookkeeping lives in the target in `postern_move_*` tables: which source this is, how far each
 * table got, and which source blob became which target blob (blob ids are re-issued by the
 * target store; `messages.blob_id` is rewritten on the way).
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { advanceSequences, type SourceTable, sqliteBatch, sqliteRemaining, sqliteTables } from './move-adapter.js';

/** Kysely handles without the schema's types: the move copies whatever tables the source has. */
type AnyDb = Kysely<any>;

export class MoveRefused extends Error {}

/** The source's identity: the install time kysely recorded for its first migration, and the tenant ids. */
export async function sourceFingerprint(source: AnyDb): Promise<string> {
  const first = await source.selectFrom('kysely_migration').select(['name', 'timestamp']).orderBy('name').limit(1).executeTakeFirst();
  if (!first) throw new MoveRefused('the source database has never been migrated: is this a Postern data dir?');
  const tenants = await source.selectFrom('tenants').select('id').orderBy('id').execute();
  return createHash('sha256')
    .update(`${first.name}\u0000${first.timestamp}\u0000${tenants.map((t) => t.id).join(',')}`)
    .digest('hex')
    .slice(0, 32);
}

/** Creates the bookkeeping tables on the target (idempotent). */
async function ensureBookkeeping(target: AnyDb): Promise<void> {
  await target.schema
    .createTable('postern_move_state')
    .ifNotExists()
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await target.schema
    .createTable('postern_move_tables')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('last_rowid', 'bigint', (c) => c.notNull())
    .addColumn('copied', 'bigint', (c) => c.notNull())
    .execute();
  await target.schema
    .createTable('postern_move_blobs')
    .ifNotExists()
    .addColumn('source_id', 'text', (c) => c.primaryKey())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .execute();
}

/** Tables the migrations seed with a row of their own (the audit chain's genesis head). */
const SEEDED = ['audit_head'];

/** A seeded table holding only what the migration put there (the chain head at genesis, no events yet). */
async function isSeededGenesis(target: AnyDb, table: string): Promise<boolean> {
  if (!SEEDED.includes(table)) return false;
  const events = await target.selectFrom('audit_events').select('id').limit(1).executeTakeFirst();
  const head = await target.selectFrom('audit_head').select(['seq']).execute();
  return !events && head.every((h) => Number(h.seq) === 0);
}

/** Tables in an order where every table comes after the tables it refers to. */
export function dependencyOrder(tables: SourceTable[]): SourceTable[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const out: SourceTable[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: SourceTable) => {
    const s = state.get(t.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`foreign keys form a cycle through ${t.name}`);
    state.set(t.name, 'visiting');
    for (const d of t.dependsOn) {
      const dep = byName.get(d);
      if (dep) visit(dep);
    }
    state.set(t.name, 'done');
    out.push(t);
  };
  for (const t of [...tables].sort((a, b) => a.name.localeCompare(b.name))) visit(t);
  return out;
}

export interface MovePlan {
  fingerprint: string;
  tables: SourceTable[];
  /** True when the target already holds a partial (or finished) move of this same source. */
  resuming: boolean;
}

/**
 * Checks the target: empty (a fresh move), or holding a move of the same source (resume);
 * anything else is refused with the reason.
 */
export async function planMove(source: AnyDb, target: AnyDb): Promise<MovePlan> {
  const fingerprint = await sourceFingerprint(source);
  const tables = dependencyOrder(await sqliteTables(source));
  await ensureBookkeeping(target);
  const recorded = await target.selectFrom('postern_move_state').select('value').where('key', '=', 'source').executeTakeFirst();
  if (recorded && recorded.value !== fingerprint) throw new MoveRefused('the target database holds a move of a different source appliance; use an empty database (or drop that one) to move this one');
  if (!recorded) {
    const busy: string[] = [];
    for (const t of tables) {
      if (await isSeededGenesis(target, t.name)) continue;
      const row = await target
        .selectFrom(t.name)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      if (Number(row?.n ?? 0) > 0) busy.push(t.name);
    }
    if (busy.length)
      throw new MoveRefused(
        `the target database is not empty (rows in ${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ', …' : ''}) and holds no earlier move of this source; postern migrate only fills an empty database`,
      );
    await target.transaction().execute(async (trx) => {
      // The migrations' genesis rows give way to the source's own.
      for (const name of SEEDED) await trx.deleteFrom(name).execute();
      await trx.insertInto('postern_move_state').values({ key: 'source', value: fingerprint }).execute();
    });
  }
  return { fingerprint, tables, resuming: !!recorded };
}

/** Distinct blob ids the source's messages refer to, in id order, after `after`. */
export async function sourceBlobIds(source: AnyDb, after: string, limit: number): Promise<string[]> {
  const rows = await source.selectFrom('messages').select('blob_id').distinct().where('blob_id', '>', after).orderBy('blob_id').limit(limit).execute();
  return rows.map((r) => r.blob_id as string);
}

export async function countSourceBlobs(source: AnyDb): Promise<number> {
  const row = await source
    .selectFrom('messages')
    .select((eb) => eb.fn.count<number>('blob_id').distinct().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Which of these source blob ids are copied already (source id → target id). */
export async function mappedBlobs(target: AnyDb, sourceIds: string[]): Promise<Map<string, string>> {
  if (!sourceIds.length) return new Map();
  const rows = await target.selectFrom('postern_move_blobs').select(['source_id', 'target_id']).where('source_id', 'in', sourceIds).execute();
  return new Map(rows.map((r) => [r.source_id as string, r.target_id as string]));
}

export async function recordBlob(target: AnyDb, row: { sourceId: string; targetId: string; size: number; sha256: string }): Promise<void> {
  await target.insertInto('postern_move_blobs').values({ source_id: row.sourceId, target_id: row.targetId, size: row.size, sha256: row.sha256 }).execute();
}

/** Every copied blob, in pages (for verification). */
export async function blobMapPage(target: AnyDb, after: string, limit: number): Promise<Array<{ sourceId: string; targetId: string; size: number; sha256: string }>> {
  const rows = await target.selectFrom('postern_move_blobs').selectAll().where('source_id', '>', after).orderBy('source_id').limit(limit).execute();
  return rows.map((r) => ({ sourceId: r.source_id as string, targetId: r.target_id as string, size: Number(r.size), sha256: r.sha256 as string }));
}

export interface TableProgress {
  table: string;
  copied: number;
  total: number;
}

/** Rewrites a batch of rows before insertion (messages: blob ids of the target store). */
export type RowRewriter = (table: string, rows: Array<Record<string, unknown>>) => Promise<void>;

/** Copies one table from its recorded position on; each batch and its progress mark commit together. */
async function copyTable(source: AnyDb, target: AnyDb, table: SourceTable, batchSize: number, rewrite: RowRewriter, onProgress: (p: TableProgress) => void): Promise<number> {
  const mark = await target.selectFrom('postern_move_tables').select(['last_rowid', 'copied']).where('name', '=', table.name).executeTakeFirst();
  let last = Number(mark?.last_rowid ?? 0);
  let copied = Number(mark?.copied ?? 0);
  const total = copied + (await sqliteRemaining(source, table.name, last));
  let now = 0;
  // PostgreSQL takes at most 65,535 parameters per statement.
  const rowsPerBatch = Math.max(1, Math.min(batchSize, Math.floor(60_000 / Math.max(1, table.columns.length))));
  onProgress({ table: table.name, copied, total });
  for (;;) {
    const batch = await sqliteBatch(source, table.name, last, rowsPerBatch);
    if (!batch.length) break;
    const rows = batch.map(({ __rowid: _r, ...rest }) => rest);
    await rewrite(table.name, rows);
    const nextLast = batch[batch.length - 1]!.__rowid;
    await target.transaction().execute(async (trx) => {
      await trx.insertInto(table.name).values(rows).execute();
      const progress = { last_rowid: nextLast, copied: copied + rows.length };
      await trx
        .insertInto('postern_move_tables')
        .values({ name: table.name, ...progress })
        .onConflict((oc) => oc.column('name').doUpdateSet(progress))
        .execute();
    });
    last = nextLast;
    copied += rows.length;
    now += rows.length;
    onProgress({ table: table.name, copied, total });
  }
  return now;
}

/** Copies every table (foreign-key order), then advances the target's serial sequences. Returns rows copied by this run per table. */
export async function copyTables(
  source: AnyDb,
  target: AnyDb,
  plan: MovePlan,
  opts: { batchSize: number; rewrite: RowRewriter; onProgress: (p: TableProgress) => void },
): Promise<{ copied: Record<string, number>; sequences: Array<{ table: string; column: string; next: number }> }> {
  const copied: Record<string, number> = {};
  for (const t of plan.tables) copied[t.name] = await copyTable(source, target, t, opts.batchSize, opts.rewrite, opts.onProgress);
  const sequences = await advanceSequences(target);
  await target.deleteFrom('postern_move_state').where('key', '=', 'finished').execute();
  await target.insertInto('postern_move_state').values({ key: 'finished', value: new Date().toISOString() }).execute();
  return { copied, sequences };
}

/** Row counts of each table on both sides. */
export async function compareRowCounts(source: AnyDb, target: AnyDb, tables: SourceTable[]): Promise<Array<{ table: string; source: number; target: number }>> {
  const count = async (db: AnyDb, name: string) =>
    Number(
      (
        await db
          .selectFrom(name)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirst()
      )?.n ?? 0,
    );
  const out: Array<{ table: string; source: number; target: number }> = [];
  for (const t of tables) out.push({ table: t.name, source: await count(source, t.name), target: await count(target, t.name) });
  return out;
}

/** Messages (folder entries) and their bytes per mailbox address. */
async function perMailbox(db: AnyDb): Promise<Map<string, { messages: number; bytes: number }>> {
  const rows = await db
    .selectFrom('folder_messages as fm')
    .innerJoin('folders as f', 'f.id', 'fm.folder_id')
    .innerJoin('mailboxes as mb', 'mb.id', 'f.mailbox_id')
    .select((eb) => ['mb.address as address', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('fm.size').as('bytes')])
    .groupBy('mb.address')
    .execute();
  return new Map(rows.map((r) => [r.address as string, { messages: Number(r.n), bytes: Number(r.bytes ?? 0) }]));
}

/** Per mailbox: message count and bytes on both sides. */
export async function compareMailboxes(source: AnyDb, target: AnyDb): Promise<Array<{ address: string; source: number; target: number; sourceBytes: number; targetBytes: number }>> {
  const [s, t] = [await perMailbox(source), await perMailbox(target)];
  const addresses = [...new Set([...s.keys(), ...t.keys()])].sort();
  return addresses.map((address) => ({
    address,
    source: s.get(address)?.messages ?? 0,
    target: t.get(address)?.messages ?? 0,
    sourceBytes: s.get(address)?.bytes ?? 0,
    targetBytes: t.get(address)?.bytes ?? 0,
  }));
}

/** Target messages whose blob id is not the one the move gave their source blob (should be none). */
export async function unmappedTargetMessages(target: AnyDb): Promise<number> {
  const row = await target
    .selectFrom('messages as m')
    .leftJoin('postern_move_blobs as b', 'b.target_id', 'm.blob_id')
    .where('b.target_id', 'is', null)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
