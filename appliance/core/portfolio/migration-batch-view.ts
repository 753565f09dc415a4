/**
 * A migration batch as callers see it (issue 20): the plan's findings per row (test login,
 * folders and sizes), each row's job with its progress per folder, the batch's progress and the
 * report. Never a source secret.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Repos } from '../../db/repos/index.js';
import type { MigrationBatchItemRow, MigrationBatchRow, MigrationBatchState, MigrationCheckState, MigrationItemStatus } from '../../db/tables/migration-batches.table.js';
import type { Actor } from '../kernel/authz.js';
import { invalid } from '../kernel/errors.js';
import { iso } from '../kernel/util.js';
import { getMigration } from '../migration/migrations.service.js';
import type { MigrationDeps, MigrationView } from '../migration/migration.types.js';

/** The migration core's dependencies, plus TLS options for the plan's test logins (tests trust their private source's certificate here). */
export type MigrationBatchDeps = MigrationDeps & { migrationSourceTls?: ConnectionOptions };

export interface MigrationBatchItemView {
  row: number;
  address: string;
  mailboxId: string | null;
  source: { host: string; port: number; tls: string; user: string };
  check: { state: MigrationCheckState; error: string | null; messages: number | null; bytes: number | null; folders: Array<{ name: string; messages: number; bytes: number }> };
  status: MigrationItemStatus;
  migration: { id: string; state: string; error: string | null; progress: MigrationView['progress']; percent: number } | null;
}

export interface MigrationBatchView {
  id: string;
  tenantId: string;
  name: string;
  state: MigrationBatchState;
  concurrency: number;
  plan: { total: number; checked: number; ok: number; badCredentials: number; unreachable: number; noMailbox: number; invalid: number; messages: number; bytes: number };
  progress: { mailboxes: number; ended: number; running: number; messages: number; bytes: number; totalMessages: number; totalBytes: number; percent: number };
  report: { done: number; failed: number; cancelled: number; skipped: number; messages: number; bytes: number };
  items: MigrationBatchItemView[];
  error: string | null;
  createdAt: string;
  appliedAt: string | null;
  finishedAt: string | null;
}

export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 20;

/** Jobs at once when applying: 1 to 20 (4 when not given). */
export function checkConcurrency(raw: number | undefined): number {
  if (raw === undefined) return DEFAULT_CONCURRENCY;
  if (!Number.isInteger(raw) || raw < 1 || raw > MAX_CONCURRENCY) throw invalid(`concurrency must be 1 to ${MAX_CONCURRENCY}`, { field: 'concurrency' });
  return raw;
}

/** Runs `fn` on every item with at most `limit` running at once. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const ENDED: ReadonlySet<MigrationItemStatus> = new Set(['done', 'failed', 'cancelled']);

export function jobPercent(p: MigrationView['progress'], state: string): number {
  if (state === 'done') return 100;
  const f = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.totalMessages > 0 ? p.messages / p.totalMessages : 0;
  return Math.min(99, Math.floor(f * 100));
}

function parseFolders(text: string | null): MigrationBatchItemView['check']['folders'] {
  if (!text) return [];
  try {
    return JSON.parse(text) as MigrationBatchItemView['check']['folders'];
  } catch {
    return [];
  }
}

async function itemView(actor: Actor, deps: MigrationDeps, it: MigrationBatchItemRow): Promise<MigrationBatchItemView> {
  let migration: MigrationBatchItemView['migration'] = null;
  if (it.migration_id) {
    const job = await getMigration(actor, deps, it.migration_id).catch(() => null);
    if (job) migration = { id: job.id, state: job.state, error: job.error, progress: job.progress, percent: jobPercent(job.progress, job.state) };
  }
  return {
    row: Number(it.row_no),
    address: it.address,
    mailboxId: it.mailbox_id,
    source: { host: it.source_host, port: Number(it.source_port), tls: it.source_tls, user: it.source_user },
    check: {
      state: it.check_state,
      error: it.check_error,
      messages: it.source_messages === null ? null : Number(it.source_messages),
      bytes: it.source_bytes === null ? null : Number(it.source_bytes),
      folders: parseFolders(it.source_folders),
    },
    status: it.status,
    migration,
  };
}

export async function batchView(actor: Actor, deps: MigrationDeps, r: Repos, b: MigrationBatchRow): Promise<MigrationBatchView> {
  const items = await Promise.all((await r.migrationBatches.items(b.id)).map((it) => itemView(actor, deps, it)));
  const count = (s: MigrationCheckState) => items.filter((i) => i.check.state === s).length;
  const ok = items.filter((i) => i.check.state === 'ok');
  const plan = {
    total: Number(b.total),
    checked: Number(b.checked),
    ok: ok.length,
    badCredentials: count('bad-credentials'),
    unreachable: count('unreachable'),
    noMailbox: count('no-mailbox'),
    invalid: count('invalid'),
    messages: ok.reduce((s, i) => s + (i.check.messages ?? 0), 0),
    bytes: ok.reduce((s, i) => s + (i.check.bytes ?? 0), 0),
  };
  const progress = { mailboxes: ok.length, ended: 0, running: 0, messages: 0, bytes: 0, totalMessages: 0, totalBytes: 0, percent: 0 };
  const report = { done: 0, failed: 0, cancelled: 0, skipped: items.filter((i) => i.status === 'skipped').length, messages: 0, bytes: 0 };
  let weight = 0;
  let reached = 0;
  for (const i of ok) {
    const p = i.migration?.progress;
    const totalBytes = p?.totalBytes || i.check.bytes || 0;
    progress.totalMessages += p?.totalMessages || i.check.messages || 0;
    progress.totalBytes += totalBytes;
    progress.messages += p?.messages ?? 0;
    progress.bytes += p?.bytes ?? 0;
    const ended = ENDED.has(i.status);
    if (ended) progress.ended++;
    else if (i.status === 'started') progress.running++;
    if (i.status === 'done' || i.status === 'failed' || i.status === 'cancelled') report[i.status]++;
    const w = Math.max(totalBytes, 1);
    weight += w;
    reached += ended ? w : ((i.migration?.percent ?? 0) / 100) * w;
  }
  report.messages = progress.messages;
  report.bytes = progress.bytes;
  progress.percent = b.state === 'applied' ? 100 : weight ? Math.min(99, Math.floor((reached * 100) / weight)) : 0;
  return {
    id: b.id,
    tenantId: b.tenant_id,
    name: b.name,
    state: b.state,
    concurrency: Number(b.concurrency),
    plan,
    progress,
    report,
    items,
    error: b.error,
    createdAt: iso(b.created_at)!,
    appliedAt: iso(b.applied_at),
    finishedAt: iso(b.finished_at),
  };
}
