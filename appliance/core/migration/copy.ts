/**
 * The copy of one job run: plan the folders, then per folder fetch what is new since the last
 * run (UIDVALIDITY + highest copied UID; Message-ID when the source's UIDVALIDITY changed) and
 * store it through the mail store's APPEND path (the one ingest path, quota-checked), in
 * batches, committing progress after each batch. A dropped source connection reconnects and
 * resumes after the last committed UID; the first batch after a resumption is checked against
 * the Message-IDs last stored, so a batch stored just before a crash is not stored twice.
 */
import type { ImapFlow } from 'imapflow';
import type { ImapMigrationFolderRow } from '../../db/tables/migrations.table.js';
import type { MigrationRow } from '../../db/repos/migrations.js';
import { type Repos, repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { tenantScope } from '../kernel/scope.js';
import type { MigrationReport, MigrationStore } from './migration.types.js';
import { closeSource, connectSource, planFolders, SourceAuthError, type SourceOptions } from './source.js';
import type { CheckedSource } from './view.js';

const BATCH_MESSAGES = 100;
const BATCH_BYTES = 8 * 1024 * 1024;
const RECONNECTS = 5;
const RESUME_CHECK = 200;

export class MigrationAborted extends Error {}

export interface CopyContext {
  deps: CoreDeps;
  store: MigrationStore;
  job: MigrationRow;
  src: CheckedSource;
  signal: AbortSignal;
  source: SourceOptions;
  /** The previous run did not end cleanly (interrupted, failed): its last batch may be stored without its progress. */
  resuming: boolean;
  /** After each committed batch (tests, the console's live progress). */
  onProgress?: (jobId: string, folder: string, copied: number) => void;
}

type FolderReport = MigrationReport['folders'][number];

interface Run {
  ctx: CopyContext;
  r: Repos;
  report: MigrationReport;
  client: ImapFlow | null;
}

/** Copies what is new; returns the run's report. Throws SourceAuthError, MigrationAborted or the failure. */
export async function copyJob(ctx: CopyContext, report: MigrationReport): Promise<void> {
  const run: Run = { ctx, r: repos(ctx.deps.db, tenantScope(ctx.job.tenant_id)), report, client: null };
  try {
    run.client = await connectSource(ctx.src, ctx.source);
    const folders = await syncPlan(run);
    for (const f of folders) await copyFolderWithRetries(run, f);
  } finally {
    await closeSource(run.client);
  }
}

/** Records the planned folders (new ones appended, known ones kept with their progress) and creates missing targets. */
async function syncPlan(run: Run): Promise<ImapMigrationFolderRow[]> {
  const { ctx, r } = run;
  const ours = await ctx.store.listFolders(ctx.job.mailbox_id);
  const selection = ctx.job.folders ? (JSON.parse(ctx.job.folders) as string[]) : null;
  const planned = await planFolders(run.client!, selection, ours);
  const known = new Map((await r.migrations.folders(ctx.job.id)).map((f) => [f.source, f]));
  let position = known.size;
  for (const p of planned) {
    if (known.has(p.source)) continue;
    await r.migrations.insertFolder({
      migration_id: ctx.job.id,
      tenant_id: ctx.job.tenant_id,
      source: p.source,
      target: p.target,
      position: position++,
      uid_validity: null,
      last_uid: 0,
      copied: 0,
      bytes: 0,
      total: 0,
      total_bytes: 0,
      done: 0,
    });
  }
  const rows = (await r.migrations.folders(ctx.job.id)).filter((f) => planned.some((p) => p.source === f.source));
  const existing = new Set(ours.map((f) => f.name));
  for (const f of rows) {
    const entry: FolderReport = { source: f.source, target: f.target, copied: 0, bytes: 0, created: false, uidValidityChanged: false };
    if (!existing.has(f.target)) {
      await ctx.store.createFolder(ctx.job.mailbox_id, f.target);
      existing.add(f.target);
      entry.created = true;
    }
    run.report.folders.push(entry);
  }
  return rows;
}

function isNetworkError(err: unknown): boolean {
  if (err instanceof SourceAuthError || err instanceof MigrationAborted) return false;
  const e = err as { code?: string; name?: string; message?: string; responseStatus?: string };
  if (e.responseStatus === 'NO' || e.responseStatus === 'BAD') return false;
  return /ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|NoConnection|ClosedAfterConnect|Socket|closed|timeout|Connection/i.test(`${e.code ?? ''} ${e.name ?? ''} ${e.message ?? ''}`);
}

/** One folder, reconnecting after a dropped connection (up to RECONNECTS times in a row without progress). */
async function copyFolderWithRetries(run: Run, folder: ImapMigrationFolderRow): Promise<void> {
  let failures = 0;
  let resumed = false;
  for (;;) {
    const before = run.report.copied;
    try {
      if (!run.client || !run.client.usable) {
        await closeSource(run.client);
        run.client = await connectSource(run.ctx.src, run.ctx.source);
      }
      await copyFolder(run, folder.source, resumed);
      return;
    } catch (err) {
      if (!isNetworkError(err)) throw err;
      failures = run.report.copied > before ? 1 : failures + 1;
      if (failures > RECONNECTS) throw err;
      run.report.reconnects++;
      resumed = true;
      await closeSource(run.client);
      run.client = null;
      await sleep(Math.min(200 * 2 ** failures, 5000), run.ctx.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

/** Message-IDs of the target folder's last `limit` entries (all when undefined). */
async function targetMessageIds(run: Run, target: string, limit?: number): Promise<Set<string>> {
  const folder = (await run.ctx.store.listFolders(run.ctx.job.mailbox_id)).find((f) => f.name === target);
  if (!folder) return new Set();
  const entries = await run.ctx.store.listMessages(folder.id);
  const ids = (limit === undefined ? entries : entries.slice(-limit)).map((e) => e.messageId);
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const metas = await run.ctx.store.getMeta(ids.slice(i, i + 500));
    for (const m of metas.values()) if (m.envelope.messageId) out.add(m.envelope.messageId);
  }
  return out;
}

interface FolderPass {
  folder: ImapMigrationFolderRow;
  entry: FolderReport;
  /** Message-IDs already in the target (set after a UIDVALIDITY change or for the first batch after a resumption). */
  dedupe: Set<string> | null;
  resumeCheck: boolean;
}

async function copyFolder(run: Run, source: string, resumed: boolean): Promise<void> {
  const { ctx, r } = run;
  const folder = (await r.migrations.folders(ctx.job.id)).find((f) => f.source === source)!;
  const entry = run.report.folders.find((f) => f.source === source)!;
  const box = await run.client!.mailboxOpen(source, { readOnly: true });
  const uidValidity = Number(box.uidValidity);
  const changed = folder.uid_validity !== null && folder.uid_validity !== uidValidity;
  let lastUid = changed ? 0 : folder.last_uid;
  const all = box.exists ? await run.client!.fetchAll('1:*', { uid: true, size: true }) : [];
  const totalBytes = all.reduce((n, m) => n + (m.size ?? 0), 0);
  await r.migrations.updateFolder(ctx.job.id, source, { uid_validity: uidValidity, last_uid: lastUid, total: all.length, total_bytes: totalBytes, done: 0 });
  await r.migrations.refreshTotals(ctx.job.id);
  if (changed) entry.uidValidityChanged = true;
  const pass: FolderPass = {
    folder,
    entry,
    dedupe: changed ? await targetMessageIds(run, folder.target) : (resumed || ctx.resuming) && folder.last_uid > 0 ? await targetMessageIds(run, folder.target, RESUME_CHECK) : null,
    resumeCheck: !changed,
  };
  const todo = all.filter((m) => m.uid > lastUid).sort((a, b) => a.uid - b.uid);
  for (const batch of batches(todo)) {
    if (ctx.signal.aborted) throw new MigrationAborted('cancelled');
    lastUid = await copyBatch(run, pass, batch);
  }
  await r.migrations.updateFolder(ctx.job.id, source, { done: 1 });
}

function batches(todo: Array<{ uid: number; size?: number }>): Array<Array<{ uid: number; size: number }>> {
  const out: Array<Array<{ uid: number; size: number }>> = [];
  let cur: Array<{ uid: number; size: number }> = [];
  let bytes = 0;
  for (const m of todo) {
    const size = m.size ?? 0;
    if (cur.length && (cur.length >= BATCH_MESSAGES || bytes + size > BATCH_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push({ uid: m.uid, size });
    bytes += size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Fetches and stores one batch; returns the highest UID now accounted for. */
async function copyBatch(run: Run, pass: FolderPass, batch: Array<{ uid: number; size: number }>): Promise<number> {
  const { ctx, r, report } = run;
  const max = ctx.source.maxMessageBytes;
  const wanted = batch.filter((m) => m.size <= max);
  for (const m of batch.filter((m) => m.size > max)) report.skipped.push({ folder: pass.folder.source, uid: m.uid, size: m.size, reason: `larger than this appliance's limit of ${max} bytes` });
  const fetched = wanted.length
    ? await run.client!.fetchAll(wanted.map((m) => m.uid).join(','), { uid: true, flags: true, internalDate: true, source: true, envelope: pass.dedupe !== null }, { uid: true })
    : [];
  fetched.sort((a, b) => a.uid - b.uid);
  const items: Array<{ raw: Buffer; flags: string[]; internalDate?: number }> = [];
  for (const m of fetched) {
    if (!m.source) continue;
    const mid = m.envelope?.messageId;
    if (pass.dedupe && mid && pass.dedupe.has(mid)) {
      report.deduplicated++;
      continue;
    }
    const date = m.internalDate ? new Date(m.internalDate).getTime() : NaN;
    items.push({ raw: m.source, flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent'), ...(Number.isFinite(date) ? { internalDate: date } : {}) });
  }
  if (items.length) await ctx.store.appendMany(ctx.job.mailbox_id, pass.folder.target, items);
  const bytes = items.reduce((n, it) => n + it.raw.length, 0);
  const top = batch[batch.length - 1]!.uid;
  await r.migrations.recordCopied(ctx.job.id, pass.folder.source, top, items.length, bytes, ctx.deps.now());
  if (pass.resumeCheck) pass.dedupe = null; // only the first batch after a resumption can repeat stored mail
  report.copied += items.length;
  report.bytes += bytes;
  pass.entry.copied += items.length;
  pass.entry.bytes += bytes;
  ctx.onProgress?.(ctx.job.id, pass.folder.source, pass.folder.copied + pass.entry.copied);
  return top;
}
