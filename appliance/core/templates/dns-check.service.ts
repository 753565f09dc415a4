/**
 * DNS watched like production (CONTROL-MODEL principle 9): the expected records of a domain
 * (from its live DKIM keys and its template settings), a check against the configured
 * resolver, a timestamped snapshot per check, the last-known-good snapshot (the latest where
 * every record matched), an audit event when a domain goes from good to bad (and back), and a
 * scheduler that spreads checks across domains.
 *
 * Verification: a domain becomes `verified` the first time a check finds its MX pointing at
 * this appliance and its SPF record as expected — proof that the client controls the zone and
 * routes mail here. Later drift does not un-verify it (drift is reported by the check itself);
 * bulk creation requires a verified domain unless an operator overrides.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Domain } from '../../db/tables/control.table.js';
import type { DnsSnapshot } from '../../db/tables/portfolio.table.js';
import type { DnsResolveFn } from '../../net/resolver.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, scopeOf, systemActor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { type CheckedRecord, checkRecords, type DnsHosts, type DomainDnsStatus, domainStatus, type ExpectedRecord, expectedRecords, mtaStsPolicy, zoneSnippet } from './dns-check.js';
import { publicMailHost } from '../mailboxes/client-settings.js';
import { AppError } from '../kernel/errors.js';
import { repos } from '../../db/repos/index.js';
import { PLATFORM_SCOPE, type Scope } from '../kernel/scope.js';
import { optionalText } from '../kernel/text.js';
import { effectiveDomainSettings } from './domain-settings.js';
import { applyTemplate, type TemplateApplyResult } from './templates.service.js';
import { iso } from '../kernel/util.js';

export interface DnsCheckResult {
  domainId: string;
  domain: string;
  status: DomainDnsStatus;
  checkedAt: string;
  snapshotId: number;
  records: CheckedRecord[];
  lastKnownGood: { snapshotId: number; checkedAt: string } | null;
  /** Set when this check changed the domain's state: broke (good → bad) or restored (bad → good). */
  transition: 'broke' | 'restored' | null;
  verification: string;
}

export interface SnapshotView {
  id: number;
  checkedAt: string;
  status: string;
  template: { id: string; version: number } | null;
  records: CheckedRecord[];
}

export interface DnsTransition {
  tenantId: string;
  domainId: string;
  domain: string;
  kind: 'broke' | 'restored';
  status: DomainDnsStatus;
  at: number;
}

const transitionListeners = new Set<(t: DnsTransition) => void>();

/** Subscribes to good↔bad transitions (a metrics hook); returns the unsubscribe function. */
export function onDnsTransition(listener: (t: DnsTransition) => void): () => void {
  transitionListeners.add(listener);
  return () => transitionListeners.delete(listener);
}

export function dnsHosts(deps: CoreDeps): DnsHosts {
  const url = new URL(deps.config.publicUrl);
  const p = deps.config.publicPorts ?? { submission: 587, submissions: 465, imap: 143, imaps: 993 };
  return {
    mx: deps.config.hostname.toLowerCase(),
    web: url.hostname.toLowerCase().replace(/^\[|\]$/g, ''),
    webPort: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    client: publicMailHost(deps),
    ports: { submission: p.submission, submissions: p.submissions, imap: p.imap, imaps: p.imaps },
  };
}

async function expectedFor(deps: CoreDeps, scope: Scope, domain: Domain): Promise<{ records: ExpectedRecord[]; template: { id: string; version: number } | null }> {
  const keys = await repos(deps.db, scope).dkim.live(domain.id);
  const eff = await effectiveDomainSettings(deps, domain.id);
  return { records: expectedRecords(domain.name, keys, eff.settings, dnsHosts(deps)), template: eff.templateId ? { id: eff.templateId, version: eff.templateVersion! } : null };
}

export async function domainExpectedRecords(
  actor: Actor,
  deps: CoreDeps,
  domainId: string,
): Promise<{ domainId: string; domain: string; template: { id: string; version: number } | null; records: ExpectedRecord[] }> {
  authorize(actor, 'domains.read');
  const scope = scopeOf(actor);
  const domain = await repos(deps.db, scope).domains.get(domainId);
  const e = await expectedFor(deps, scope, domain);
  return { domainId: domain.id, domain: domain.name, ...e };
}

export async function domainZoneSnippet(actor: Actor, deps: CoreDeps, domainId: string): Promise<string> {
  const e = await domainExpectedRecords(actor, deps, domainId);
  const t = e.template ? `template ${e.template.id} v${e.template.version}` : 'platform default settings';
  return zoneSnippet(e.domain, e.records, `Postern records for ${e.domain} (${t}), generated ${iso(deps.now())}`);
}

function snapshotView(s: DnsSnapshot): SnapshotView {
  return {
    id: Number(s.id),
    checkedAt: iso(s.checked_at)!,
    status: s.status,
    template: s.template_id ? { id: s.template_id, version: Number(s.template_version) } : null,
    records: JSON.parse(s.records) as CheckedRecord[],
  };
}

