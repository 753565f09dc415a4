/**
 * What the sending half of the MTA asks the core: may this mailbox send as that address, which
 * keys sign for a domain, which route carries mail from a domain, where does a mailbox forward,
 * and the appliance's SRS secret. Serving-layer decisions, read fresh from the database.
 */
import { randomBytes } from 'node:crypto';
import { type Executor, mtaWriteEpoch, repos } from '../../db/repos/index.js';
import type { SendingRepo } from '../../db/repos/sending.js';
import type { GrantsRepo } from '../../db/repos/grants.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';

export interface SigningKey {
  selector: string;
  algorithm: string;
  privateKey: string;
}

export interface OutboundRouteInfo {
  host: string;
  port: number;
  /** STARTTLS whenever offered (Haraka's outbound has no implicit TLS). */
  tls: 'opportunistic';
  authUser: string | null;
  authPass: string | null;
  scope: 'domain' | 'tenant' | 'global';
}

export interface ForwardTarget {
  id: string;
  target: string;
  external: boolean;
  keepCopy: boolean;
}

function lower(a: string): string {
  return a.trim().toLowerCase();
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

export class SendingPolicy {
  /** The serving layer's own look-ups: every tenant (each answer is about one mailbox or domain). */
  private readonly repo: SendingRepo;
  private readonly grants: GrantsRepo;
  /** Moves with every write to what signingKeys, route and isHosted read (SQLite; null on PostgreSQL): the MTA caches their answers by it. */
  readonly epoch: ReturnType<typeof mtaWriteEpoch>;

  constructor(db: Executor) {
    this.repo = repos(db, PLATFORM_SCOPE).sending;
    this.grants = repos(db, PLATFORM_SCOPE).grants;
    this.epoch = mtaWriteEpoch(db);
  }

  /**
   * True when the mailbox may use `address` as envelope sender or From: its own address (also
   * with a +tag), an alias of its tenant that delivers to it, an explicit send-as grant, or a
   * shared mailbox of its tenant it holds a live grant with the `send` right on (issue 19).
   * Never another tenant's domain.
   */
  async maySendAs(mailboxId: string, address: string): Promise<boolean> {
    const wanted = lower(address);
    const mailbox = await this.repo.senderMailbox(mailboxId);
    if (!mailbox) return false;
    if (wanted === mailbox.address) return true;
    const [local, domain] = [wanted.slice(0, wanted.lastIndexOf('@')), domainOf(wanted)];
    if (local.includes('+') && `${local.slice(0, local.indexOf('+'))}@${domain}` === mailbox.address) return true;
    // The address's domain must belong to the sender's tenant: no cross-tenant spoofing, ever.
    const owner = await this.repo.activeDomainTenant(domain);
    if (!owner || owner.tenant_id !== mailbox.tenant_id) return false;
    if (await this.repo.hasSendAsGrant(mailboxId, wanted)) return true;
    if (await this.maySendAsShared(mailboxId, wanted)) return true;
    const alias = await this.repo.activeAliasTargets(wanted, mailbox.tenant_id);
    if (!alias) return false;
    try {
      const targets = JSON.parse(alias.targets) as unknown;
      return Array.isArray(targets) && targets.some((t) => typeof t === 'string' && lower(t) === mailbox.address);
    } catch {
      return false;
    }
  }

  /** A live grant (unexpired, shared mailbox reachable) with `send` on the shared mailbox of that address. */
  private async maySendAsShared(memberMailboxId: string, address: string): Promise<boolean> {
    const live = await this.grants.liveForMember(memberMailboxId, Date.now());
    return live.some((g) => g.mailbox_address === address && g.rights.split(',').includes('send'));
  }

  /** Active signing keys of a hosted domain (RSA and Ed25519), none when the domain is not hosted. */
  async signingKeys(domain: string): Promise<SigningKey[]> {
    const rows = await this.repo.signingKeyRows(lower(domain));
    // One key per algorithm: the newest active one.
    const seen = new Set<string>();
    const keys: SigningKey[] = [];
    for (const r of rows) {
      if (seen.has(r.algorithm)) continue;
      seen.add(r.algorithm);
      keys.push({ selector: r.selector, algorithm: r.algorithm, privateKey: r.private_key });
    }
    return keys;
  }

  /** The smarthost for mail sent from `senderDomain`: the domain's route, its tenant's, or the global one. */
  async route(senderDomain: string | null): Promise<OutboundRouteInfo | null> {
    let domain: { id: string; tenant_id: string } | undefined;
    if (senderDomain) {
      domain = await this.repo.domainByName(lower(senderDomain));
    }
    const rows = await this.repo.routeCandidates(domain);
    const pick =
      rows.find((r) => domain && r.domain_id === domain.id) ??
      rows.find((r) => domain && r.tenant_id === domain.tenant_id && r.domain_id === null) ??
      rows.find((r) => r.tenant_id === null && r.domain_id === null);
    if (!pick) return null;
    return {
      host: pick.host,
      port: pick.port,
      tls: 'opportunistic',
      authUser: pick.auth_user,
      authPass: pick.auth_pass,
      scope: pick.domain_id ? 'domain' : pick.tenant_id ? 'tenant' : 'global',
    };
  }

  /** True when `domain` is hosted here. */
  async isHosted(domain: string): Promise<boolean> {
    return !!(await this.repo.activeDomainTenant(lower(domain)));
  }

  /** Live forwards of a mailbox; expired ones are marked expired (and reported) instead. */
  async forwards(mailboxId: string, now = Date.now()): Promise<ForwardTarget[]> {
    const rows = await this.repo.activeForwards(mailboxId);
    const live: ForwardTarget[] = [];
    const expired: string[] = [];
    for (const r of rows) {
      if (r.expires_at !== null && Number(r.expires_at) <= now) expired.push(r.id);
      else live.push({ id: r.id, target: r.target, external: r.external === 1, keepCopy: r.keep_copy === 1 });
    }
    await this.repo.markForwardsExpired(expired);
    return live;
  }

  async markForwardsUsed(ids: string[], now = Date.now()): Promise<void> {
    await this.repo.markForwardsUsed(ids, now);
  }

  /** A setting generated once and shared by every node (e.g. the SRS secret). */
  setting(key: string, generate: () => string): Promise<string> {
    return this.repo.setting(key, generate);
  }

  srsSecret(): Promise<string> {
    return this.setting('srs.secret', () => randomBytes(32).toString('base64url'));
  }
}
