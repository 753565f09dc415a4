/**
 * Blast radius of a compromised mailbox: messages and recipients per hour per mailbox and per
 * tenant (defaults from config, overridable per mailbox/tenant in the database), answered with
 * 451 4.7.1 when exceeded. A mailbox that keeps pushing far past its limit (the anomaly
 * threshold) is blocked from sending — not from receiving — with an audit event, until an
 * admin lifts the block.
 */
import type { Config } from '../../config.js';
import { type Executor, type Repos, repos } from '../../db/repos/index.js';
import type { Logger } from '../../logger.js';
import { systemActor } from '../kernel/authz.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { audit } from './common.js';
import { MemorySendWindows, type SendWindows } from './send-windows.js';

/** Defaults per hour, the block factor and the window: `config.sendLimits`. */
export type SendLimitDefaults = Config['sendLimits'];

export type LimitDecision = { ok: true } | { ok: false; reason: 'blocked'; message: string } | { ok: false; reason: 'mailbox-rate' | 'tenant-rate'; message: string };

export class SendLimiter {
  /** Counts per mailbox and tenant (sent, refused, spam) and the "block raised" markers. */
  private readonly windows: SendWindows;
  /** Blocks this process is raising now (a flood raises one, not one per refusal). */
  private readonly raising = new Set<string>();
  onBlock?: (mailboxId: string, tenantId: string) => void;
  /** The outbound limits of the template applied to a domain (null: none applied). */
  domainLimits?: (domainId: string) => Promise<{ messagesPerHour: number; recipientsPerHour: number } | null>;
  onRefuse?: (tenantId: string, reason: string) => void;
  /** The limiter's own look-ups and the block it raises: every tenant (each about one mailbox). */
  private readonly repos: Repos;

  constructor(
    db: Executor,
    private readonly logger: Logger,
    private readonly defaults: SendLimitDefaults,
    /** Default: in memory (one node); a cluster passes SharedSendWindows (the shared database). */
    windows?: SendWindows,
  ) {
    this.repos = repos(db, PLATFORM_SCOPE);
    this.windows = windows ?? new MemorySendWindows(defaults.windowMs);
  }

  private async limits(mailboxId: string, tenantId: string) {
    const mb = await this.repos.limits.mailboxLimits(mailboxId);
    // Per-mailbox overrides win, then the domain template's limits, then the appliance defaults.
    const template = mb && this.domainLimits ? await this.domainLimits(mb.domain_id) : null;
    const t = await this.repos.limits.tenantLimits(tenantId);
    return {
      blockedAt: mb?.send_blocked_at ?? null,
      blockedReason: mb?.send_blocked_reason ?? null,
      mailboxMessages: mb?.send_limit_per_hour ?? template?.messagesPerHour ?? this.defaults.mailboxMessagesPerHour,
      mailboxRecipients: mb?.rcpt_limit_per_hour ?? template?.recipientsPerHour ?? this.defaults.mailboxRecipientsPerHour,
      tenantMessages: t?.send_limit_per_hour ?? this.defaults.tenantMessagesPerHour,
      tenantRecipients: t?.rcpt_limit_per_hour ?? this.defaults.tenantRecipientsPerHour,
    };
  }