const BAD = new Set<string>(['failing', 'degraded']);

/** Stores the snapshot, audits a good↔bad transition and a first verification, in one transaction. */
async function recordCheck(
  trx: Transaction<DB>,
  actor: Actor,
  scope: Scope,
  domain: Domain,
  check: { records: CheckedRecord[]; status: DomainDnsStatus; template: { id: string; version: number } | null; now: number },
): Promise<{ snapshotId: number; transition: DnsCheckResult['transition']; verified: boolean }> {
  const { records, status, template, now } = check;
  const r = repos(trx, scope);
  const prev = await r.dns.latestKnownStatus(domain.id);
  const id = await r.dns.insert({
    domain_id: domain.id,
    tenant_id: domain.tenant_id,
    checked_at: now,
    status,
    records: JSON.stringify(records),
    template_id: template?.id ?? null,
    template_version: template?.version ?? null,
  });
  let transition: DnsCheckResult['transition'] = null;
  if (prev === 'ok' && BAD.has(status)) transition = 'broke';
  // Restored: good again after having been good before (a first success is not a restoration).
  else if (prev && BAD.has(prev) && status === 'ok' && (await r.dns.wasGoodBefore(domain.id, id))) transition = 'restored';
  if (transition) {
    const failed = records.filter((x) => x.status !== 'ok').map((x) => ({ type: x.type, name: x.name, status: x.status }));
    await appendAudit(
      trx,
      actor,
      {
        action: transition === 'broke' ? 'domain.dns.broke' : 'domain.dns.restored',
        targetType: 'domain',
        targetId: domain.id,
        tenantId: domain.tenant_id,
        before: { status: prev! },
        after: { status, snapshotId: id, records: failed },
      },
      now,
    );
  }
  const mxOk = records.some((x) => x.purpose === 'mx' && x.status === 'ok');
  const spfOk = records.some((x) => x.purpose === 'spf' && x.status === 'ok');
  const verified = domain.verification !== 'verified' && mxOk && spfOk;
  if (verified) {
    await r.domains.markVerified(domain.id, now);
    await appendAudit(
      trx,
      actor,
      {
        action: 'domain.verify',
        targetType: 'domain',
        targetId: domain.id,
        tenantId: domain.tenant_id,
        before: { verification: domain.verification },
        after: { verification: 'verified', by: 'dns-check', snapshotId: id },
      },
      now,
    );
  }
  return { snapshotId: id, transition, verified };
}

function notifyTransition(t: DnsTransition): void {
  for (const l of transitionListeners) {
    try {
      l(t);
    } catch {
      /* a listener never breaks a check */
    }
  }
}

/** Checks one domain, stores the snapshot and records transitions. No transaction spans the DNS queries. */
async function runCheck(actor: Actor, deps: CoreDeps, scope: Scope, resolve: DnsResolveFn, domain: Domain): Promise<DnsCheckResult> {
  const { records: expected, template } = await expectedFor(deps, scope, domain);
  const records = await checkRecords(resolve, expected);
  const status = domainStatus(records);
  const now = deps.now();
  const { snapshotId, transition, verified } = await deps.db.transaction().execute((trx) => recordCheck(trx, actor, scope, domain, { records, status, template, now }));
  if (transition) notifyTransition({ tenantId: domain.tenant_id, domainId: domain.id, domain: domain.name, kind: transition, status, at: now });
  const good = await repos(deps.db, scope).dns.lastKnownGood(domain.id);
  return {
    domainId: domain.id,
    domain: domain.name,
    status,
    checkedAt: iso(now)!,
    snapshotId,
    records,
    lastKnownGood: good ? { snapshotId: Number(good.id), checkedAt: iso(good.checked_at)! } : null,
    transition,
    verification: verified ? 'verified' : domain.verification,
  };
}

/** On-demand check of one domain. */
export async function checkDomainDns(actor: Actor, deps: CoreDeps, resolve: DnsResolveFn, domainId: string): Promise<DnsCheckResult> {
  authorize(actor, 'domains.manage');
  const scope = scopeOf(actor);
  const domain = await repos(deps.db, scope).domains.get(domainId);
  return runCheck(actor, deps, scope, resolve, domain);
}

export async function dnsHistory(
  actor: Actor,
  deps: CoreDeps,
  domainId: string,
  opts: { limit?: number; before?: number } = {},
): Promise<{ domainId: string; domain: string; lastKnownGood: SnapshotView | null; snapshots: SnapshotView[] }> {
  authorize(actor, 'domains.read');
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const rows = await r.dns.history(domain.id, { limit, before: opts.before });
  const good = await r.dns.lastKnownGood(domain.id);
  return { domainId: domain.id, domain: domain.name, lastKnownGood: good ? snapshotView(good) : null, snapshots: rows.map(snapshotView) };
}

