/**
 * The appliance side of the Haraka child's calls (see appliance/rpc/protocol.ts).
 */
import type { Config } from '../config.js';
import type { AutoResponder } from '../core/delivery/auto-reply.js';
import type { CredentialService } from '../core/access/credentials.js';
import type { SendLimiter } from '../core/sending/limits.js';
import type { RecipientRouter } from '../core/delivery/routing.js';
import type { SendingPolicy } from '../core/sending/sending.js';
import { type SpamDefaults, spamDecisionFor, submissionSpamPolicy } from '../core/sending/spam-policy.service.js';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { recordScan } from '../spam/metrics.js';
import { Srs } from '../core/sending/srs.js';
import type { Logger } from '../logger.js';
import { applyMtaReport, countLocalDeliveries, countOutboundResult } from '../metrics.js';
import { recordOutboundEvent } from './outbound-queue.js';
import type { DeliveryTarget } from '../mailstore/ingest.js';
import type { SqlMailStore } from '../mailstore/store.js';
import type { Handler } from '../rpc/channel.js';
import type { DeliverParams, DeliverResult, RcptCheckParams, RcptCheckResult, RpcMethods } from '../rpc/protocol.js';

export interface MtaDeps {
  config: Readonly<Config>;
  router: RecipientRouter;
  store: SqlMailStore;
  credentials: CredentialService;
  sending: SendingPolicy;
  limiter: SendLimiter;
  logger: Logger;
  /** Spam policy look-ups (issue 15). */
  spam: { db: Kysely<DB>; defaults: SpamDefaults };
  /** Set once the mailer exists (it needs the supervisor, which needs these handlers). */
  autoResponder?: AutoResponder;
}

type Impl = { [M in keyof RpcMethods]: (p: Parameters<RpcMethods[M]>[0]) => Promise<ReturnType<RpcMethods[M]>> | ReturnType<RpcMethods[M]> };

