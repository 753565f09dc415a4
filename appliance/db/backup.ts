/**
 * Database side of `postern backup` / `postern restore` (the dialect-specific part lives here,
 * as appliance/db/ is where engine-specific SQL belongs):
 * - SQLite: `VACUUM INTO` from a separate read connection. It runs in one read transaction, so
 *   the copy is a consistent snapshot of the last commit while the appliance keeps writing (WAL
 *   readers never block the writer) and it never restarts, unlike the page-by-page backup API
 *   under a busy writer.
 * - PostgreSQL: `pg_dump --format=custom` (one repeatable-read transaction: consistent too).
 * The blob ids a snapshot refers to are read from the snapshot itself, so a backup copies
 * exactly the blobs its database needs (blobs are immutable; copying them after the snapshot
 * guarantees every referenced one exists).
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import pg from 'pg';

/** A consistent copy of the live SQLite database at `liveFile` into `outFile` (must not exist). */
export function snapshotSqlite(liveFile: string, outFile: string): void {
  const src = new Database(liveFile, { readonly: true, fileMustExist: true });
  try {
    src.pragma('busy_timeout = 10000');
    src.prepare('VACUUM INTO ?').run(outFile);
  } finally {
    src.close();
  }
  // The copy is a rollback-journal database; make it durable before the manifest names it.
  const copy = new Database(outFile);
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

/** The blob ids the database snapshot at `file` refers to, ascending. */
export function referencedBlobsSqlite(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT DISTINCT blob_id FROM messages ORDER BY blob_id').all() as Array<{ blob_id: string }>;
    return rows.map((r) => r.blob_id);
  } finally {
    db.close();
  }
}

/** SQLite's own check of a restored or backed-up file ("ok" when sound). */
export function integrityCheckSqlite(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${cmd} failed (exit ${code}): ${Buffer.concat(err).toString('utf8').trim()}`));
    });
  });
}

/** `pg_dump` of the database at `url` into `outFile` (custom format, restorable with pg_restore). */
export async function snapshotPostgres(url: string, outFile: string, pgBin = process.env.POSTERN_PG_BIN ?? ''): Promise<void> {
  const bin = pgBin ? `${pgBin}/pg_dump` : 'pg_dump';
  await run(bin, ['--format=custom', '--no-owner', '--no-privileges', `--file=${outFile}`, `--dbname=${url}`]);
}

/** `pg_restore` of a `snapshotPostgres` file into the (empty) database at `url`. */
export async function restorePostgres(url: string, dumpFile: string, pgBin = process.env.POSTERN_PG_BIN ?? ''): Promise<void> {
  const bin = pgBin ? `${pgBin}/pg_restore` : 'pg_restore';
  await run(bin, ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${url}`, dumpFile]);
}

/** The tables in the database at `url` (outside PostgreSQL's own schemas): a restore target must have none. */
export async function postgresTables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const r = await client.query<{ name: string }>(
      "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    return r.rows.map((x) => x.name);
  } finally {
    await client.end();
  }
}

/**
 * The blob ids a `snapshotPostgres` dump refers to, read from the dump itself (the COPY data of
 * its messages table), so they match the snapshot exactly.
 */
export async function referencedBlobsPostgres(dumpFile: string, pgBin = process.env.POSTERN_PG_BIN ?? ''): Promise<string[]> {
  const bin = pgBin ? `${pgBin}/pg_restore` : 'pg_restore';
  const out = await run(bin, ['--data-only', '--table=messages', '--file=-', dumpFile]);
  const ids = new Set<string>();
  let column = -1;
  for (const line of out.split('\n')) {
    if (column < 0) {
      const m = /^COPY \S*messages \(([^)]*)\) FROM stdin;$/.exec(line);
      if (m)
        column = m[1]!
          .split(',')
          .map((c) => c.trim().replace(/"/g, ''))
          .indexOf('blob_id');
      continue;
    }
    if (line === '\\.') break;
    const id = line.split('\t')[column];
    if (id) ids.add(id);
  }
  return [...ids].sort();
}

export interface BackupFolder {
  name: string;
  specialUse: string | null;
  entries: Array<{ uid: number; flags: string; internalDate: number; size: number; blobId: string; headerPrefix: string }>;
}

/** One mailbox's folders and entries in a SQLite backup snapshot (point-in-time restore); null when the snapshot has no such mailbox. */
export function readBackupMailbox(file: string, mailboxId: string): { address: string; folders: BackupFolder[] } | null {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const mb = db.prepare('SELECT address FROM mailboxes WHERE id = ?').get(mailboxId) as { address: string } | undefined;
    if (!mb) return null;
    const folders = db.prepare('SELECT id, name, special_use FROM folders WHERE mailbox_id = ? ORDER BY name').all(mailboxId) as Array<{ id: number; name: string; special_use: string | null }>;
    const entries = db.prepare(
      'SELECT fm.uid, fm.flags, fm.internal_date, fm.size, m.blob_id, m.header_prefix FROM folder_messages fm JOIN messages m ON m.id = fm.message_id WHERE fm.folder_id = ? ORDER BY fm.uid',
    );
    return {
      address: mb.address,
      folders: folders.map((f) => ({
        name: f.name,
        specialUse: f.special_use,
        entries: (entries.all(f.id) as Array<{ uid: number; flags: string; internal_date: number; size: number; blob_id: string; header_prefix: string }>).map((e) => ({
          uid: Number(e.uid),
          flags: e.flags,
          internalDate: Number(e.internal_date),
          size: Number(e.size),
          blobId: e.blob_id,
          headerPrefix: e.header_prefix ?? '',
        })),
      })),
    };
  } finally {
    db.close();
  }
}
