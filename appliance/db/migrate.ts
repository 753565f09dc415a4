import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import * as m0001 from './migrations/0001_control.js';
import * as m0002 from './migrations/0002_mailstore.js';
import * as m0003 from './migrations/0003_sending.js';
import * as m0004 from './migrations/0004_principals.js';
import * as m0005 from './migrations/0005_control_model.js';
import * as m0006 from './migrations/0006_totp_replay.js';
import * as m0007 from './migrations/0007_portfolio.js';
import * as m0010 from './migrations/0010_access.js';
import * as m0011 from './migrations/0011_resets.js';
import * as m0012 from './migrations/0012_auto_replies.js';
import * as m0013 from './migrations/0013_owner_totp.js';
import * as m0014 from './migrations/0014_totp_encrypted.js';
import * as m0016 from './migrations/0016_imap_recent.js';
import * as m0017 from './migrations/0017_imap_savedate_sort_keys.js';
import * as m0018 from './migrations/0018_role_addresses.js';
import * as m0019 from './migrations/0019_role_address_backfill.js';
import * as m0021 from './migrations/0021_spam.js';
import * as m0022 from './migrations/0022_imap_sort_keys_in_folder_index.js';
import * as m0025 from './migrations/0025_leases.js';
import * as m0026 from './migrations/0026_shared_limits.js';
import * as m0030 from './migrations/0030_imap_migrations.js';
import * as m0033 from './migrations/0033_migration_batches.js';
import * as m0040 from './migrations/0040_mailbox_grants.js';
import * as m0041 from './migrations/0041_owners_manage_sharing.js';
import * as m0042 from './migrations/0042_member_seen.js';
import * as m0045 from './migrations/0045_mailbox_list_indexes.js';
import * as m0050 from './migrations/0050_folder_message_count.js';
import * as m0051 from './migrations/0051_folder_index_heads.js';
import * as m0053 from './migrations/0053_imap_folder_entry_index.js';
import * as m0054 from './migrations/0054_unsynced_blobs.js';
import * as m0058 from './migrations/0058_folder_sort_keys.js';
import * as m0044 from './migrations/0044_message_text.js';
import * as m0060 from './migrations/0060_mailbox_search_text_index.js';
import * as m0061 from './migrations/0061_folder_envelope_chunks.js';
import type { DB } from './schema.js';

/** Migrations are listed here (not read from disk) so the compiled build is self-contained. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_control': m0001,
  '0002_mailstore': m0002,
  '0003_sending': m0003,
  '0004_principals': m0004,
  '0005_control_model': m0005,
  '0006_totp_replay': m0006,
  '0007_portfolio': m0007,
  '0010_access': m0010,
  '0011_resets': m0011,
  '0012_auto_replies': m0012,
  '0013_owner_totp': m0013,
  '0014_totp_encrypted': m0014,
  '0016_imap_recent': m0016,
  '0017_imap_savedate_sort_keys': m0017,
  '0018_role_addresses': m0018,
  '0019_role_address_backfill': m0019,
  '0021_spam': m0021,
  '0022_imap_sort_keys_in_folder_index': m0022,
  '0025_leases': m0025,
  '0026_shared_limits': m0026,
  '0030_imap_migrations': m0030,
  '0033_migration_batches': m0033,
  '0040_mailbox_grants': m0040,
  '0041_owners_manage_sharing': m0041,
  '0042_member_seen': m0042,
  '0045_mailbox_list_indexes': m0045,
  '0044_message_text': m0044,
  '0050_folder_message_count': m0050,
  '0051_folder_index_heads': m0051,
  '0053_imap_folder_entry_index': m0053,
  '0054_unsynced_blobs': m0054,
  '0058_folder_sort_keys': m0058,
  '0060_mailbox_search_text_index': m0060,
  '0061_folder_envelope_chunks': m0061,
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export async function migrateToLatest(db: Kysely<DB>): Promise<string[]> {
  // Numbers are handed out to work in parallel (issue 18): a database migrated past a number
  // that lands later still gets it (in name order among the pending ones).
  const migrator = new Migrator({ db, provider: new StaticProvider(), allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