/**
 * The one call that puts a domain back to its last-known-good: re-applies the template version
 * recorded in the last snapshot where every record matched, and returns the records that were
 * live then (to put back into the zone) with their BIND snippet.
 */
export async function restoreLastKnownGood(
  actor: Actor,
  deps: CoreDeps,
  domainId: string,
  input: { reason?: string } = {},
): Promise<{ snapshot: { id: number; checkedAt: string }; template: TemplateApplyResult | null; records: ExpectedRecord[]; zone: string }> {
  authorize(actor, 'domains.manage');
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  const good = await r.dns.lastKnownGood(domain.id);
  if (!good) throw new AppError('Conflict', `${domain.name} has no last-known-good DNS snapshot yet; run a DNS check when its records are right`);
  const reason = optionalText(input.reason, 'reason', { max: 500 }) ?? `back to last-known-good (snapshot ${good.id})`;
  const template = good.template_id ? await applyTemplate(actor, deps, domain.id, { templateId: good.template_id, version: Number(good.template_version), reason }) : null;
  const checked = JSON.parse(good.records) as CheckedRecord[];
  const records: ExpectedRecord[] = checked.map((r) => ({ type: r.type, name: r.name, value: r.expected, purpose: r.purpose, required: r.required }));
  const zone = zoneSnippet(domain.name, records, `Postern last-known-good records for ${domain.name} (snapshot ${good.id} of ${iso(good.checked_at)})`);
  return { snapshot: { id: Number(good.id), checkedAt: iso(good.checked_at)! }, template, records, zone };
}

/** The MTA-STS policy for a request's Host header `mta-sts.<domain>` of a hosted domain, or null. */
export async function mtaStsPolicyForHost(deps: CoreDeps, hostHeader: string | undefined): Promise<string | null> {
  const h = (hostHeader ?? '').trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  if (!h.startsWith('mta-sts.')) return null;
  const name = h.slice('mta-sts.'.length);
  // The serving layer (an MTA-STS fetch is anonymous): a platform look-up of a public fact.
  const domainId = await repos(deps.db, PLATFORM_SCOPE).domains.activeIdByName(name);
  if (!domainId) return null;
  const eff = await effectiveDomainSettings(deps, domainId);
  if (eff.settings.mtaSts.mode === 'none') return null;
  return mtaStsPolicy(eff.settings, dnsHosts(deps));
}

// ---- scheduler ---------------------------------------------------------------------------

export interface DnsSchedulerOptions {
  resolve: DnsResolveFn;
  /** Each domain is checked about once per interval. */
  intervalMs: number;
  /** Cluster: true while this node holds the scheduler's lease (absent: always runs). */
  exclusive?: () => boolean;
  /** Optional: warnings about failed checks. */
  logger?: { warn(obj: object, msg: string): void };
}

export interface DnsScheduler {
  /** Checks the domain due next now (tests, operators); resolves with what was checked. */
  tick(): Promise<string | null>;
  stop(): Promise<void>;
}

/**
 * Spreads checks across domains: every interval/N (N = live domains, at least 1 s apart) the
 * domain whose last snapshot is oldest (never-checked first) is checked, if it is due.
 */
export function startDnsScheduler(deps: CoreDeps, opts: DnsSchedulerOptions): DnsScheduler {
  const actor = systemActor('dns-check');
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<string | null> | null = null;

  // A scheduler of the appliance: every tenant's domains.
  const r = repos(deps.db, PLATFORM_SCOPE);

  async function dueDomain(): Promise<{ domain: Domain | null; count: number }> {
    const domains = await r.domains.listActive();
    if (!domains.length) return { domain: null, count: 0 };
    const at = await r.dns.lastCheckedByDomain();
    const now = deps.now();
    let pick: Domain | null = null;
    let pickAt = Infinity;
    for (const d of domains) {
      const t = at.get(d.id) ?? 0;
      if (t < pickAt) {
        pick = d;
        pickAt = t;
      }
    }
    return { domain: pick && now - pickAt >= opts.intervalMs ? pick : null, count: domains.length };
  }

  async function tick(): Promise<string | null> {
    const { domain } = await dueDomain();
    if (!domain) return null;
    await runCheck(actor, deps, PLATFORM_SCOPE, opts.resolve, domain);
    return domain.id;
  }

  async function loop(): Promise<void> {
    if (stopped) return;
    let count = 1;
    try {
      running = opts.exclusive && !opts.exclusive() ? Promise.resolve(null) : tick(); // else another node runs the checks
      await running;
      count = await r.domains.countActive();
    } catch (err) {
      opts.logger?.warn({ event: 'dns.check.error', err }, 'scheduled DNS check failed');
    } finally {
      running = null;
    }
    if (stopped) return;
    const gap = Math.max(1000, Math.floor(opts.intervalMs / Math.max(1, Number(count))));
    timer = setTimeout(() => void loop(), gap);
    timer.unref();
  }

  timer = setTimeout(() => void loop(), 1000);
  timer.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
