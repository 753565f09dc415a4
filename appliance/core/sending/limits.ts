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

/** Defaults per hour, the block factor and the window: `config.sendLimits`. */
export type SendLimitDefaults = Config['sendLimits'];

export type LimitDecision = { ok: true } | { ok: false; reason: 'blocked'; message: string } | { ok: false; reason: 'mailbox-rate' | 'tenant-rate'; message: string };

const BUCKETS = 60;

/** Counts in BUCKETS slices of the window: cheap, bounded memory per key. */
class WindowCounter {
  private readonly counts = new Map<string, { slot: number[]; at: number[] }>();

  constructor(private readonly windowMs: number) {}

  private slotOf(now: number): number {
    return Math.floor(now / (this.windowMs / BUCKETS));
  }

  total(key: string, now: number): number {
    const c = this.counts.get(key);
    if (!c) return 0;
    const current = this.slotOf(now);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) if (current - c.at[i]! < BUCKETS) sum += c.slot[i]!;
    return sum;
  }

  reset(key: string): void {
    this.counts.delete(key);
  }

  add(key: string, n: number, now: number): void {
    let c = this.counts.get(key);
    if (!c) this.counts.set(key, (c = { slot: new Array(BUCKETS).fill(0), at: new Array(BUCKETS).fill(-Infinity) }));
    const s = this.slotOf(now);
    const i = s % BUCKETS;
    if (c.at[i] !== s) {
      c.at[i] = s;
      c.slot[i] = 0;
    }
    c.slot[i]! += n;
  }
}

export class SendLimiter {
  private readonly sent: WindowCounter;
  private readonly refused: WindowCounter;
  /** Blocks raised by this process (per mailbox), so a flood does not re-read the database. */
  private readonly blocked = new Set<string>();
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
  ) {
    this.repos = repos(db, PLATFORM_SCOPE);
    this.sent = new WindowCounter(defaults.windowMs);
    this.refused = new WindowCounter(defaults.windowMs);
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
    const mKey = `m:${mailboxId}`;
    if (this.blocked.delete(mailboxId)) {
      // An administrator lifted the block: the mailbox starts a fresh window.
      for (const k of [`${mKey}:msg`, `${mKey}:rcpt`]) this.sent.reset(k);
      this.refused.reset(mKey);
      this.refused.reset(`s:${mailboxId}`);
    }
    const tKey = `t:${tenantId}`;
    const overMailbox = this.sent.total(`${mKey}:msg`, now) + 1 > l.mailboxMessages || this.sent.total(`${mKey}:rcpt`, now) + recipients > l.mailboxRecipients;
    const overTenant = this.sent.total(`${tKey}:msg`, now) + 1 > l.tenantMessages || this.sent.total(`${tKey}:rcpt`, now) + recipients > l.tenantRecipients;
    if (overMailbox || overTenant) {
      this.refused.add(mKey, 1, now);
      const reason = overMailbox ? 'mailbox-rate' : 'tenant-rate';
      this.onRefuse?.(tenantId, reason);
      this.logger.warn({ event: 'smtp.limit.refused', mailboxId, tenantId, reason }, 'send limit reached');
      if (overMailbox && this.refused.total(mKey, now) > Math.ceil(l.mailboxMessages * (this.defaults.blockFactor - 1))) {
        await this.block(mailboxId, tenantId, `outbound anomaly: kept sending past ${l.mailboxMessages} messages per hour`, now);
        return { ok: false, reason: 'blocked', message: 'sending is blocked for this mailbox: outbound anomaly' };
      }
      return { ok: false, reason, message: overMailbox ? 'mailbox send limit reached, try again later' : 'organisation send limit reached, try again later' };
    }
    this.sent.add(`${mKey}:msg`, 1, now);
    this.sent.add(`${mKey}:rcpt`, recipients, now);
    this.sent.add(`${tKey}:msg`, 1, now);
    this.sent.add(`${tKey}:rcpt`, recipients, now);
    return { ok: true };
  }

  /**
   * An authenticated submission refused as spam (issue 15): counts toward the automatic block;
   * `blockFactor` spam verdicts within the window block the mailbox from sending. True once blocked.
   */
  async recordSpam(mailboxId: string, tenantId: string, now = Date.now()): Promise<boolean> {
    const key = `s:${mailboxId}`;
    this.refused.add(key, 1, now);
    this.onRefuse?.(tenantId, 'spam');
    const n = this.refused.total(key, now);
    this.logger.warn({ event: 'smtp.spam.outbound', mailboxId, tenantId, verdicts: n }, 'submission refused as spam');
    if (n < this.defaults.blockFactor) return false;
    await this.block(mailboxId, tenantId, `outbound spam: ${n} submissions refused as spam within the limit window`, now);
    return true;
  }

  private async block(mailboxId: string, tenantId: string, reason: string, now: number): Promise<void> {
    if (this.blocked.has(mailboxId)) return;
    this.blocked.add(mailboxId);
    await this.repos.transaction(async (t) => {
      await t.limits.blockSending(mailboxId, reason, now);
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
    });
    this.onBlock?.(mailboxId, tenantId);
    this.logger.error({ event: 'smtp.limit.blocked', mailboxId, tenantId, reason }, 'mailbox blocked from sending');
  }
}
