/**
 * The one place that resolves an address to what receives its mail: a hosted mailbox, an alias
 * (expanded to its targets, also across domains of the tenant), a domain's catch-all, or a
 * refusal with its reason. SMTP's RCPT check and local delivery both use it.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { DeliveryRepo } from '../../db/repos/delivery.js';
import { repos } from '../../db/repos/index.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { operatorAddress } from '../mailboxes/role-addresses.js';

export type RecipientRefusal =
  /** The domain is not hosted here: we are not an open relay (550 5.7.1). */
  | 'not-hosted'
  /** Hosted domain, unknown local part (550 5.1.1). */
  | 'unknown'
  /** The mailbox exists but is suspended or offboarded (550 5.2.1). */
  | 'disabled'
  /** The mailbox is full (452 4.2.2). */
  | 'over-quota'
  /** The message alone is larger than the mailbox quota (552 5.2.2). */
  | 'too-big-for-quota';

export interface DeliverableMailbox {
  id: string;
  tenantId: string;
  address: string;
}

export type RecipientResolution =
  /** `external`: alias targets outside this appliance (forwarded with SRS). */
  { ok: true; via: 'mailbox' | 'alias' | 'catch-all'; mailboxes: DeliverableMailbox[]; external: string[] } | { ok: false; refusal: RecipientRefusal };

const MAX_ALIAS_DEPTH = 5;
const RECEIVING = new Set(['active', 'pending']);
const DISABLED = new Set(['suspended', 'offboarded']);

function split(address: string): { local: string; domain: string } | null {
  const a = address.trim().toLowerCase().replace(/^<|>$/g, '');
  const at = a.lastIndexOf('@');
  if (at <= 0 || at === a.length - 1) return null;
  return { local: a.slice(0, at), domain: a.slice(at + 1) };
}

type Found = { kind: 'mailboxes'; list: Array<DeliverableMailbox & { quota: number; used: number }>; external: string[] } | { kind: 'refused'; refusal: 'unknown' | 'disabled' };

export class RecipientRouter {
  /** The serving layer's look-ups: an envelope recipient names no tenant, so the platform scope. */
  private readonly repo: DeliveryRepo;

