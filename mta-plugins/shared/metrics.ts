/**
 * Metric counts of the Haraka child. The child exposes nothing itself: counts accumulate here
 * and go to the appliance (`metrics.report`) once a second, with the open sessions per listener
 * and the process figures; appliance/metrics.ts folds them into its registry. Counts of the last
 * second are lost when the child is killed; that is the price of not paying an RPC per event.
 * With several Haraka processes each worker reports to the Haraka master (shared/cluster.ts),
 * which adds the workers' counts, sessions and process figures to its own report: the appliance
 * still gets one report a second for the whole MTA.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MtaCounterName, MtaListener, MtaMetricsReport } from '../../appliance/rpc/protocol.js';
import { callUpstream, pluginSettings } from './appliance.js';

const REPORT_MS = 1_000;
const pending = new Map<string, { name: MtaCounterName; labels: Record<string, string>; n: number }>();
const sessions: Record<MtaListener, number> = { mx: 0, submission: 0, submissions: 0 };
let timer: NodeJS.Timeout | null = null;
/** In the Haraka master: each live worker's last sessions and process figures, and the CPU seconds of all workers so far. */
const workers = new Map<number, { sessions: Record<MtaListener, number>; process: MtaMetricsReport['process'] }>();
let workersCpuSeconds = 0;
let lag: ReturnType<typeof monitorEventLoopDelay> | null = null;

/** The listener a connection arrived on, from its local port. */
export function listenerOf(connection: { local: { port: number } }): MtaListener {
  const p = pluginSettings().ports;
  if (connection.local.port === p.submission) return 'submission';
  if (connection.local.port === p.submissions) return 'submissions';
  return 'mx';
}

export function count(name: MtaCounterName, labels: Record<string, string> = {}, n = 1): void {
  const key = `${name}\u0000${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join('\u0000')}`;
  const entry = pending.get(key);
  if (entry) entry.n += n;
  else pending.set(key, { name, labels, n });
  startReporting();
}

export function sessionOpened(listener: MtaListener): void {
  sessions[listener]++;
  count('smtp.connection', { listener });
}

export function sessionClosed(listener: MtaListener): void {
  sessions[listener] = Math.max(0, sessions[listener] - 1);
}

/** In the Haraka master: folds in one worker's report (counts added now; its sessions and process figures kept until the next). */
export function mergeWorkerReport(worker: number, p: MtaMetricsReport): void {
  for (const c of p.counters ?? []) count(c.name, c.labels ?? {}, Number(c.n) || 0);
  const before = workers.get(worker)?.process.cpuSeconds ?? 0;
  const cpu = Number(p.process?.cpuSeconds) || 0;
  workersCpuSeconds += cpu >= before ? cpu - before : cpu;
  workers.set(worker, { sessions: { ...p.sessions }, process: p.process });
}

/** A worker is gone: its sessions with it (its CPU seconds stay counted). */
export function workerGone(worker: number): void {
  workers.delete(worker);
}

function report(): void {
  const counters = [...pending.values()];
  pending.clear();
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const p: MtaMetricsReport = {
    counters,
    sessions: { ...sessions },
    process: {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      cpuSeconds: (cpu.user + cpu.system) / 1e6 + workersCpuSeconds,
      eventLoopLagSeconds: lag && Number.isFinite(lag.mean) ? lag.mean / 1e9 : 0,
    },
  };
  for (const w of workers.values()) {
    for (const l of Object.keys(p.sessions) as MtaListener[]) p.sessions[l] += Number(w.sessions[l]) || 0;
    p.process.rssBytes += Number(w.process?.rssBytes) || 0;
    p.process.heapUsedBytes += Number(w.process?.heapUsedBytes) || 0;
    p.process.eventLoopLagSeconds = Math.max(p.process.eventLoopLagSeconds, Number(w.process?.eventLoopLagSeconds) || 0);
  }
  lag?.reset();
  // A lost report loses its counts, never a message: metrics must not hold up mail.
  // To the master in a worker (it adds all workers up), to the appliance otherwise.
  callUpstream('metrics.report', p).catch(() => undefined);
}

/** Starts the once-a-second report (idempotent; the timer never keeps the process alive). */
export function startReporting(): void {
  if (timer) return;
  lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  timer = setInterval(report, REPORT_MS);
  timer.unref();
}
