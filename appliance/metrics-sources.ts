/**
 * Connects the metrics registry (metrics.ts) to the running appliance: the scrape-time sources
 * (store usage per tenant, IMAP sessions, Haraka's queue directory and liveness), the audit
 * chain timer, the send limiter's refusal and block hooks, the supervisor's exits, and DNS
 * check statuses (the latest snapshot of each domain at scrape time; transitions at once).
 * Called once by main.ts after the services exist.
 */
import type { Kysely } from 'kysely';
import { verifyAuditChain } from './core/audit/audit.js';
import { onDnsTransition } from './core/templates/dns-check.service.js';
import type { SendLimiter } from './core/sending/limits.js';
import type { DB } from './db/schema.js';
import type { Logger } from './logger.js';
import { countSendBlock, countSendRefusal, DNS_STATUSES, type DnsStatus, mtaExited, setDnsCheckStatus, startApplianceMetrics } from './metrics.js';
import type { HarakaSupervisor } from './mta/supervisor.js';

export interface MetricsWiring {
  db: Kysely<DB>;
  logger: Logger;
  queueDir: string;
  supervisor: HarakaSupervisor;
  imap: { sessionCount(): number };
  limiter: SendLimiter;
}

const asStatus = (s: string): DnsStatus => ((DNS_STATUSES as readonly string[]).includes(s) ? (s as DnsStatus) : 'unknown');

export function wireMetrics(w: MetricsWiring): { stop(): void } {
  const log = w.logger.child({ service: 'metrics' });
  const metrics = startApplianceMetrics({
    queueDir: w.queueDir,
    mtaUp: () => w.supervisor.isListening(),
    mtaRestarts: () => w.supervisor.restarts,
    imapSessions: () => w.imap.sessionCount(),
    storeUsage: async () => {
      const rows = await w.db
        .selectFrom('mailboxes')
        .select((eb) => ['tenant_id', eb.fn.sum<number>('used_bytes').as('bytes'), eb.fn.sum<number>('message_count').as('messages')])
        .where('status', '!=', 'deleted')
        .groupBy('tenant_id')
        .execute();
      return rows.map((r) => ({ tenantId: r.tenant_id, bytes: Number(r.bytes ?? 0), messages: Number(r.messages ?? 0) }));
    },
    dnsStatuses: () => latestDnsStatuses(w.db),
    verifyAudit: async () => {
      const r = await verifyAuditChain(w.db);
      if (!r.ok) log.error({ event: 'audit.chain.broken', firstBadEventId: r.firstBadEventId }, 'audit hash chain verification failed');
      return r;
    },
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

/** The latest DNS snapshot's status of every live domain ('unknown' when never checked). */
async function latestDnsStatuses(db: Kysely<DB>): Promise<Array<{ domain: string; tenantId: string; status: string }>> {
  const rows = await db
    .selectFrom('domains as d')
    .leftJoin('dns_snapshots as s', (j) =>
      j.onRef('s.domain_id', '=', 'd.id').on('s.id', 'in', (eb) => eb.selectFrom('dns_snapshots').select((e) => e.fn.max<number>('id').as('id')).groupBy('domain_id')),
    )
    .select(['d.name', 'd.tenant_id', 's.status'])
    .where('d.status', '=', 'active')
    .execute();
  return rows.map((r) => ({ domain: r.name, tenantId: r.tenant_id, status: r.status ?? 'unknown' }));
}
