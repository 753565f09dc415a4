/**
 * The appliance side of the Haraka child's calls (see appliance/rpc/protocol.ts): each method
 * is one call into the core (delivery, credentials, sending limits, spam policy), plus the logs
 * and counters of the MTA edge. No delivery rule lives here (see core/delivery).
 */
import type { Config } from '../config.js';
import type { CredentialService } from '../core/access/credentials.js';
import type { CoreDeps } from '../core/deps.js';
import { deliver } from '../core/delivery/deliver.js';
import type { DeliveryDeps, DeliveryOutcome } from '../core/delivery/delivery.types.js';
import { checkRecipient, lookupRoute } from '../core/delivery/mail-path.js';
import type { SendLimiter } from '../core/sending/limits.js';
import type { SendingPolicy } from '../core/sending/sending.js';
import { spamDecisionFor, submissionSpamPolicy } from '../core/sending/spam-policy.service.js';
import { type Logger, unredacted } from '../logger.js';
import { applyMtaReport, countOutboundResult } from '../metrics.js';
import type { Handler } from '../rpc/channel.js';
import type { Cacheable, DeliverParams, DeliverResult, OutboundEventParams, RpcMethods, SpamResultParams } from '../rpc/protocol.js';
import { recordScan } from '../spam/metrics.js';
import { recordOutboundEvent } from './outbound-queue.js';

export interface MtaDeps {
  config: Readonly<Config>;
  /** The one core of the appliance (built by main.ts). */
  core: CoreDeps;
  /** The one delivery path (core/delivery), shared with the appliance's own mail. */
  delivery: DeliveryDeps;
  credentials: CredentialService;
  sending: SendingPolicy;
  limiter: SendLimiter;
  logger: Logger;
}

type Impl = { [M in keyof RpcMethods]: (p: Parameters<RpcMethods[M]>[0]) => Promise<ReturnType<RpcMethods[M]>> | ReturnType<RpcMethods[M]> };

/** `lines`: the delivery log without the root logger's redaction paths, for the per-message line (its fields are counts and ids: no secret by construction). */
function logDelivery(log: Logger, lines: Logger, p: DeliverParams, r: DeliveryOutcome, started: bigint): void {
  for (const rcpt of r.recipients) {
    for (const mailboxId of rcpt.loops) log.warn({ event: 'smtp.forward.loop', queueId: p.queueId, mailboxId }, 'forwarding loop detected: not forwarding again');
  }
  lines.info(
    {
      event: 'smtp.delivered',
      queueId: p.queueId,
      mailboxes: r.delivered.length,
      forwarded: r.relay.reduce((n, x) => n + x.recipients.length, 0),
      skipped: r.skipped.length,
      junk: p.junk,
      size: p.prepared.blobSize,
      ms: Number(process.hrtime.bigint() - started) / 1e6,
    },
    'message stored',
  );
  if (r.skipped.length) log.warn({ event: 'smtp.deliver.skipped', queueId: p.queueId, count: r.skipped.length }, 'recipients vanished before delivery');
}

/** One report of Haraka's outbound queue: counted, kept for the queue view, logged. */
function outboundEvent(log: Logger, p: OutboundEventParams): void {
  countOutboundResult(p.kind, `${p.queueId} ${String(p.domain ?? '').toLowerCase()}`);
  recordOutboundEvent(p);
  const level = p.kind === 'delivered' ? 'info' : 'warn';
  log[level]({ event: `smtp.outbound.${p.kind}`, queueId: p.queueId, domain: p.domain, detail: p.detail }, `outbound ${p.kind}`);
}

/** One scan decision from Haraka: counted and logged (refusals at info, the rest at debug). */
function spamDecision(log: Logger, p: SpamResultParams): void {
  recordScan({ direction: p.direction, outcome: p.outcome, tenantId: p.tenantId, seconds: p.seconds });
  const level = p.outcome === 'reject' || p.outcome === 'tempfail' || p.outcome === 'block' ? 'info' : 'debug';
  log[level]({ event: `smtp.spam.${p.outcome}`, direction: p.direction, tenantId: p.tenantId, score: p.score, queueId: p.queueId }, 'spam decision');
}

