import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// SEARCH BODY/TEXT from an index built at ingest (issue 18): the searchable text of each stored
// message once (decoded text parts, lower-cased; the decoded header fields for TEXT), deleted
// with its message (foreign key, on delete cascade). `complete` is 0 when the text was cut at the
// ingest bound: SEARCH reads such messages as before. Rows stored before this migration have no
// row until the background backfill (mailstore/fulltext-backfill.ts) reaches them.
// The index itself is engine-specific: SQLite an FTS5 table with the trigram tokenizer over this
// table (external content, kept in step by triggers; detail=none: which messages hold a trigram,
// not where, a twentieth of the size — candidates are checked on the text anyway); PostgreSQL pg_trgm GIN indexes (LIKE).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('message_text')
    .addColumn('message_id', 'integer', (c) => c.primaryKey().references('messages.id').onDelete('cascade'))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('head', 'text', (c) => c.notNull())
    .addColumn('complete', 'integer', (c) => c.notNull())
    .execute();
  if (dialectOf(db) === 'sqlite') {
    await sql`create virtual table message_fts using fts5(body, head, content='message_text', content_rowid='message_id', tokenize='trigram', detail=none)`.execute(db);
    await sql`create trigger message_text_ai after insert on message_text begin
      insert into message_fts(rowid, body, head) values (new.message_id, new.body, new.head);
    end`.execute(db);
    await sql`create trigger message_text_ad after delete on message_text begin
      insert into message_fts(message_fts, rowid, body, head) values ('delete', old.message_id, old.body, old.head);
    end`.execute(db);
    await sql`create trigger message_text_au after update on message_text begin
      insert into message_fts(message_fts, rowid, body, head) values ('delete', old.message_id, old.body, old.head);
      insert into message_fts(rowid, body, head) values (new.message_id, new.body, new.head);
    end`.execute(db);
    return;
  }
  // pg_trgm ships with PostgreSQL (Debian: postgresql-15) and is a trusted extension: the
  // database owner may create it. Without it, LIKE answers the same, by a scan of the folder's rows.
  const { rows } = await sql<{ ok: boolean }>`
    select exists (select 1 from pg_extension where extname = 'pg_trgm')
        or (exists (select 1 from pg_available_extensions where name = 'pg_trgm')
            and has_database_privilege(current_database(), 'CREATE')) as ok`.execute(db);
  if (!rows[0]?.ok) return;
  await sql`create extension if not exists pg_trgm`.execute(db);
  await sql`create index message_text_body_trgm on message_text using gin (body gin_trgm_ops)`.execute(db);
  await sql`create index message_text_head_trgm on message_text using gin (head gin_trgm_ops)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
