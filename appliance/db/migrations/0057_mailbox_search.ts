import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// The mailbox list's search (`?q=`, a substring of the address, display name, owner name or owner
// email) at 10,000 mailboxes a tenant (issue 18): on SQLite an FTS5 trigram index of those four
// fields gives the candidates (detail=none: which mailboxes hold a trigram, not where), instead
// of lower() and LIKE on every row of the tenant. The FTS rowid is the integer key of
// `mailbox_search_keys` (a mailbox's own rowid is not stable: its key is text, and VACUUM may
// renumber such rows); triggers on `mailboxes` keep both in step whatever path writes a mailbox.
// PostgreSQL runs the search off this process already: nothing here (the scan answers as before).
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) !== 'sqlite') return;
  await sql`create table mailbox_search_keys (id integer primary key, mailbox_id text not null unique)`.execute(db);
  await sql`create virtual table mailbox_fts using fts5(address, display_name, owner_name, owner_email, tokenize='trigram', detail=none)`.execute(db);
  await sql`create trigger mailboxes_search_ai after insert on mailboxes begin
      insert into mailbox_search_keys(mailbox_id) values (new.id);
      insert into mailbox_fts(rowid, address, display_name, owner_name, owner_email)
        values ((select id from mailbox_search_keys where mailbox_id = new.id), new.address, coalesce(new.display_name, ''), new.owner_name, new.owner_email);
    end`.execute(db);
  await sql`create trigger mailboxes_search_au after update of address, display_name, owner_name, owner_email on mailboxes begin
      delete from mailbox_fts where rowid = (select id from mailbox_search_keys where mailbox_id = old.id);
      insert into mailbox_fts(rowid, address, display_name, owner_name, owner_email)
        values ((select id from mailbox_search_keys where mailbox_id = new.id), new.address, coalesce(new.display_name, ''), new.owner_name, new.owner_email);
    end`.execute(db);
  await sql`create trigger mailboxes_search_ad after delete on mailboxes begin
      delete from mailbox_fts where rowid = (select id from mailbox_search_keys where mailbox_id = old.id);
      delete from mailbox_search_keys where mailbox_id = old.id;
    end`.execute(db);
  await sql`insert into mailbox_search_keys(mailbox_id) select id from mailboxes`.execute(db);
  await sql`insert into mailbox_fts(rowid, address, display_name, owner_name, owner_email)
      select k.id, m.address, coalesce(m.display_name, ''), m.owner_name, m.owner_email from mailboxes m join mailbox_search_keys k on k.mailbox_id = m.id`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