export function mtaRpcHandlers(deps: MtaDeps): Record<string, Handler> {
  const log = deps.logger.child({ service: 'delivery' });
  const spamResult = (p: SpamResultParams) => spamDecision(log, p);
  const lines = unredacted(log);
  // An answer read while the epoch stood still may be kept by Haraka until the next move (pushed by the supervisor).
  const epoch = deps.sending.epoch;
  async function tagged<T>(read: () => Promise<T>): Promise<Cacheable<T>> {
    const before = epoch ? epoch.current() : null;
    const value = await read();
    return { value, epoch: before !== null && epoch!.current() === before ? before : null };
  }

  const impl: Impl = {
    ping: () => ({ ok: true }),

    'rcpt.check': (p) => checkRecipient(deps.delivery, String(p.address), typeof p.size === 'number' ? p.size : undefined),

    'mail.deliver': async (p): Promise<DeliverResult> => {
      const started = process.hrtime.bigint();
      // Resolves after the store's durable commit: the child answers 250 only then.
      const r = await deliver(deps.delivery, {
        message: { prepared: p.prepared },
        recipients: p.recipients,
        sender: p.sender,
        junk: p.junk,
        deliveredTo: p.deliveredTo,
        autoReplyEligible: p.autoReplyEligible === true,
      });
      logDelivery(log, lines, p, r, started);
      return { delivered: r.delivered, skipped: r.skipped, relay: r.relay };
    },

    'auth.login': (p) => deps.credentials.verifyLogin({ username: p.username, password: p.password, protocol: 'smtp', remoteAddress: p.remoteAddress }),
    'auth.current': (p) => deps.credentials.isCurrent(p.mailboxId, p.credentialVersion, p.credentialId),
    'submit.sender': (p) => deps.sending.maySendAs(p.mailboxId, p.address),
    'submit.mail': async (p) => {
      if (!(await deps.credentials.isCurrent(p.mailboxId, p.credentialVersion, p.credentialId))) return { current: false, maySend: false };
      return { current: true, maySend: !!p.address && (await deps.sending.maySendAs(p.mailboxId, String(p.address))) };
    },
    'submit.admit': (p) => deps.limiter.admit(p.mailboxId, p.tenantId, p.recipients),
    'dkim.keys': (p) => tagged(() => deps.sending.signingKeys(p.domain)),
    'route.lookup': (p) => tagged(() => lookupRoute(deps.sending, deps.config.smarthost, p)),

    'outbound.event': (p) => {
      outboundEvent(log, p);
      return null;
    },
    'outbound.events': (p) => {
      for (const e of Array.isArray(p.events) ? p.events : []) outboundEvent(log, e);
      return null;
    },

    'spam.rcpt': (p) => spamDecisionFor(deps.core.db, deps.config.spam, { address: String(p.address), sender: String(p.sender ?? ''), ip: String(p.ip ?? '') }),
    'rcpt.inbound': async (p) => {
      const address = String(p.address);
      const spam = await spamDecisionFor(deps.core.db, deps.config.spam, { address, sender: String(p.sender ?? ''), ip: String(p.ip ?? '') });
      // A blocked sender is refused before the recipient is looked at (as with two calls).
      if (spam?.listed === 'block') return { spam, check: null };
      return { spam, check: await checkRecipient(deps.delivery, address, typeof p.size === 'number' ? p.size : undefined) };
    },
    'spam.submission': (p) => submissionSpamPolicy(deps.core.db, deps.config.spam, p.mailboxId),
    'spam.result': async (p) => {
      spamResult(p);
      if (p.direction === 'outbound' && p.outcome === 'reject' && p.mailboxId && p.tenantId) {
        return { blocked: await deps.limiter.recordSpam(p.mailboxId, p.tenantId) };
      }
      return { blocked: false };
    },
    'spam.results': async (p) => {
      for (const r of Array.isArray(p.results) ? p.results : []) {
        spamResult(r);
        // The child sends a refused submission at once (it needs the answer); should one come here, it still counts.
        if (r.direction === 'outbound' && r.outcome === 'reject' && r.mailboxId && r.tenantId) await deps.limiter.recordSpam(r.mailboxId, r.tenantId);
      }
      return null;
    },

    'spam.unscanned': (p) => {
      for (const c of p.counts ?? []) {
        const n = Math.min(Number(c.n) || 0, 1_000_000);
        for (let i = 0; i < n; i++) recordScan({ direction: c.direction === 'outbound' ? 'outbound' : 'inbound', outcome: 'unscanned', tenantId: String(c.tenantId ?? '') || null, seconds: null });
      }
      return null;
    },

    'metrics.report': (p) => {
      applyMtaReport(p);
      return null;
    },
  };
  return impl as unknown as Record<string, Handler>;
}
