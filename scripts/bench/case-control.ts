/**
 * Control plane (Postern only; the reference stack has no API to compare with):
 *   - bulk: plan + apply of `bulkRows` mailboxes through the core as the batch API runs it
 *     (`scripts/bench/bulk.ts`), into the appliance's own database while it is stopped, in a new
 *     tenant; the appliance is then started again with its scheduled jobs forced to run every
 *     few seconds (audit chain verification, housekeeping);
 *   - latency on that tenant (it holds the `bulkRows` mailboxes): `apiClients` concurrent
 *     clients, each sending requests one after the other with the operator token, `apiRequests`
 *     in all per row: the mailbox list (first page), the list filtered by status (a hundredth of
 *     the tenant suspended first), the list searched (q, a substring of address or owner), the
 *     list sorted (by address, descending), and the ownership record of a random mailbox of
 *     the tenant. p50 and p99 in ms. A full audit chain verification (GET /api/v1/audit/verify,
 *     the whole chain with the bulk's events) is started at the beginning of every row;
 *   - the longest event-loop stall of the appliance from the scheduled jobs alone (no requests,
 *     6.5 s with the jobs forced every 2 s and a full chain verification), and during the latency
 *     rows: its nodejs_eventloop_lag_max_seconds (perf_hooks.monitorEventLoopDelay, reset at
 *     every scrape), scraped before and after.
 * POSTERN_BENCH_TIMES=FILE appends one line per latency request (row, start in ms from the row's
 * start, duration in ms, start in ms since the epoch to line it up with a server-side trace):
 * where in a row the slowest requests fall (issue 18's p99 tails).
 *
 * The latency clients (http-load.ts, since the ninth round) are raw kept-alive connections, all
 * open before a row's clock starts, each request timed from its write to the read that completes
 * its answer; every row also prints the serving loop's CPU and its wait for a CPU per request
 * (schedstat) and the longest stall of the bench's own loop, which would time answers late.
 * POSTERN_BENCH_CONTROL_CLIENT=node-http runs the rows with the node:http clients used before.
 */
import { appendFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { BenchContext } from './context.js';
import { clientStall, LoadConnection, schedOf, warmUpLoadClient } from './http-load.js';
import { type Samples, sample } from './metrics.js';
import { OPERATOR_TOKEN } from './postern-stack.js';
import { percentile, pool, sleep } from './util.js';

interface BulkModule {
  benchBulk(opts: { rows?: number; dataDir?: string }): Promise<{ rows: number; planMs: number; applyMs: number; totalMs: number; created: number; tenantId: string }>;
}

function loadBulk(): BulkModule | null {
  const file = path.join(__dirname, 'bulk.js');
  if (!existsSync(file)) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as Partial<BulkModule>;
  return typeof mod.benchBulk === 'function' ? (mod as BulkModule) : null;
}

/** Scheduled jobs forced to run during the measurement (seconds between runs). */
const FORCED_JOBS = { POSTERN_AUDIT_VERIFY_INTERVAL_SECONDS: '2', POSTERN_HOUSEKEEPING_INTERVAL_SECONDS: '2' };

interface RowResult {
  p50: number;
  p99: number;
  errors: number;
  cpuMs: number;
  /** The longest delay of the bench's own event loop during the row (ms). */
  clientStallMs: number;
  /** The bench process's own CPU per request during the row (ms): what its clients take from the 2 cores. */
  clientCpuMs: number;
  /** The appliance's main thread during the row: ms it ran and ms it waited for a CPU, per request. */
  mainRunMs: number;
  mainWaitMs: number;
}

/**
 * The latency clients of one row with node:http (the client of the fifth to eighth rounds), kept
 * for comparison: POSTERN_BENCH_CONTROL_CLIENT=node-http. One kept-alive connection per client,
 * opened by the first request of the row.
 */
async function nodeHttpClients(ctx: BenchContext, urls: () => string, send: (ms: number, code: number, t0: number) => void): Promise<void> {
  let left = ctx.sizes.apiRequests;
  const agent = new http.Agent({ keepAlive: true, maxSockets: ctx.sizes.apiClients });
  const status = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.get(`${ctx.postern.url}${url}`, { agent, headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  await Promise.all(
    Array.from({ length: ctx.sizes.apiClients }, async () => {
      while (left > 0) {
        left--;
        const t0 = performance.now();
        const code = await status(urls());
        send(performance.now() - t0, code, t0);
      }
    }),
  );
  agent.destroy();
}

/**
 * The latency clients of one row (http-load.ts): one raw kept-alive connection per client, all
 * opened before the row's clock starts (`ready`), each request timed from its write to the read
 * that completes its answer.
 */
async function rawClients(ctx: BenchContext, urls: () => string, ready: () => void, send: (ms: number, code: number, t0: number) => void): Promise<void> {
  const { hostname, port } = new URL(ctx.postern.url);
  const conns = await Promise.all(Array.from({ length: ctx.sizes.apiClients }, () => LoadConnection.open(hostname, Number(port), { authorization: `Bearer ${OPERATOR_TOKEN}` })));
  ready();
  let left = ctx.sizes.apiRequests;
  try {
    await Promise.all(
      conns.map(async (c) => {
        while (left > 0) {
          left--;
          const t0 = performance.now();
          const a = await c.get(urls());
          send(a.ms, a.status, t0);
        }
      }),
    );
  } finally {
    for (const c of conns) c.close();
  }
}

async function latency(ctx: BenchContext, urls: () => string, key = ''): Promise<RowResult> {
  const times: number[] = [];
  const trace: string[] = [];
  let tStart = performance.now();
  let errors = 0;
  const pid = ctx.postern.rootPids()[0] ?? 0;
  // the appliance's CPU time (every thread: the serving loop and the reader threads) over the row
  let cpu0 = 0;
  let sched0 = schedOf(pid);
  let stall = clientStall();
  let clientCpu0 = process.cpuUsage();
  const start = () => {
    tStart = performance.now();
    clientCpu0 = process.cpuUsage();
    cpu0 = ctx.postern.cpuParts()[0];
    sched0 = schedOf(pid);
    stall = clientStall();
  };
  // the per-request lines are made only when asked for (POSTERN_BENCH_TIMES): they ran in the
  // timed path, between an answer's read and the next answer's
  const traced = process.env.POSTERN_BENCH_TIMES ?? '';
  const send = (ms: number, code: number, t0: number) => {
    times.push(ms);
    if (traced) trace.push(`${key} ${(t0 - tStart).toFixed(2)} ${ms.toFixed(2)} ${(performance.timeOrigin + t0).toFixed(2)}`);
    if (code !== 200) errors++;
  };
  // a full chain verification runs alongside (it must not stall the loop the requests wait on)
  let verify: Promise<void> = Promise.resolve();
  const verifyNow = () => {
    verify = fetch(`${ctx.postern.url}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } }).then(async (res) => {
      const body = (await res.json()) as { ok?: boolean; events?: number };
      if (res.status !== 200 || !body.ok) ctx.notes.push(`control: audit verification answered ${res.status} ${JSON.stringify(body)}`);
    });
  };
  if (process.env.POSTERN_BENCH_CONTROL_CLIENT === 'node-http') {
    start();
    verifyNow();
    await nodeHttpClients(ctx, urls, send);
  } else {
    await rawClients(ctx, urls, () => (start(), verifyNow()), send);
  }
  const clientStallMs = stall.stop();
  const clientCpu = process.cpuUsage(clientCpu0);
  const sched1 = schedOf(pid);
  if (traced) appendFileSync(traced, trace.join('\n') + '\n');
  const n = ctx.sizes.apiRequests;
  const cpuMs = ((ctx.postern.cpuParts()[0] - cpu0) * 1000) / n;
  await verify;
  const main = sched0 && sched1 ? { run: (sched1.main.runMs - sched0.main.runMs) / n, wait: (sched1.main.waitMs - sched0.main.waitMs) / n } : { run: NaN, wait: NaN };
  const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000 / n;
  return { p50: percentile(times, 50), p99: percentile(times, 99), errors, cpuMs, clientStallMs, clientCpuMs, mainRunMs: main.run, mainWaitMs: main.wait };
}

/** Every mailbox id of the tenant, page by page. */
async function tenantMailboxIds(ctx: BenchContext, tenantId: string): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const after = ids.length ? `&after=${ids[ids.length - 1]}` : '';
    const page = await ctx.postern.expectApi<Array<{ id: string }>>('GET', `/api/v1/tenants/${tenantId}/mailboxes?limit=500${after}`, undefined, 200);
    ids.push(...page.map((m) => m.id));
    if (page.length < 500) return ids;
  }
}

/** Bulk into the stopped appliance's database; then the appliance runs again with its jobs forced. */
async function bulkIntoPostern(ctx: BenchContext, out: Samples): Promise<string> {
  const bulk = loadBulk();
  if (!bulk) throw new Error('scripts/bench/bulk.js is not built');
  ctx.log(`control: bulk plan+apply of ${ctx.sizes.bulkRows} mailboxes (appliance stopped)`);
  await ctx.postern.halt();
  let r: Awaited<ReturnType<BulkModule['benchBulk']>>;
  try {
    r = await bulk.benchBulk({ rows: ctx.sizes.bulkRows, dataDir: ctx.postern.opts.dataDir });
  } finally {
    await ctx.postern.relaunch(FORCED_JOBS);
  }
  if (r.created !== ctx.sizes.bulkRows) throw new Error(`bulk: created ${r.created} of ${ctx.sizes.bulkRows}`);
  out.push(
    sample('control', 'control.bulk.plan', `bulk plan of ${ctx.sizes.bulkRows} mailboxes`, 's', 'lower', r.planMs / 1000, null),
    sample('control', 'control.bulk.apply', `bulk apply of ${ctx.sizes.bulkRows} mailboxes`, 's', 'lower', r.applyMs / 1000, null),
    sample('control', 'control.bulk.total', `bulk plan+apply of ${ctx.sizes.bulkRows} mailboxes`, 's', 'lower', r.totalMs / 1000, null),
  );
  return r.tenantId;
}

/**
 * The longest event-loop stall from the scheduled jobs alone (issue 18's target): no client
 * requests, the jobs forced every 2 s run three times or more, and one full chain verification
 * runs meanwhile. The rows after it measure the stall under 50 clients too, where it is mostly
 * the loop handling a batch of ready requests in one turn.
 */
/**
 * The appliance's event-loop monitor (prom-client, monitorEventLoopDelay at a 20 ms resolution:
 * appliance/metrics.ts) records the intervals between the fires of a 20 ms timer, so an idle
 * loop reads 20-25 ms and a reading of X says the longest stall lay between X - 20 and X ms.
 */
const STALL_RESOLUTION_MS = 20;

/** A stall reading and its lower bound (the timer's lag past its due time). */
function stallSamples(key: string, label: string, ms: number): Samples {
  return [
    sample('control', key, label, 'ms', 'lower', ms, null),
    sample('control', `${key}.past_due`, `${label}, less the monitor's ${STALL_RESOLUTION_MS} ms period (lower bound)`, 'ms', 'lower', Math.max(0, ms - STALL_RESOLUTION_MS), null),
  ];
}

async function jobsStall(ctx: BenchContext): Promise<Samples> {
  await ctx.postern.metric('nodejs_eventloop_lag_max_seconds'); // the scrape resets the maximum
  const verify = fetch(`${ctx.postern.url}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } }).then((res) => res.arrayBuffer());
  await sleep(6500);
  await verify;
  const ms = (await ctx.postern.metric('nodejs_eventloop_lag_max_seconds')) * 1000;
  return stallSamples('control.stall.jobs', 'max event-loop stall from scheduled jobs (no requests)', ms);
}

export async function controlCase(ctx: BenchContext): Promise<Samples> {
  const out: Samples = [];
  const tenantId = await bulkIntoPostern(ctx, out);
  try {
    const ids = await tenantMailboxIds(ctx, tenantId);
    if (ids.length !== ctx.sizes.bulkRows) throw new Error(`control: the bulk tenant lists ${ids.length} mailboxes, not ${ctx.sizes.bulkRows}`);
    // one mailbox in a hundred suspended: the filtered row lists them (a full first page)
    const suspended = ids.filter((_, i) => i % 100 === 7);
    await pool(suspended, 4, (id) => ctx.postern.expectApi('POST', `/api/v1/mailboxes/${id}/suspend`, { reason: 'bench' }, 200));
    // the jobs forced above have run at least once since the start (the boot's verification among them)
    await sleep(2500);
    out.push(...(await jobsStall(ctx)));
    await ctx.postern.metric('nodejs_eventloop_lag_max_seconds'); // the scrape resets the maximum
    const n = ctx.sizes.apiClients;
    const list = `/api/v1/tenants/${tenantId}/mailboxes`;
    const rows: Array<[string, string, () => string]> = [
      ['list', 'mailbox list, first page', () => list],
      ['list_filtered', 'mailbox list, filtered (status)', () => `${list}?status=suspended`],
      ['list_search', 'mailbox list, search (q)', () => `${list}?q=user42`],
      ['list_sorted', 'mailbox list, sorted (-address)', () => `${list}?sort=-address`],
      ['ownership', 'ownership', () => `/api/v1/mailboxes/${ids[Math.floor(Math.random() * ids.length)]}/ownership`],
    ];
    ctx.log(`control: ${ctx.sizes.apiRequests} requests per row, ${n} concurrent clients, tenant of ${ids.length} mailboxes, scheduled jobs every 2 s`);
    // the load client's own code hot before the first row's clock (a canned server of this
    // process; the appliance is not asked anything): its compilation was timed in the first row
    if (process.env.POSTERN_BENCH_CONTROL_CLIENT !== 'node-http') {
      await warmUpLoadClient({ clients: n, requests: 1000, answerBytes: 48 * 1024, headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
    }
    for (const [key, label, url] of rows) {
      const r = await latency(ctx, url, key);
      if (r.errors) ctx.notes.push(`control latency: ${r.errors} ${label} requests did not answer 200`);
      out.push(
        { ...sample('control', `control.${key}.p50`, `${label} p50 (${n} clients)`, 'ms', 'lower', r.p50, null) },
        { ...sample('control', `control.${key}.p99`, `${label} p99 (${n} clients)`, 'ms', 'lower', r.p99, null) },
        // what queueing is made of, and steadier than p99 on a shared machine (scheduled jobs included)
        { ...sample('control', `control.${key}.cpu`, `${label}, appliance CPU per request`, 'ms', 'lower', r.cpuMs, null) },
        // the serving loop's share of it, and how long that thread waited for a CPU (Linux schedstat)
        { ...sample('control', `control.${key}.loop`, `${label}, serving loop CPU per request`, 'ms', 'lower', r.mainRunMs, null) },
        { ...sample('control', `control.${key}.wait`, `${label}, serving loop waiting for a CPU, per request`, 'ms', 'lower', r.mainWaitMs, null) },
        // a request is timed late by as long as the bench's own loop was held when its answer arrived
        { ...sample('control', `control.${key}.client_stall`, `${label}, longest stall of the bench client's loop`, 'ms', 'lower', r.clientStallMs, null) },
        // the bench's clients share the 2 cores with the appliance: their CPU per request
        { ...sample('control', `control.${key}.client_cpu`, `${label}, bench client CPU per request`, 'ms', 'lower', r.clientCpuMs, null) },
      );
    }
    const stallMs = (await ctx.postern.metric('nodejs_eventloop_lag_max_seconds')) * 1000;
    out.push(...stallSamples('control.stall', 'max event-loop stall under 50 clients', stallMs));
    ctx.notes.push(`control latency: a tenant of ${ids.length} mailboxes (bulk-created); audit verification and housekeeping forced every 2 s, a full chain verification per row`);
    ctx.notes.push(
      'control (issue 18): the control plane, scheduled jobs and metrics read SQLite on reader threads (appliance/db/sqlite-readers.ts), not on the serving loop, whose queued statements had run back to back in microtasks (the stalls); ?q= looks at the leading 500 rows of the order first (a common needle fills the page there); pages read the view columns only',
      'control (issue 18, third round): with 50 clients on 2 cores p99 is queueing, so the rows print the appliance CPU per request (all threads); ?q= walks an expression index of the four searched fields (migration 0060, no trigger) and stops after a page of matches (appliance CPU per request 17.5 -> 3.2 ms, shared machine); readers return value arrays, not named objects (a 100-row page 1.5 -> 0.45 ms in the reader; first page 2.8 -> 1.7 ms CPU per request with the token answer kept); an API token answer is kept until a write to api_tokens, principals or tenants (SQLite; a revocation ends it at once); the ownership answer asks its dozen independent reads in one turn, the list checks the tenant with the page',
      'control (issue 18, fifth round): a mailbox list page is kept per scope and query until a write to mailboxes or tenants moves a write epoch (SQLite; concurrent reads of one page share one read; core/mailboxes/list-pages.ts), and its JSON is made once by the route serializer and sent as bytes (control/plugins/kept-json.ts): list CPU per request 0.9-2.3 -> 0.4-1.2 ms on a shared machine; the latency clients use one kept-alive connection each (node:http) instead of fetch, whose pool opened up to 1.5 connections per client and sometimes passed the 100 connections per address (503 answers)',
      'control (issue 18, sixth round): per-request timestamps (POSTERN_BENCH_TIMES) put the p99 tails at the start of each row (the first batch of 50 requests, while the row\'s full chain verification starts) and in bursts where the loop was not scheduled; the chain check thread runs at nice 19 (its own thread only) so the serving loop and the readers keep the CPU while a full pass runs; request lines skip the root logger\'s wildcard redaction paths (their fields are the plugin\'s own: ~80 -> ~6 us per line); an API token answer keeps its actor (one permission set per answer); the ownership answer\'s grants, policy, flags and actor-name reads are compiled once per shape. Appliance CPU per request counts every thread, the row\'s verification among them while it runs during the row',
      "control (issue 18, seventh round): an API token's once-a-minute last_used_at write no longer ends the remembered token answers (the next requests had all read the token again); who may trigger a mailbox's resets is read once per tenant until a write to api_tokens or principals (or the first seen token's expiry); the ownership response schema has no anyOf (nullable type lists), so its serializer no longer compiles Ajv schemas on the loop at the row's first answers (~90 ms in the CPU profile) nor validates values per answer; the audit chain is checked by one long-lived thread instead of a new worker per verification (1-15 ms of loop time and ~200 ms of a core at normal priority each). On a shared machine the appliance's threads waited for a CPU 3 to 6 times as long as they ran during the rows (/proc schedstat): read the CPU per request",
      'control (issue 18, eighth round): a request\'s req.log child logger is made at its first line (most requests write none; a pino child per request was about 5% of the serving loop), bearer tokens are hashed one-shot (crypto.hash), and the prepared reads of a reader-thread handle go to a reader without kysely\'s executor (the ownership answer makes a dozen)',
      "control (issue 18, ninth round): the latency clients are raw kept-alive connections opened before each row's clock (scripts/bench/http-load.ts): the node:http clients cost the bench process about as much CPU per request as the appliance spent on a kept page, on the same 2 cores, and timed answers that had arrived while their loop was busy (their longest loop stall per row was 37-119 ms on a loaded machine, printed now as client_stall); each row prints the serving loop's own CPU per request and how long it waited for a CPU (schedstat: at load 11-17 it waited from about as long as it ran to four times as long); the stall rows print their lower bound too (the monitor's 20 ms timer period is part of every reading). A traced run found the rest of the tails outside the request handlers: answers written with writev to the client on loopback (18-40% of the loop's samples in the list rows, the client woken by each), the first batch of a row waiting on one cold page read, and single-row commits of the scheduled jobs (lease renewals, the audit checkpoint) fsyncing on the serving loop (12-22 ms each under disk contention)",
      'control (issue 18, ninth round, scheduled jobs): a lease heartbeat on SQLite commits its renewals unsynced and shares one WAL sync on the sync thread instead of a synchronous fsync per lease on the serving loop; the audit checkpoint\'s commit still syncs on the loop',
      "control (issue 18, tenth round): the scheduled jobs' and the request path's bookkeeping writes no longer fsync on the serving loop (the audit verification checkpoint, a job's run record, the last-use records of API tokens, console sessions, grants and app passwords: on SQLite each commits unsynced and resolves after one shared WAL sync on the sync thread, repos/base.ts syncedOffLoop); housekeeping's orphan-blob sweep asks the index about each shard's file names first and stats only unreferenced files (it stat'ed every stored blob, about 15,000 pool callbacks on the serving loop per pass after the mail cases of a full run)",
      "control (issue 18, eleventh round): DKIM rotation's activation lookup walks the audit target index (it scanned the whole audit log for every domain at every housekeeping run: about 4 ms of a reader thread per domain at 10,000 events, the control plane's reads queued behind it); preparedRows makes no key string and no async wrapper per call and repos() shares its repositories per handle and scope tenant outside transactions (sampled allocation per ownership request 75.5 -> 65.6 KB). The first-page row is the first after the relaunch that follows the bulk load: serving-loop CPU per request 0.36 ms the first time, 0.14 ms when the row runs again (code V8 has not compiled yet). --max-semi-space-size only takes effect on node's command line, not from v8.setFlagsFromString, so no V8 flag is set",
      "control (issue 18, thirteenth round): the 50 clients' requests of a batch arrive in one poll of the loop and ran back to back before the loop came back to its timers (a traced run: 45-61 ms of serving-thread CPU between two fires of a 5 ms timer); a request now starts only while the current slice of the loop has used less than 5 ms, the rest wait for the loop's next check phase in arrival order (control/plugins/turn-budget.ts): 15-18 ms at most, serving-loop CPU per request not higher. Scavenges under load kept the serving thread on a futex for up to 190 ms, waiting for V8's parallel helpers; --no-parallel-scavenge did not shorten pauses in an A/B under load and is not set",
      "control (issue 18, fourteenth round): per-thread CPU in the first-page row (the first after the relaunch) for 2,000 requests: the serving thread 495-568 ms and V8's background threads 335-360 ms, against 302-407 and 144-180 in the filtered row and under 15 ms in the sorted row (three runs at load 13-16): code compiled and optimised for the first time on 2 cores, not GC (3 scavenges) or start-up jobs (readers idle); the bench client spent 0.23 ms CPU per request in that row against 0.11 in the filtered one. The load client now runs its code hot against a canned server in the bench process before the first row (the appliance gets none of it; client CPU per request in the first row 0.23 -> 0.14 ms, one pair) and each row prints the bench client's CPU per request; a loopback /healthz warm-up of the appliance did not lower the first row's CPU (one pair: the compilation is in the authenticated list path) and is not kept",
      'control (issue 18, fourth round): a full audit chain verification of a long chain (GET /audit/verify, the daily pass) runs on a worker thread with its own read-only SQLite connection (the loop waits for one message), and the boot verifies incrementally from the persisted checkpoint (the date of the last full pass is persisted too); the ownership reads and the common list pages are compiled by kysely once per shape and scope tenant (30-55 us of loop time per query before); no pino child logger and no promise-returning hooks per request (shared machine, same load: ownership CPU per request 1.54 -> 1.20 ms, the full verification 2.7-9.5 s -> 1.0-2.2 s of wall time, first-page p99 after a restart 2,173 -> 716 ms)',
    );
  } finally {
    // the scheduled jobs back to their defaults for the cases after (a failure here keeps the figures above)
    await ctx.postern.relaunch().catch((err: Error) => ctx.notes.push(`control: the appliance did not start again with its default jobs: ${err.message}`));
  }
  return out;
}
