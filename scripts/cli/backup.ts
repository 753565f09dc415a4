/**
 * `postern backup` and `postern restore`: run on the appliance's box, on its data dir.
 * - backup: an online, consistent snapshot (database + the blobs it refers to + secrets key and
 *   TLS files) into a backup repository; incremental for blobs (appliance/backup/backup.ts).
 * - restore --data-dir: a whole snapshot into an empty data dir, verified (appliance/backup/restore.ts);
 *   with POSTERN_DATABASE_URL + POSTERN_BLOB_STORE=s3 (a cluster) the dump goes into that empty
 *   database and the blobs into the bucket, the data dir keeps the node's local files.
 * - restore --mailbox: one mailbox (or one folder) back into the LIVE appliance through its API
 *   (the appliance reads the snapshot and stores the mail through its one ingest path, so open
 *   IMAP sessions see it at once; audited).
 */
import path from 'node:path';
import { loadConfig, type StorageConfig } from '../../appliance/config.js';
import { BackupError } from '../../appliance/backup/manifest.js';
import type { Group } from './command.js';
import { call, EXIT, UsageError } from './context.js';
import { bytes, emit, fields } from './output.js';
import { findMailbox } from './resolve.js';

type Storage = Pick<StorageConfig, 'blobStore' | 's3'>;

/** The blob store settings of the environment (POSTERN_BLOB_STORE=s3 on a cluster node), read even when --data-dir names the data dir. */
function storageOf(dataDir: string): Storage {
  if ((process.env.POSTERN_BLOB_STORE ?? 'fs').trim().toLowerCase() !== 's3') return { blobStore: 'fs', s3: null };
  try {
    return loadConfig({ ...process.env, ...(dataDir ? { POSTERN_DATA_DIR: dataDir } : {}) }).storage;
  } catch (err) {
    throw new UsageError(`cannot read the S3 settings (${(err as Error).message})`);
  }
}

function settings(opts: Record<string, string | boolean | undefined>): { dataDir: string; databaseUrl: string | null; storage: Storage } {
  let dataDir = typeof opts['data-dir'] === 'string' ? opts['data-dir'] : '';
  let databaseUrl: string | null = process.env.POSTERN_DATABASE_URL?.trim() || null;
  if (!dataDir) {
    try {
      const config = loadConfig(process.env);
      dataDir = config.dataDir;
      databaseUrl = config.storage.databaseUrl ?? databaseUrl;
    } catch (err) {
      throw new UsageError(`cannot read the appliance configuration (${(err as Error).message}); name the data dir with --data-dir`);
    }
  }
  const storage = storageOf(dataDir);
  if (storage.blobStore === 's3' && !databaseUrl) throw new UsageError('POSTERN_BLOB_STORE=s3 is a cluster: set POSTERN_DATABASE_URL too');
  return { dataDir: path.resolve(dataDir), databaseUrl, storage };
}

const err = (e: unknown) => {
  if (e instanceof BackupError) {
    process.stderr.write(`postern: ${e.message}\n`);
    return EXIT.refused;
  }
  throw e;
};

export const backupGroup: Group = {
  name: 'backup',
  summary: 'An online, consistent backup of this appliance or cluster node (database + mail blobs, from the folder or S3), incremental',
  commands: {
    '': {
      summary: 'Snapshot the database and copy the mail blobs it refers to into DIR (only blobs not already there)',
      usage: '',
      options: {
        out: { type: 'string', description: 'the backup directory (created; reused by later backups)', required: true },
        'data-dir': { type: 'string', description: 'the appliance data dir (default: POSTERN_DATA_DIR)' },
      },
      async run(ctx, _args, opts) {
        const { dataDir, databaseUrl, storage } = settings(opts);
        const started = Date.now();
        try {
          // Loaded here: the other commands do not pay for the backup engine (better-sqlite3, pg_dump glue).
          const { takeBackup } = await import('../../appliance/backup/backup.js');
          const m = await takeBackup({ dataDir, databaseUrl, storage, out: path.resolve(String(opts.out)), progress: ctx.json ? undefined : (l) => ctx.out(l) });
          const summary = {
            snapshot: m.snapshot,
            created: m.created,
            dir: path.resolve(String(opts.out)),
            database: m.database,
            blobs: m.blobs.length,
            ...m.stats,
            seconds: (Date.now() - started) / 1000,
          };
          emit(ctx, summary, () =>
            fields(ctx, [
              ['snapshot', m.snapshot],
              ['database', `${m.database.engine}, ${bytes(m.database.size)}, sha256 ${m.database.sha256.slice(0, 16)}…`],
              ['blobs', `${m.blobs.length} (${m.stats.blobsCopied} copied, ${bytes(m.stats.bytesCopied)}; ${m.stats.blobsReused} already in the backup)`],
              ['took', `${summary.seconds.toFixed(1)} s`],
            ]),
          );
        } catch (e) {
          return err(e);
        }
      },
    },
  },
};

