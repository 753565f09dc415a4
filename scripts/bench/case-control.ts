/**
 * Control plane (Postern only; the reference stack has no API to compare with):
 *   - bulk: plan + apply of `bulkRows` mailboxes, through `scripts/bench/bulk.ts` (the core as
 *     the batch API runs it, on a fresh database) when that module is built;
 *   - latency: `apiClients` concurrent clients, each sending requests one after the other with
 *     the operator token, `apiRequests` in all per endpoint: the tenant's mailbox list (first
 *     page) and the ownership record of a random mailbox. p50 and p99 in ms.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BenchContext } from './context.js';
import { type Samples, sample } from './metrics.js';
import { OPERATOR_TOKEN } from './postern-stack.js';
import { percentile } from './util.js';

interface BulkModule {
  benchBulk(opts: { rows?: number }): Promise<{ rows: number; planMs: number; applyMs: number; totalMs: number; created: number }>;
}

function loadBulk(): BulkModule | null {
  const file = path.join(__dirname, 'bulk.js');
  if (!existsSync(file)) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as Partial<BulkModule>;
  return typeof mod.benchBulk === 'function' ? (mod as BulkModule) : null;
}

async function latency(ctx: BenchContext, urls: () => string): Promise<{ p50: number; p99: number; errors: number }> {
  const times: number[] = [];
  let errors = 0;
  let left = ctx.sizes.apiRequests;
  await Promise.all(
    Array.from({ length: ctx.sizes.apiClients }, async () => {
      while (left > 0) {
        left--;
        const t0 = performance.now();
        const res = await fetch(`${ctx.postern.url}${urls()}`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
        await res.arrayBuffer();
        times.push(performance.now() - t0);
        if (res.status !== 200) errors++;
      }
    }),
  );
  return { p50: percentile(times, 50), p99: percentile(times, 99), errors };
}

export async function controlCase(ctx: BenchContext): Promise<Samples> {
  const out: Samples = [];
  const bulk = loadBulk();
  if (bulk) {
    ctx.log(`control: bulk plan+apply of ${ctx.sizes.bulkRows} mailboxes`);
    const r = await bulk.benchBulk({ rows: ctx.sizes.bulkRows });
    if (r.created !== ctx.sizes.bulkRows) throw new Error(`bulk: created ${r.created} of ${ctx.sizes.bulkRows}`);
    out.push(
      sample('control', 'control.bulk.plan', `bulk plan of ${ctx.sizes.bulkRows} mailboxes`, 's', 'lower', r.planMs / 1000, null),
      sample('control', 'control.bulk.apply', `bulk apply of ${ctx.sizes.bulkRows} mailboxes`, 's', 'lower', r.applyMs / 1000, null),
      sample('control', 'control.bulk.total', `bulk plan+apply of ${ctx.sizes.bulkRows} mailboxes`, 's', 'lower', r.totalMs / 1000, null),
    );
  } else if (!ctx.notes.some((n) => n.startsWith('bulk'))) {
    ctx.notes.push('bulk plan+apply: not measured (scripts/bench/bulk.ts is not built yet)');
  }
  ctx.log(`control: ${ctx.sizes.apiRequests} requests per endpoint, ${ctx.sizes.apiClients} concurrent clients`);
  const ids = [...ctx.postern.mailboxIds.values()];
  const list = await latency(ctx, () => `/api/v1/tenants/${ctx.postern.tenantId}/mailboxes`);
  const own = await latency(ctx, () => `/api/v1/mailboxes/${ids[Math.floor(Math.random() * ids.length)]}/ownership`);
  if (list.errors || own.errors) ctx.notes.push(`control latency: ${list.errors} list and ${own.errors} ownership requests did not answer 200`);
  out.push(
    sample('control', 'control.list.p50', `mailbox list p50 (${ctx.sizes.apiClients} clients)`, 'ms', 'lower', list.p50, null),
    sample('control', 'control.list.p99', `mailbox list p99 (${ctx.sizes.apiClients} clients)`, 'ms', 'lower', list.p99, null),
    sample('control', 'control.ownership.p50', `ownership p50 (${ctx.sizes.apiClients} clients)`, 'ms', 'lower', own.p50, null),
    sample('control', 'control.ownership.p99', `ownership p99 (${ctx.sizes.apiClients} clients)`, 'ms', 'lower', own.p99, null),
  );
  return out;
}