export function mtaRpcHandlers(deps: MtaDeps): Record<string, Handler> {
  const log = deps.logger.child({ service: 'delivery' });
  let srs: Promise<Srs> | null = null;
  const getSrs = () => (srs ??= deps.sending.srsSecret().then((s) => new Srs(s)));

  const impl: Impl = {
    ping: () => ({ ok: true }),

    'rcpt.check': async (p: RcptCheckParams): Promise<RcptCheckResult> => {
      const address = String(p.address).toLowerCase();
      if (/^srs0=/i.test(address)) {
        const original = (await getSrs()).reverse(address);
        if (original && (await deps.sending.isHosted(address.slice(address.lastIndexOf('@') + 1)))) return { ok: true, srsOriginal: original };
      }
      const r = await deps.router.resolve(address, typeof p.size === 'number' ? p.size : undefined);
      return r.ok ? { ok: true, mailboxIds: r.mailboxes.map((m) => m.id) } : { ok: false, refusal: r.refusal };
    },

    'mail.deliver': async (p: DeliverParams): Promise<DeliverResult> => {
      const started = process.hrtime.bigint();
      const targets: DeliveryTarget[] = [];
      const delivered: DeliverResult['delivered'] = [];
      const skipped: string[] = [];
      const relayTargets = new Map<string, Set<string>>(); // forwarding domain → external targets
      const seen = new Set<string>();
      const addressOf: string[] = [];
      const loopSeen = new Set(p.deliveredTo.map((a) => a.toLowerCase()));
      const usedForwards: string[] = [];
      const tenantOf = new Map<string, string>();

      const addMailbox = async (mailbox: { id: string; address: string; tenantId: string }, variant: number, via: string, depth: number): Promise<void> => {
        if (seen.has(mailbox.id)) return;
        seen.add(mailbox.id);
        tenantOf.set(mailbox.id, mailbox.tenantId);
        const forwards = depth < 5 && !loopSeen.has(mailbox.address) ? await deps.sending.forwards(mailbox.id) : [];
        if (loopSeen.has(mailbox.address)) log.warn({ event: 'smtp.forward.loop', queueId: p.queueId, mailboxId: mailbox.id }, 'forwarding loop detected: not forwarding again');
        if (!forwards.length || forwards.some((f) => f.keepCopy)) {
          targets.push({ mailboxId: mailbox.id, variant, folder: p.junk ? '\\Junk' : 'INBOX' });
          addressOf.push(via);
        }
        for (const f of forwards) {
          usedForwards.push(f.id);
          if (f.external) {
            const domain = mailbox.address.slice(mailbox.address.lastIndexOf('@') + 1);
            if (!relayTargets.has(domain)) relayTargets.set(domain, new Set());
            relayTargets.get(domain)!.add(f.target);
          } else {
            const r = await deps.router.resolve(f.target, undefined, { forDelivery: true });
            if (r.ok) for (const m of r.mailboxes) await addMailbox(m, variant, via, depth + 1);
          }
        }
      };

      for (const rcpt of p.recipients) {
        const r = await deps.router.resolve(rcpt.address, undefined, { forDelivery: true });
        if (!r.ok) {
          skipped.push(rcpt.address);
          continue;
        }
        for (const m of r.mailboxes) await addMailbox(m, rcpt.variant, rcpt.address, 0);
        if (r.external.length && !loopSeen.has(rcpt.address.toLowerCase())) {
          // An alias with external targets forwards: SRS in the alias's own domain.
          const domain = rcpt.address.slice(rcpt.address.lastIndexOf('@') + 1).toLowerCase();
          if (!relayTargets.has(domain)) relayTargets.set(domain, new Set());
          for (const e of r.external) relayTargets.get(domain)!.add(e);
        }
      }
      const results = await deps.store.ingest.commit(p.prepared, targets, { enforceQuota: false });
      results.forEach((res, i) => delivered.push({ address: addressOf[i]!, mailboxId: res.mailboxId, uid: res.uid }));
      countLocalDeliveries(results.map((r) => tenantOf.get(r.mailboxId) ?? ''));
      await deps.sending.markForwardsUsed(usedForwards);
      if (deps.autoResponder && p.autoReplyEligible) {
        const meta = p.prepared.variants[0]?.meta;
        for (const rcpt of p.recipients) {
          // After the commit and off the 250's path: a reply never delays or fails the delivery.
          deps.autoResponder
            .maybeReply({ address: rcpt.address, sender: p.sender, subject: meta?.subject ?? '', messageId: meta?.envelope.messageId ?? null, eligible: true })
            .catch((err: unknown) => log.warn({ event: 'smtp.auto_reply.error', err }, 'auto-reply failed'));
        }
      }
      const relay: DeliverResult['relay'] = [];
      for (const [domain, set] of relayTargets) {
        relay.push({ sender: p.sender ? (await getSrs()).forward(p.sender, domain) : '', recipients: [...set] });
      }
      log.info(
        {
          event: 'smtp.delivered',
          queueId: p.queueId,
          mailboxes: delivered.length,
          forwarded: relay.reduce((n, r) => n + r.recipients.length, 0),
          skipped: skipped.length,
          junk: p.junk,
          size: p.prepared.blobSize,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'message stored',
      );
      if (skipped.length) log.warn({ event: 'smtp.deliver.skipped', queueId: p.queueId, count: skipped.length }, 'recipients vanished before delivery');
      return { delivered, skipped, relay };
    },

    'auth.login': (p) => deps.credentials.verifyLogin({ username: p.username, password: p.password, protocol: 'smtp', remoteAddress: p.remoteAddress }),
    'auth.current': (p) => deps.credentials.isCurrent(p.mailboxId, p.credentialVersion, p.credentialId),
    'submit.sender': (p) => deps.sending.maySendAs(p.mailboxId, p.address),
    'submit.admit': (p) => deps.limiter.admit(p.mailboxId, p.tenantId, p.recipients),
    'dkim.keys': (p) => deps.sending.signingKeys(p.domain),

    'route.lookup': async (p) => {
      if (await deps.sending.isHosted(p.rcptDomain)) return { kind: 'local' as const };
      const route = await deps.sending.route(p.senderDomain);
      if (route) return { kind: 'smarthost' as const, route };
      const s = deps.config.smarthost;
      if (s) return { kind: 'smarthost' as const, route: { host: s.host, port: s.port, tls: s.tls, authUser: s.user, authPass: s.password, scope: 'global' as const } };
      return { kind: 'mx' as const };
    },

    'outbound.event': (p) => {
      countOutboundResult(p.kind, `${p.queueId} ${String(p.domain ?? '').toLowerCase()}`);
      recordOutboundEvent(p);
      const level = p.kind === 'delivered' ? 'info' : 'warn';
      log[level]({ event: `smtp.outbound.${p.kind}`, queueId: p.queueId, domain: p.domain, detail: p.detail }, `outbound ${p.kind}`);
      return null;
    },

    'spam.rcpt': (p) => spamDecisionFor(deps.spam.db, deps.spam.defaults, { address: String(p.address), sender: String(p.sender ?? ''), ip: String(p.ip ?? '') }),
    'spam.submission': (p) => submissionSpamPolicy(deps.spam.db, deps.spam.defaults, p.mailboxId),
    'spam.result': async (p) => {
      recordScan({ direction: p.direction, outcome: p.outcome, tenantId: p.tenantId, seconds: p.seconds });
      const level = p.outcome === 'reject' || p.outcome === 'tempfail' || p.outcome === 'block' ? 'info' : 'debug';
      log[level]({ event: `smtp.spam.${p.outcome}`, direction: p.direction, tenantId: p.tenantId, score: p.score, queueId: p.queueId }, 'spam decision');
      if (p.direction === 'outbound' && p.outcome === 'reject' && p.mailboxId && p.tenantId) {
        return { blocked: await deps.limiter.recordSpam(p.mailboxId, p.tenantId) };
      }
      return { blocked: false };
    },

    'metrics.report': (p) => {
      applyMtaReport(p);
      return null;
    },
  };
  return impl as unknown as Record<string, Handler>;
}
