/**
 * The serving side of shared-mailbox grants (GrantsServing, grants.types.ts), built once at boot
 * by the composition root and shared by IMAP, SMTP submission and the control plane. Reads go to
 * the database (indexed look-ups of live, unexpired grants on reachable shared mailboxes); changes
 * reach in-process listeners per member at once and, in a cluster, every other node through the
 * `grants` topic. `touch` records use for the stale-grant report at most once a minute per grant.
 */
import { type ClusterNotifier, TOPICS } from '../../cluster/notifier.js';
import { type Executor, repos } from '../../db/repos/index.js';
import type { MailboxGrantJoined } from '../../db/repos/grants.js';
import type { Logger } from '../../logger.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { GRANT_RIGHTS, type GrantChange, type GrantRight, type GrantsServing, type ServingGrant } from './grants.types.js';

/** A grant's use is written at most this often (the stale report counts days). */
export const TOUCH_INTERVAL_MS = 60_000;

const KINDS: ReadonlyArray<GrantChange['kind']> = ['granted', 'changed', 'revoked'];

/** Parses the stored comma-separated rights, keeping only known ones. */
export function parseRights(stored: string): GrantRight[] {
  const set = new Set(stored.split(',').map((s) => s.trim()));
  return GRANT_RIGHTS.filter((r) => set.has(r));
}

export function servingGrant(row: MailboxGrantJoined): ServingGrant {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    mailboxId: row.mailbox_id,
    mailboxAddress: row.mailbox_address,
    memberMailboxId: row.member_mailbox_id,
    rights: new Set(parseRights(row.rights)),
    seenPerMember: Number(row.seen_per_member) === 1,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  };
}

export class DbGrantsServing implements GrantsServing {
  private readonly listeners = new Map<string, Set<(change: GrantChange) => void>>();
  /** Last write of `last_used_at` per grant id (the throttle of touch). */
  private readonly touched = new Map<string, number>();
  private cluster: ClusterNotifier | null = null;

  constructor(
    private readonly db: Executor,
    private readonly logger: Logger | null = null,
    private readonly now: () => number = Date.now,
  ) {}

  /** The serving layer answers for every tenant (a login names its own mailbox); grants never cross tenants. */
  private get grants() {
    return repos(this.db, PLATFORM_SCOPE).grants;
  }

  async forMember(memberMailboxId: string): Promise<ServingGrant[]> {
    const rows = await this.grants.liveForMember(memberMailboxId, this.now());
    return rows.map(servingGrant);
  }

  async grantOf(mailboxId: string, memberMailboxId: string): Promise<ServingGrant | null> {
    const row = await this.grants.liveOf(mailboxId, memberMailboxId, this.now());
    return row ? servingGrant(row) : null;
  }

  touch(grantId: string): void {
    const now = this.now();
    const last = this.touched.get(grantId);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(grantId, now);
    if (this.touched.size > 10_000) {
      for (const [id, at] of this.touched) if (now - at >= TOUCH_INTERVAL_MS) this.touched.delete(id);
    }
    this.grants.touch(grantId, now).catch((err: unknown) => this.logger?.warn({ event: 'grants.touch.error', err }, 'grant use not recorded'));
  }

  onChange(memberMailboxId: string, listener: (change: GrantChange) => void): () => void {
    let set = this.listeners.get(memberMailboxId);
    if (!set) this.listeners.set(memberMailboxId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (!set!.size) this.listeners.delete(memberMailboxId);
    };
  }

  notify(change: GrantChange): void {
    this.deliver(change);
    if (this.cluster?.clustered) {
      void this.cluster
        .publish(TOPICS.grants, { m: change.mailboxId, u: change.memberMailboxId, k: change.kind })
        .catch((err: unknown) => this.logger?.error({ event: 'cluster.subscriber.error', err }, 'grant change not sent to the other nodes'));
    }
  }

  /** Listeners of this process (one failing listener does not keep the others from hearing). */
  private deliver(change: GrantChange): number {
    const set = this.listeners.get(change.memberMailboxId);
    if (!set) return 0;
    for (const fn of [...set]) {
      try {
        fn(change);
      } catch (err) {
        this.logger?.error({ event: 'grants.listener.error', err }, 'grant change listener failed');
      }
    }
    return set.size;
  }

  /** Number of members with listeners (tests, metrics). */
  listening(memberMailboxId: string): number {
    return this.listeners.get(memberMailboxId)?.size ?? 0;
  }

  /**
   * Joins the cluster: changes made here reach the other nodes, theirs reach this node's
   * listeners. After a reconnect (messages may have been lost) every listener is told
   * 'changed', so open sessions re-read their grants from the database.
   */
  joinCluster(cluster: ClusterNotifier): void {
    this.cluster = cluster;
    cluster.subscribe(TOPICS.grants, (p) => {
      if (typeof p.m !== 'string' || typeof p.u !== 'string' || !KINDS.includes(p.k as GrantChange['kind'])) return;
      this.deliver({ mailboxId: p.m, memberMailboxId: p.u, kind: p.k as GrantChange['kind'] });
    });
    cluster.onResync(() => {
      for (const member of [...this.listeners.keys()]) this.deliver({ mailboxId: '', memberMailboxId: member, kind: 'changed' });
    });
  }
}
