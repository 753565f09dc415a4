/**
 * Connects the metrics registry (metrics.ts) to the running appliance: the scrape-time sources
 * (store usage per tenant, IMAP sessions, Haraka's queue directory and liveness), the audit
 * chain timer, the send limiter's refusal and block hooks, the supervisor's exits, and DNS
 * check statuses (the latest snapshot of each domain at scrape time; transitions at once).
 * Called once by main.ts after the services exist.
 *
 * Layer: part of the composition root (main's wiring, not protocol), so it may hold the
 * database handle; the figures it scrapes come from the limits repository (platform scope).
 */
import { verifyAuditChainScheduled } from './core/audit/audit.js';
import { PLATFORM_SCOPE } from './core/kernel/scope.js';
import { onDnsTransition } from './core/templates/dns-check.service.js';
import type { SendLimiter } from './core/sending/limits.js';
import { type Executor, repos } from './db/repos/index.js';
import type { Logger } from './logger.js';
import { countSendBlock, countSendRefusal, DNS_STATUSES, type DnsStatus, mtaExited, setDnsCheckStatus, startApplianceMetrics } from './metrics.js';
import type { HarakaSupervisor } from './mta/supervisor.js';

export interface MetricsWiring {
  db: Executor;
  logger: Logger;
  queueDir: string;
  supervisor: HarakaSupervisor;
  imap: { sessionCount(): number };
  limiter: SendLimiter;
  /** Cluster: true while this node holds the audit verification lease (absent: always verifies). */
  auditLease?: () => boolean;
  /** How often the audit chain is verified (config: POSTERN_AUDIT_VERIFY_INTERVAL_SECONDS). */
  auditIntervalMs?: number;
}

const asStatus = (s: string): DnsStatus => ((DNS_STATUSES as readonly string[]).includes(s) ? (s as DnsStatus) : 'unknown');

export function wireMetrics(w: MetricsWiring): { stop(): void } {
  const log = w.logger.child({ service: 'metrics' });
  const figures = repos(w.db, PLATFORM_SCOPE).limits;
  let verifying = false;
  const metrics = startApplianceMetrics({
    queueDir: w.queueDir,
    mtaUp: () => w.supervisor.isListening(),
    mtaRestarts: () => w.supervisor.restarts,
    imapSessions: () => w.imap.sessionCount(),
    storeUsage: () => figures.storeUsageByTenant(),
    dnsStatuses: () => figures.latestDnsStatuses(),
    verifyAudit: async () => {
      if (w.auditLease && !w.auditLease()) return null;
      if (verifying) return null; // the previous run is still going (a long chain, a short interval)
      verifying = true;
      try {
        // The events since the last verified head (at boot too); the whole chain once a day (persisted).
        const r = await verifyAuditChainScheduled(w.db);
        if (!r.ok) log.error({ event: 'audit.chain.broken', firstBadEventId: r.firstBadEventId }, 'audit hash chain verification failed');
        return r;
      } finally {
        verifying = false;
      }
    },
    auditIntervalMs: w.auditIntervalMs,
    onError: (what, err) => log.warn({ event: 'metrics.source.error', source: what, err }, 'metric source failed'),
  });

  w.limiter.onRefuse = (tenantId, reason) => countSendRefusal(tenantId, reason);
  w.limiter.onBlock = (_mailboxId, tenantId) => countSendBlock(tenantId);

  const onExit = () => mtaExited();
  w.supervisor.on('exit', onExit);

  const unsubscribeDns = onDnsTransition((t) => setDnsCheckStatus(t.domain, t.tenantId, asStatus(t.status)));

  return {
    stop() {
      metrics.stop();
      unsubscribeDns();
      w.supervisor.off('exit', onExit);
    },
  };
}