  /**
   * `hostname`: the appliance's own name. `<postmaster>` (RFC 5321 §4.5.1: no domain) is
   * postmaster@<hostname>, and that address reaches the operator (see role-addresses.ts)
   * unless the host name is itself a hosted domain with its own postmaster@.
   */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly opts: {
      hostname?: string;
      /**
       * Called for a refused recipient of a hosted primary domain; true when it made the
       * address deliverable (role-addresses.ts: postmaster@ that leads nowhere gets a mailbox).
       */
      postmasterFallback?: (domainId: string, address: string) => Promise<boolean>;
    } = {},
  ) {
    this.repo = repos(db, PLATFORM_SCOPE).delivery;
  }

  /** postmaster@<hostname> when the appliance's host name is not a hosted domain: the operator's address. */
  private async appliancePostmaster(forDelivery: boolean): Promise<RecipientResolution> {
    const operator = await operatorAddress(this.db);
    if (!operator) return { ok: false, refusal: 'unknown' };
    const found = await this.lookup(operator.toLowerCase(), 1, new Set(), forDelivery);
    if (found?.kind === 'mailboxes') return { ok: true, via: 'alias', mailboxes: found.list.map(({ id, tenantId, address: a }) => ({ id, tenantId, address: a })), external: found.external };
    if (found === null && !(await this.isHosted(operator))) return { ok: true, via: 'alias', mailboxes: [], external: [operator.toLowerCase()] };
    return { ok: false, refusal: 'unknown' };
  }

  /**
   * Resolves an envelope recipient; `messageSize` (SIZE= or the real size) enables the quota
   * checks. `forDelivery`: the recipient was accepted at RCPT already, so the message is stored
   * even if the mailbox filled up or was suspended meanwhile (an accepted message is never lost).
   */
  async resolve(address: string, messageSize?: number, opts: { forDelivery?: boolean } = {}): Promise<RecipientResolution> {
    const forDelivery = opts.forDelivery === true;
    const bare = address.trim().toLowerCase().replace(/^<|>$/g, '');
    const hostname = this.opts.hostname?.toLowerCase();
    const parts = hostname && (bare === 'postmaster' || bare === 'postmaster@') ? { local: 'postmaster', domain: hostname } : split(address);
    if (!parts) return { ok: false, refusal: 'unknown' };
    let domain = await this.repo.activeDomain(parts.domain);
    if (!domain && parts.local === 'postmaster' && parts.domain === hostname) return this.appliancePostmaster(forDelivery);
    if (!domain) return { ok: false, refusal: 'not-hosted' };
    let viaDomainAlias = false;
    if (domain.alias_of) {
      // A domain alias: local@alias is local@primary (same tenant, never a chain).
      const primary = await this.repo.activeDomainOfTenant(domain.alias_of, domain.tenant_id);
      if (!primary || primary.alias_of) return { ok: false, refusal: 'unknown' };
      parts.domain = primary.name;
      domain = primary;
      viaDomainAlias = true;
    }

    let via: 'mailbox' | 'alias' | 'catch-all' = 'mailbox';
    let found = await this.lookup(`${parts.local}@${parts.domain}`, 0, new Set(), forDelivery);
    if (found === null && parts.local.includes('+')) {
      // Sub-addressing: user+tag@domain reaches user@domain.
      found = await this.lookup(`${parts.local.slice(0, parts.local.indexOf('+'))}@${parts.domain}`, 0, new Set(), forDelivery);
    }
    if (found === null && domain.catch_all) {
      via = 'catch-all';
      found = await this.lookup(domain.catch_all, 1, new Set(), forDelivery);
    }
    // An existing alias that leads nowhere (never an unknown local part) may get its postmaster fallback.
    if (
      found?.kind === 'refused' &&
      found.refusal === 'unknown' &&
      this.opts.postmasterFallback &&
      (await this.opts.postmasterFallback(domain.id, `${parts.local}@${parts.domain}`).catch(() => false))
    ) {
      via = 'mailbox';
      found = await this.lookup(`${parts.local}@${parts.domain}`, 0, new Set(), forDelivery);
    }
    if (found === null) return { ok: false, refusal: 'unknown' };
    if (found.kind === 'refused') return { ok: false, refusal: found.refusal };
    if (via !== 'catch-all' && (viaDomainAlias || found.list.length !== 1 || found.list[0]!.address !== `${parts.local}@${parts.domain}`)) via = 'alias';

    const external = found.external;
    if (forDelivery) return { ok: true, via, mailboxes: found.list.map(({ id, tenantId, address: a }) => ({ id, tenantId, address: a })), external };
    const size = messageSize ?? 0;
    const fits = found.list.filter((m) => m.used + size <= m.quota && m.used < m.quota);
    if (!fits.length && !external.length) {
      const tooBig = found.list.every((m) => size > m.quota);
      return { ok: false, refusal: tooBig ? 'too-big-for-quota' : 'over-quota' };
    }
    return { ok: true, via, mailboxes: fits.map(({ id, tenantId, address: a }) => ({ id, tenantId, address: a })), external };
  }

  private async isHosted(address: string): Promise<boolean> {
    const domain = address.slice(address.lastIndexOf('@') + 1);
    return this.repo.domainExists(domain);
  }

  /** null: no such address. Aliases expand recursively (bounded depth, cycles ignored). */
  private async lookup(address: string, depth: number, seen: Set<string>, forDelivery: boolean): Promise<Found | null> {
    if (seen.has(address) || depth > MAX_ALIAS_DEPTH) return { kind: 'mailboxes', list: [], external: [] };
    seen.add(address);
    let mailbox = await this.repo.mailboxByAddress(address);
    // An offboarded mailbox converted to an alias of its successor: its address routes as that alias.
    if (mailbox?.status === 'offboarded' && (await this.repo.activeAliasTargets(address)) !== null) mailbox = null;
    // A deleted mailbox (recycle bin) is unknown, and its address does not fall through to the catch-all.
    if (mailbox && mailbox.status === 'deleted') return { kind: 'refused', refusal: 'unknown' };
    if (mailbox) {
      if (DISABLED.has(mailbox.status) && !forDelivery) return { kind: 'refused', refusal: 'disabled' };
      if (!RECEIVING.has(mailbox.status) && !DISABLED.has(mailbox.status)) return { kind: 'refused', refusal: 'unknown' };
      return {
        kind: 'mailboxes',
        list: [{ id: mailbox.id, tenantId: mailbox.tenant_id, address: mailbox.address, quota: Number(mailbox.quota_bytes), used: Number(mailbox.used_bytes) }],
        external: [],
      };
    }
    const aliasTargets = await this.repo.activeAliasTargets(address);
    if (aliasTargets === null) return null;
    let targets: unknown;
    try {
      targets = JSON.parse(aliasTargets);
    } catch {
      targets = [];
    }
    const list: Array<DeliverableMailbox & { quota: number; used: number }> = [];
    const external: string[] = [];
    let disabled = false;
    for (const target of Array.isArray(targets) ? targets : []) {
      if (typeof target !== 'string') continue;
      let t = target.toLowerCase();
      // postmaster@<this appliance> (the last default of required addresses) is the operator, never a forward to ourselves.
      if (this.opts.hostname && t === `postmaster@${this.opts.hostname.toLowerCase()}` && !(await this.isHosted(t))) {
        const operator = await operatorAddress(this.db);
        if (!operator || seen.has(operator.toLowerCase())) continue;
        t = operator.toLowerCase();
      }
      const sub = await this.lookup(t, depth + 1, seen, forDelivery);
      if (sub?.kind === 'mailboxes') {
        for (const m of sub.list) if (!list.some((x) => x.id === m.id)) list.push(m);
        for (const e of sub.external) if (!external.includes(e)) external.push(e);
      } else if (sub?.kind === 'refused' && sub.refusal === 'disabled') {
        disabled = true;
      } else if (sub === null && !(await this.isHosted(t)) && !external.includes(t)) {
        external.push(t);
      }
    }
    if (!list.length && !external.length) return { kind: 'refused', refusal: disabled ? 'disabled' : 'unknown' };
    return { kind: 'mailboxes', list, external };
  }
}
