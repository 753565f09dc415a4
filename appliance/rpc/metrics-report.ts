/**
 * The Haraka child's metric report (`metrics.report`, see protocol.ts): kept apart from the
 * protocol so the metrics registry (appliance/metrics.ts) can read its shape without importing
 * the protocol, which imports the core and the store (an import loop otherwise).
 */

/** SMTP listeners as metric labels: mx (port 25), submission (587), submissions (465). */
export type MtaListener = 'mx' | 'submission' | 'submissions';

/** What the Haraka child counts (a closed list; appliance/metrics.ts maps each to a metric). */
export type MtaCounterName = 'smtp.connection' | 'smtp.accepted' | 'smtp.rejected' | 'dkim.signed' | 'inbound.auth' | 'smtp.limit' | 'spam.check';

export interface MtaMetricsReport {
  /** Increments since the previous report. */
  counters: Array<{ name: MtaCounterName; labels: Record<string, string>; n: number }>;
  /** Open sessions now, per listener. */
  sessions: Record<MtaListener, number>;
  process: { rssBytes: number; heapUsedBytes: number; cpuSeconds: number; eventLoopLagSeconds: number };
}
