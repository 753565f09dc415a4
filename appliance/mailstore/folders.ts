/**
 * The standard folders every mailbox starts with, and UIDVALIDITY allocation.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { SpecialUse } from './store.types.js';

export const DEFAULT_FOLDERS: ReadonlyArray<{ name: string; specialUse: SpecialUse | null }> = [
  { name: 'INBOX', specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

let lastValidity = 0;
/** A UIDVALIDITY that is new for this appliance: seconds since epoch, strictly increasing per process. */
export function newUidValidity(now = Date.now()): number {
  lastValidity = Math.max(lastValidity + 1, Math.floor(now / 1000));
  return lastValidity;
}

/** Creates INBOX, Sent, Drafts, Trash, Junk and Archive (subscribed) for a new mailbox. Call inside the creating transaction. */
export async function createDefaultFolders(db: Kysely<DB>, mailboxId: string, now: number): Promise<void> {
  await db
    .insertInto('folders')
    .values(DEFAULT_FOLDERS.map((f) => ({ mailbox_id: mailboxId, name: f.name, special_use: f.specialUse, uid_validity: newUidValidity(now), created_at: now })))
    .execute();
  await db
    .insertInto('subscriptions')
    .values(DEFAULT_FOLDERS.map((f) => ({ mailbox_id: mailboxId, name: f.name })))
    .execute();
}
