/**
 * Haraka on several cores (POSTERN_MTA_PROCESSES > 1 runs Haraka's cluster mode: a master that
 * the appliance forked, and N workers that serve SMTP). Only the master holds the IPC channel to
 * the appliance. Each worker sends the same request/response messages (appliance/rpc/channel.ts)
 * to the master over cluster IPC; the master answers what must be one for all workers itself
 * (session caps and per-address rates: shared/limits.ts; metric sums: shared/metrics.ts; the
 * workers' readiness) and relays every other call to the appliance and its answer back.
 *
 * - Ready: the master tells the appliance "listening" once every worker has its listeners up.
 * - The appliance dies: the master exits (its channel closed), and Node's cluster ends every
 *   worker whose channel to the master closed.
 * - A worker dies: Haraka's master forks a new one; the sessions the dead one held are released.
 * - Haraka's queue: the master removes leftover temp files once at start (before any worker
 *   runs). A worker that loads a queue share must not do it again: another worker may be writing
 *   one of those temp files for a message it is about to acknowledge.
 */
import cluster, { type Worker } from 'node:cluster';
import { serveRpc } from '../../appliance/rpc/channel.js';
import type { MtaMetricsReport } from '../../appliance/rpc/protocol.js';
import { announceListening, callUpstream, pluginSettings } from './appliance.js';
import type { HarakaPlugin } from './haraka.js';
import { limitHandlers, releaseSessionsOf } from './limits.js';
import { mergeWorkerReport, workerGone } from './metrics.js';

/** True in the master of a Haraka cluster (more than one process configured). */
export function isClusterMaster(): boolean {
  return !cluster.isWorker && (pluginSettings().processes ?? 1) > 1;
}

/** In the master (init_master, before the workers are forked): serve every worker. */
export function serveWorkers(onError: (err: unknown, method: string) => void): void {
  const expected = pluginSettings().processes ?? 1;
  const ready = new Set<number>();
  let announced = false;
  cluster.on('fork', (worker: Worker) => {
    const stop = serveRpc(
      worker,
      {
        ...limitHandlers(worker.id),
        'metrics.report': (p: MtaMetricsReport) => void mergeWorkerReport(worker.id, p),
        'worker.ready': () => {
          ready.add(worker.id);
          if (!announced && ready.size >= expected) {
            announced = true;
            announceListening();
          }
          return null;
        },
      },
      onError,
      // Everything else is the appliance's: relayed, its answer (or error code) sent back.
      (method, params) => callUpstream(method, params),
    );
    worker.once('exit', () => {
      stop();
      ready.delete(worker.id);
      releaseSessionsOf(worker.id);
      workerGone(worker.id);
    });
  });
}

/** In a worker (init_child, listeners up): no temp-file sweep here (see above), then tell the master. */
export function workerReady(plugin: HarakaPlugin): Promise<unknown> {
  return callUpstream('worker.ready', { pid: process.pid }).catch((err: unknown) => plugin.logerror(`could not report ready: ${String(err)}`));
}

/** In a worker, before Haraka hands it a queue share: its queue loads do not delete temp files. */
export function keepTempFilesInWorker(plugin: HarakaPlugin): void {
  if (!cluster.isWorker) return;
  const queue = (plugin as unknown as { haraka_require(name: string): { delete_dot_files?: () => Promise<void> } }).haraka_require('outbound/queue');
  queue.delete_dot_files = async () => undefined;
}