export const restoreGroup: Group = {
  name: 'restore',
  summary: 'Restore a backup into an empty data dir, or one mailbox into the running appliance',
  commands: {
    '': {
      summary: 'With --data-dir: the whole snapshot into an empty data dir. With --mailbox: that mailbox (or --folder) into the live appliance',
      usage: '',
      options: {
        from: { type: 'string', description: 'the backup directory (or one snapshot folder in it)', required: true },
        snapshot: { type: 'string', description: 'the snapshot name (default: the newest)' },
        'data-dir': { type: 'string', description: 'the empty data dir to restore into (whole restore; on a cluster node: its local files, the blobs go to POSTERN_S3_BUCKET)' },
        mailbox: { type: 'string', description: 'the address of the mailbox to restore into the live appliance' },
        folder: { type: 'string', description: 'with --mailbox: only this folder' },
      },
      async run(ctx, _args, opts) {
        const from = path.resolve(String(opts.from));
        if (opts.mailbox !== undefined) {
          if (opts['data-dir'] !== undefined) throw new UsageError('--mailbox restores into the running appliance; --data-dir restores a whole backup: use one');
          const mb = await findMailbox(ctx, String(opts.mailbox));
          const body = { from, ...(opts.snapshot ? { snapshot: String(opts.snapshot) } : {}), ...(opts.folder ? { folder: String(opts.folder) } : {}) };
          const r = await call(ctx, 'POST', `/mailboxes/${mb.id}/restore-from-backup`, body);
          emit(ctx, r, () => {
            fields(ctx, [
              ['mailbox', r.address],
              ['snapshot', `${r.snapshot} (${r.created})`],
              ['restored', `${r.restored} messages (${r.skipped} already present)`],
            ]);
            for (const f of r.folders as Array<{ name: string; restored: number; skipped: number; created: boolean }>)
              ctx.out(`  ${f.name}: ${f.restored} restored, ${f.skipped} present${f.created ? ' (folder re-created)' : ''}`);
          });
          return;
        }
        if (opts['data-dir'] === undefined) throw new UsageError('name the target: --data-dir DIR (a whole restore) or --mailbox ADDRESS (one mailbox into the live appliance)');
        const dataDir = path.resolve(String(opts['data-dir']));
        const storage = storageOf(dataDir);
        try {
          const started = Date.now();
          const { restoreBackup } = await import('../../appliance/backup/restore.js');
          const m = await restoreBackup({
            from,
            snapshot: opts.snapshot ? String(opts.snapshot) : undefined,
            dataDir,
            databaseUrl: process.env.POSTERN_DATABASE_URL?.trim() || null,
            storage,
            progress: ctx.json ? undefined : (l) => ctx.out(l),
          });
          const summary = { snapshot: m.snapshot, created: m.created, dataDir, blobs: m.blobs.length, files: m.files.map((f) => f.path), seconds: (Date.now() - started) / 1000 };
          emit(ctx, summary, () => {
            fields(ctx, [
              ['restored', `${m.snapshot} (taken ${m.created})`],
              ['data dir', dataDir],
              ['blobs', `${m.blobs.length}, every checksum verified${storage.s3 ? `, uploaded to the S3 bucket ${storage.s3.bucket}` : ''}`],
              ['took', `${summary.seconds.toFixed(1)} s`],
            ]);
            ctx.out(`Start the appliance with POSTERN_DATA_DIR=${dataDir}.`);
          });
        } catch (e) {
          return err(e);
        }
      },
    },
  },
};
