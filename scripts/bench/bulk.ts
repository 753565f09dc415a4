/**
 * Benchmark case: plan + apply of a bulk batch (10,000 mailboxes by default) on a fresh SQLite
 * database, through the core as the API runs it (CSV parsing, plan, background apply with
 * folders, setup links, audit events). Link delivery goes to a mailer that only counts.
 * With `dataDir`, into that (stopped) appliance's database instead, in a new tenant that stays:
 * the control case measures its API latency on a tenant that holds the 10,000 mailboxes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { rowsFromCsv } from '../../appliance/core/portfolio/bulk.js';
import { applyBatch, createBatch, getBatch, waitForBatch } from '../../appliance/core/portfolio/bulk.service.js';
import { createCoreDeps } from '../../appliance/core/deps.js';
import { createDomain } from '../../appliance/core/portfolio/domains.service.js';
import { createTenant } from '../../appliance/core/portfolio/tenants.service.js';
import { dataPaths, loadConfig } from '../../appliance/config.js';
import { openSqlite } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';

export interface BulkBenchResult {
  rows: number;
  planMs: number;
  applyMs: number;
  totalMs: number;
  created: number;
  linksDelivered: number;
  tenantId: string;
}

export async function benchBulk(opts: { rows?: number; dataDir?: string } = {}): Promise<BulkBenchResult> {
  const n = opts.rows ?? 10_000;
  const dir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'postern-bench-bulk-'));
  const config = loadConfig({ POSTERN_DATA_DIR: dir, POSTERN_LOG_LEVEL: 'silent', POSTERN_HOSTNAME: 'mx.bench.test', POSTERN_PUBLIC_URL: 'https://console.bench.test', POSTERN_HTTP_TLS: 'false' });
  const { db, close } = openSqlite(dataPaths(config).database);
  try {
    await migrateToLatest(db);
    let sent = 0;
    const deps = { ...createCoreDeps(db, config), mailer: { send: async () => void sent++ } };
    const actor = systemActor('bench');
    const tenant = await createTenant(actor, deps, { name: `Bench bulk ${Date.now()}` });
    const domain = `bulk${Date.now().toString(36)}.bench.test`;
    await createDomain(actor, deps, tenant.id, { name: domain });
    const csv = ['local_part,domain,owner_name,owner_email', ...Array.from({ length: n }, (_, i) => `user${i}.bench,${domain},Owner ${i},owner${i}@home.bench.test`)].join('\n');

    const t0 = performance.now();
    const { batch } = await createBatch(actor, deps, tenant.id, { rows: rowsFromCsv(csv), requestId: 'bench-1', allowUnverifiedDomains: true });
    const t1 = performance.now();
    await applyBatch(actor, deps, batch.id, { mode: 'all-or-nothing' });
    await waitForBatch(batch.id);
    const t2 = performance.now();
    const done = await getBatch(actor, deps, batch.id);
    if (done.state !== 'applied') throw new Error(`bulk bench: batch ended ${done.state}: ${done.error}`);
    return { rows: n, planMs: Math.round(t1 - t0), applyMs: Math.round(t2 - t1), totalMs: Math.round(t2 - t0), created: done.report.created, linksDelivered: sent, tenantId: tenant.id };
  } finally {
    await close();
    if (!opts.dataDir) rmSync(dir, { recursive: true, force: true });
  }
}