  /**
   * Asks to send one message to `recipients` remote recipients; records it when allowed, and
   * records the refusal (towards the anomaly threshold) when not.
   */
  async admit(mailboxId: string, tenantId: string, recipients: number, now = Date.now()): Promise<LimitDecision> {
    const l = await this.limits(mailboxId, tenantId);
    if (l.blockedAt !== null) return { ok: false, reason: 'blocked', message: `sending is blocked for this mailbox: ${l.blockedReason ?? 'by an administrator'}` };
    const k = {
      mMsg: `m:${mailboxId}:msg`,
      mRcpt: `m:${mailboxId}:rcpt`,
      tMsg: `t:${tenantId}:msg`,
      tRcpt: `t:${tenantId}:rcpt`,
      raised: `b:${mailboxId}`,
      refused: `r:${mailboxId}`,
      spam: `s:${mailboxId}`,
    };
    const w = await this.windows.read([k.mMsg, k.mRcpt, k.tMsg, k.tRcpt, k.raised], now);
    const count = (key: string) => w.get(key)?.count ?? 0;
    if ((w.get(k.raised)?.until ?? 0) > 0) {
      // The limiter blocked this mailbox and an administrator lifted the block: a fresh window.
      await this.windows.clear([k.mMsg, k.mRcpt, k.refused, k.spam, k.raised]);
      w.delete(k.mMsg);
      w.delete(k.mRcpt);
    }
    const overMailbox = count(k.mMsg) + 1 > l.mailboxMessages || count(k.mRcpt) + recipients > l.mailboxRecipients;
    const overTenant = count(k.tMsg) + 1 > l.tenantMessages || count(k.tRcpt) + recipients > l.tenantRecipients;
    if (overMailbox || overTenant) {
      const refused = (await this.windows.add([{ key: k.refused, n: 1 }], now)).get(k.refused)?.count ?? 0;
      const reason = overMailbox ? 'mailbox-rate' : 'tenant-rate';
      this.onRefuse?.(tenantId, reason);
      this.logger.warn({ event: 'smtp.limit.refused', mailboxId, tenantId, reason }, 'send limit reached');
      if (overMailbox && refused > Math.ceil(l.mailboxMessages * (this.defaults.blockFactor - 1))) {
        await this.block(mailboxId, tenantId, `outbound anomaly: kept sending past ${l.mailboxMessages} messages per hour`, now);
        return { ok: false, reason: 'blocked', message: 'sending is blocked for this mailbox: outbound anomaly' };
      }
      return { ok: false, reason, message: overMailbox ? 'mailbox send limit reached, try again later' : 'organisation send limit reached, try again later' };
    }
    await this.windows.add(
      [
        { key: k.mMsg, n: 1 },
        { key: k.mRcpt, n: recipients },
        { key: k.tMsg, n: 1 },
        { key: k.tRcpt, n: recipients },
      ],
      now,
    );
    return { ok: true };
  }

  /**
   * An authenticated submission refused as spam (issue 15): counts toward the automatic block;
   * `blockFactor` spam verdicts within the window block the mailbox from sending. True once blocked.
   */
  async recordSpam(mailboxId: string, tenantId: string, now = Date.now()): Promise<boolean> {
    const key = `s:${mailboxId}`;
    const n = (await this.windows.add([{ key, n: 1 }], now)).get(key)?.count ?? 0;
    this.onRefuse?.(tenantId, 'spam');
    this.logger.warn({ event: 'smtp.spam.outbound', mailboxId, tenantId, verdicts: n }, 'submission refused as spam');
    if (n < this.defaults.blockFactor) return false;
    await this.block(mailboxId, tenantId, `outbound spam: ${n} submissions refused as spam within the limit window`, now);
    return true;
  }

  private async block(mailboxId: string, tenantId: string, reason: string, now: number): Promise<void> {
    if (this.raising.has(mailboxId)) return;
    this.raising.add(mailboxId);
    try {
      await this.windows.setUntil(`b:${mailboxId}`, now, now);
      const raised = await this.repos.transaction(async (t) => {
        if (!(await t.limits.blockSending(mailboxId, reason, now))) return false; // already blocked (another node, or an admin)
        await audit(
          t,
          systemActor('send-limiter'),
          {
            action: 'mailbox.send.blocked',
            targetType: 'mailbox',
            targetId: mailboxId,
            tenantId,
            before: { sendBlocked: false },
            after: { sendBlocked: true },
            reason,
          },
          now,
        );
        return true;
      });
      if (!raised) return;
    } finally {
      this.raising.delete(mailboxId);
    }
    this.onBlock?.(mailboxId, tenantId);
    this.logger.error({ event: 'smtp.limit.blocked', mailboxId, tenantId, reason }, 'mailbox blocked from sending');
  }
}
