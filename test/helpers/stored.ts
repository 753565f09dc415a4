/**
 * Reads what the mail store holds, straight from the data dir (SQLite opened read-only beside
 * the running appliance, blobs from disk): proof that a message is durably stored.
 */
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface StoredMessage {
  folder: string;
  uid: number;
  flags: string;
  raw: string;
  blobId: string;
  messageId: number;
}

export function storedMessages(dataDir: string, address: string, folder?: string): StoredMessage[] {
  const db = new Database(path.join(dataDir, 'postern.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        `select f.name as folder, fm.uid as uid, fm.flags as flags, m.blob_id as blobId, m.header_prefix as prefix, m.id as messageId
           from folder_messages fm join folders f on f.id = fm.folder_id join messages m on m.id = fm.message_id
           join mailboxes mb on mb.id = f.mailbox_id
          where mb.address = ? ${folder ? 'and f.name = ?' : ''} order by f.name, fm.uid`,
      )
      .all(...(folder ? [address, folder] : [address])) as Array<{ folder: string; uid: number; flags: string; blobId: string; prefix: string; messageId: number }>;
    return rows.map((r) => ({
      folder: r.folder,
      uid: r.uid,
      flags: r.flags,
      blobId: r.blobId,
      messageId: r.messageId,
      raw: r.prefix + readFileSync(path.join(dataDir, 'blobs', r.blobId.slice(0, 2), r.blobId), 'utf8'),
    }));
  } finally {
    db.close();
  }
}

/** Waits until `predicate` holds for the stored messages (deliveries are acknowledged before this reads). */
export function findStored(dataDir: string, address: string, needle: string, folder?: string): StoredMessage | undefined {
  return storedMessages(dataDir, address, folder).find((m) => m.raw.includes(needle));
}
