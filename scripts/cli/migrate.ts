/**
 * `postern migrate`: moves a stopped single-node appliance (SQLite database and blob folder in its
 * data dir) into the cluster's shared engines: PostgreSQL (POSTERN_DATABASE_URL) and an
 * S3-compatible store (POSTERN_BLOB_STORE=s3, POSTERN_S3_*). Resumable (re-running continues where
 * a run stopped and copies nothing twice) and verified (row counts per table, messages per
 * mailbox, sha256 of every blob). Works on the files directly: it does not need the API.
 */
import { existsSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { dataPaths, loadConfig } from '../../appliance/config.js';
import { openPostgres, openSqlite } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { compareMailboxes, compareRowCounts, copyTables, MoveRefused, planMove, type TableProgress, unmappedTargetMessages } from '../../appliance/db/move.js';
import { FileBlobStore, openBlobStore } from '../../appliance/mailstore/blobstore.js';
import { blobIdRewriter, copyBlobs, verifyBlobs } from '../../appliance/mailstore/move-blobs.js';
import type { Group } from './command.js';
import { type Ctx, EXIT, RefusedError, UsageError } from './context.js';
import { bytes, fields, table } from './output.js';

/** Processes (on this machine) that hold the SQLite database open: a running appliance. */
export function processesUsing(file: string): number[] {
  if (!existsSync('/proc/self/fd')) return [];
  const targets = new Set([file, `${file}-wal`, `${file}-shm`].filter(existsSync).map((f) => realpathSync(f)));
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (targets.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          pids.push(Number(pid));
          break;
        }
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return pids;
}

/** Prints progress lines at most once a second per phase (and always the last one). */
function progressPrinter(ctx: Ctx) {
  const last = new Map<string, number>();
  const write = (line: string) => (ctx.json ? process.stderr.write(`${line}\n`) : ctx.out(line));
  return (phase: string, line: string, final = false) => {
    const now = Date.now();
    if (!final && now - (last.get(phase) ?? 0) < 1000) return;
    last.set(phase, now);
    write(line);
  };
}

function positiveInt(raw: string | boolean | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new UsageError(`--${name} must be a whole number from 1 to 100000`);
  return n;
}

async function run(ctx: Ctx, opts: Record<string, string | boolean | undefined>): Promise<number> {
  const config = loadConfig(process.env);
  const dataDir = path.resolve(typeof opts['data-dir'] === 'string' ? opts['data-dir'] : config.dataDir);
  const paths = dataPaths({ dataDir });
  if (!config.storage.databaseUrl) throw new UsageError('POSTERN_DATABASE_URL is not set: it names the PostgreSQL database to move into (postgres://user:pass@host:5432/postern)');
  if (config.storage.blobStore !== 's3') throw new UsageError('POSTERN_BLOB_STORE=s3 and the POSTERN_S3_* settings name the object store to move the message bytes into');
  if (!existsSync(paths.database)) throw new UsageError(`no Postern database at ${paths.database} (--data-dir names the single node's data dir)`);
  const running = processesUsing(paths.database);
  if (running.length) throw new RefusedError(`the appliance is running on ${dataDir} (process ${running.join(', ')} holds its database): stop it first`, 409, null);
  const batchSize = positiveInt(opts['batch-size'], 'batch-size', 500);
  const concurrency = positiveInt(opts.concurrency, 'concurrency', 8);
  const say = progressPrinter(ctx);

  const source = openSqlite(paths.database);
  const target = openPostgres(config.storage.databaseUrl, { applicationName: 'postern-migrate' });
  try {
    const sourceBlobs = await FileBlobStore.open(paths.blobs);
    const targetBlobs = await openBlobStore(config.storage, paths.blobs);
    await targetBlobs.probe();
    say('schema', 'schema: running the migrations on PostgreSQL', true);
    await migrateToLatest(target.db);
    let plan;
    try {
      plan = await planMove(source.db, target.db);
    } catch (err) {
      if (err instanceof MoveRefused) throw new RefusedError(err.message, 409, null);
      throw err;
    }
    say('plan', plan.resuming ? 'target holds an earlier run of this source: continuing where it stopped' : `target is empty: moving ${plan.tables.length} tables`, true);

    const blobs = await copyBlobs(
      { db: source.db, blobs: sourceBlobs },
      { db: target.db, blobs: targetBlobs },
      { concurrency, onProgress: (p) => say('blobs', `blobs: ${p.done}/${p.total} (${p.copied} copied now, ${bytes(p.bytes)})`, p.done === p.total) },
    );
    const rows = await copyTables(source.db, target.db, plan, {
      batchSize,
      rewrite: blobIdRewriter(target.db),
      onProgress: (p: TableProgress) => say(`t:${p.table}`, `rows: ${p.table} ${p.copied}/${p.total}`, p.copied === p.total),
    });

    say('verify', 'verify: row counts, messages per mailbox, sha256 of every blob', true);
    const counts = await compareRowCounts(source.db, target.db, plan.tables);
    const mailboxes = await compareMailboxes(source.db, target.db);
    const unmapped = await unmappedTargetMessages(target.db);
    const check = await verifyBlobs(
      sourceBlobs,
      { db: target.db, blobs: targetBlobs },
      { concurrency, onProgress: (n) => say('verify-blobs', `verify: ${n}/${blobs.total} blobs`, n === blobs.total) },
    );
    const badTables = counts.filter((c) => c.source !== c.target);
    const badMailboxes = mailboxes.filter((m) => m.source !== m.target || m.sourceBytes !== m.targetBytes);
    const ok = !badTables.length && !badMailboxes.length && !check.mismatches.length && unmapped === 0 && check.checked === blobs.total;
    const report = {
      ok,
      source: dataDir,
      resumed: plan.resuming,
      copiedNow: { rows: Object.values(rows.copied).reduce((a, b) => a + b, 0), blobs: blobs.copied, blobBytes: blobs.bytes },
      tables: counts,
      mailboxes: mailboxes.length,
      messages: mailboxes.reduce((a, m) => a + m.target, 0),
      blobsVerified: check.checked,
      blobBytesVerified: check.bytes,
      sequences: rows.sequences.length,
      problems: { tables: badTables, mailboxes: badMailboxes, blobs: check.mismatches, messagesWithoutCopiedBlob: unmapped },
    };
    if (ctx.json) ctx.out(JSON.stringify(report, null, 2));
    else printReport(ctx, report);
    return ok ? EXIT.ok : EXIT.refused;
  } finally {
    await source.close();
    await target.close();
  }
}

function printReport(ctx: Ctx, r: Record<string, any>): void {
  ctx.out('');
  fields(ctx, [
    ['result', r.ok ? 'verified: the target holds the same data' : 'VERIFICATION FAILED (see below)'],
    ['source', r.source],
    ['this run', `${r.resumed ? 'resumed; ' : ''}${r.copiedNow.rows} rows, ${r.copiedNow.blobs} blobs (${bytes(r.copiedNow.blobBytes)}) copied`],
    ['mailboxes', `${r.mailboxes} (${r.messages} messages, counts equal on both sides)`],
    ['blobs', `${r.blobsVerified} verified by sha256 (${bytes(r.blobBytesVerified)})`],
    ['sequences', `${r.sequences} advanced past the copied ids`],
  ]);
  ctx.out('');
  table(
    ctx,
    (r.tables as Array<{ table: string; source: number; target: number }>).map((t) => ({ ...t, state: t.source === t.target ? 'ok' : 'DIFFERS' })),
    [
      ['table', 'table'],
      ['source', 'source rows'],
      ['target', 'target rows'],
      ['state', 'state'],
    ],
  );
  for (const m of r.problems.mailboxes) ctx.out(`mailbox ${m.address}: ${m.source} messages (${m.sourceBytes} bytes) in the source, ${m.target} (${m.targetBytes}) in the target`);
  for (const b of r.problems.blobs) ctx.out(`blob ${b.sourceId} -> ${b.targetId}: ${b.reason}`);
  if (r.problems.messagesWithoutCopiedBlob) ctx.out(`${r.problems.messagesWithoutCopiedBlob} target messages refer to a blob the move did not copy`);
  if (r.ok) ctx.out('\nNext: start the nodes with the same POSTERN_DATABASE_URL / POSTERN_BLOB_STORE settings (README "Running a cluster").');
}

export const migrateGroup: Group = {
  name: 'migrate',
  summary: 'Move a stopped single-node appliance (SQLite + blob folder) into PostgreSQL and S3, resumable and verified',
  commands: {
    '': {
      summary:
        'Copy the data dir into POSTERN_DATABASE_URL and the POSTERN_S3_* store (the appliance must be stopped); re-run to resume; exit 1 when verification fails or the target holds other data',
      usage: '',
      options: {
        'data-dir': { type: 'string', description: "the single node's data dir (default: POSTERN_DATA_DIR)" },
        'batch-size': { type: 'string', description: 'rows per insert and commit (default 500)' },
        concurrency: { type: 'string', description: 'blobs copied or verified in parallel (default 8)' },
      },
      run: (ctx, _args, opts) => run(ctx, opts),
    },
  },
};
