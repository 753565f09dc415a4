/**
 * The outbound queue as operators and tenant admins see it (read-only). The queue itself is
 * Haraka's (read by appliance/mta/outbound-queue.ts and handed in as a QueueSource); the core
 * decides who sees what: a platform actor every message, a tenant actor only the messages whose
 * sender's domain is one of its domains (bounces with an empty sender belong to nobody's
 * tenant and are the operators'). Oldest first, paged by the last id of the previous page.
 */
import { repos } from '../../db/repos/index.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { invalid } from '../kernel/errors.js';
import { iso, pageOf } from '../kernel/util.js';
import { AppError } from '../kernel/errors.js';
import { appendAuditIn } from '../audit/audit.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';

/** One queue file: one message to one destination domain. */
export interface QueuedMessage {
  id: string;
  uuid: string | null;
  arrival: number;
  queuedAt: number;
  nextAttempt: number;
  attempts: number;
  sender: string;
  recipients: string[];
  domain: string;
}

export interface QueueSource {
  list(): Promise<QueuedMessage[]>;
  /** The last deferral the appliance saw for a queued message. */
  lastError(uuid: string | null, domain: string): { detail: string; at: number } | null;
  /** Queues a message again in this node's durable outbound queue (resolves once queued); absent: no MTA here. */
  reinject?(sender: string, recipients: string[], message: Buffer): Promise<void>;
}

export interface QueueEntryView {
  id: string;
  /** The sender's tenant (null: a bounce or an unknown sender domain). */
  tenantId: string | null;
  queuedAt: string;
  ageSeconds: number;
  sender: string;
  recipients: string[];
  domain: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  lastErrorAt: string | null;
}

const domainOf = (address: string) => (address.includes('@') ? address.slice(address.lastIndexOf('@') + 1).toLowerCase() : '');

export async function listOutboundQueue(
  actor: Actor,
  deps: CoreDeps,
  source: QueueSource,
  filter: { tenantId?: string; domain?: string; limit?: number; after?: string | null } = {},
): Promise<QueueEntryView[]> {
  authorize(actor, 'mailflow.read');
  // A tenant actor naming another tenant: NotFound, like every other tenant-addressed read.
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.sending;
  if (filter.tenantId !== undefined) await rAll.tenants.get(filter.tenantId);
  const only = actor.tenantId ?? filter.tenantId ?? null;
  const { limit, after } = pageOf(filter);
  const all = await source.list();
  const senderDomains = [...new Set(all.map((m) => domainOf(m.sender)).filter(Boolean))];
  // A tenant scope finds its own domains only: every other message is nobody's here.
  const tenantOf = await r.domainTenants(senderDomains);
  let list = all.map((m) => ({ m, tenantId: tenantOf.get(domainOf(m.sender)) ?? null }));
  if (only !== null) list = list.filter((x) => x.tenantId === only);
  if (filter.domain) list = list.filter((x) => x.m.domain === filter.domain!.toLowerCase());
  if (after) {
    const i = list.findIndex((x) => x.m.id === after);
    if (i < 0) throw invalid('unknown cursor (the message may have left the queue)', { field: 'after' });
    list = list.slice(i + 1);
  }
  const now = deps.now();
  return list.slice(0, limit).map(({ m, tenantId }) => {
    const err = source.lastError(m.uuid, m.domain);
    return {
      id: m.id,
      tenantId,
      queuedAt: iso(m.queuedAt)!,
      ageSeconds: Math.max(0, Math.round((now - m.arrival) / 1000)),
      sender: m.sender,
      recipients: m.recipients,
      domain: m.domain,
      attempts: m.attempts,
      nextAttemptAt: iso(m.nextAttempt)!,
      lastError: err?.detail ?? null,
      lastErrorAt: err ? iso(err.at) : null,
    };
  });
}

export interface RecoveredMessage {
  /** The queue file's id on the node it came from (`<arrival>.<uniq>`), for the audit trail. */
  sourceId: string;
  /** The node (or data dir) it came from. */
  sourceNode: string;
  sender: string;
  recipients: string[];
  message: Buffer;
}

const ADDRESS = /^[^\s<>@]+@[^\s<>@]+$/;

/**
 * A message from a dead node's outbound queue (`postern queue recover`), queued again in this
 * node's outbound queue with its envelope and bytes unchanged (signatures stay valid), with an
 * audit event. Operators only (a platform permission): the message may be any tenant's.
 */
export async function recoverQueuedMessage(actor: Actor, deps: CoreDeps, source: QueueSource, m: RecoveredMessage): Promise<{ queued: true }> {
  authorize(actor, 'tenants.manage');
  const recipients = m.recipients.map((r) => r.trim()).filter(Boolean);
  if (!recipients.length || recipients.some((r) => !ADDRESS.test(r))) throw invalid('recipients must be one or more addresses', { field: 'recipients' });
  if (m.sender !== '' && !ADDRESS.test(m.sender)) throw invalid('sender must be an address or empty (a bounce)', { field: 'sender' });
  if (!m.message.length) throw invalid('the message is empty', { field: 'message' });
  // Checked after the input, so a bad request is a 400 whatever this node runs.
  if (!source.reinject) throw new AppError('TempFailure', 'this node has no outbound queue');
  await source.reinject(m.sender, recipients, m.message);
  const r = repos(deps.db, PLATFORM_SCOPE);
  await r.transaction((t) =>
    appendAuditIn(
      t,
      actor,
      {
        action: 'outbound.queue.recovered',
        targetType: 'queue-message',
        targetId: m.sourceId,
        tenantId: null,
        after: { sourceNode: m.sourceNode, sender: m.sender, recipients: recipients.length, bytes: m.message.length },
        reason: `recovered from the outbound queue of ${m.sourceNode}`,
      },
      deps.now(),
    ),
  );
  return { queued: true };
}
