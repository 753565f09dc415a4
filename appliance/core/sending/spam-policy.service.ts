/**
 * Spam policy and lists (issue 15), audited like every other policy.
 *
 * - A tenant's policy: junk and reject thresholds (rspamd scores), greylisting on/off, what to
 *   do when the scanner is down (tempfail: 451 4.7.1; accept: deliver unscanned) and whether
 *   mailbox owners manage their own lists. Without a row the appliance defaults apply.
 * - A domain may override its tenant's policy; deleting the override returns to the tenant's.
 * - Allow and block lists hold sender addresses, sender domains and client IP networks, at
 *   tenant level or for one mailbox. The owner of a mailbox manages its own entries from
 *   self-service where the tenant's policy allows it.
 *
 * The MTA asks through `spamDecisionFor` (no actor: the appliance itself), which never reveals
 * anything of another tenant: it answers for one recipient's own tenant, domain and mailbox.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Kysely } from 'kysely';
import type { Config } from '../../config.js';
import type { DB } from '../../db/schema.js';
import type { SpamListRow, SpamPolicyRow } from '../../db/tables/spam.table.js';
import { ownerMailbox } from '../access/app-passwords.service.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { scopedRepo } from '../../db/repo.js';
import { iso } from '../kernel/util.js';

export type FailMode = 'tempfail' | 'accept';

export interface SpamPolicyValues {
  junkScore: number;
  rejectScore: number;
  greylisting: boolean;
  failMode: FailMode;
  ownerLists: boolean;
}

export interface SpamPolicyView extends SpamPolicyValues {
  scope: 'tenant' | 'domain' | 'default';
  tenantId: string;
  domainId: string | null;
  /** For a domain: whether it overrides its tenant's policy. */
  overridden: boolean;
  updatedBy: string | null;
  updatedAt: string | null;
}

export type SpamDefaults = Pick<Config['spam'], 'junkScore' | 'rejectScore' | 'greylisting' | 'failMode'>;

export function defaultSpamPolicy(d: SpamDefaults): SpamPolicyValues {
  return { junkScore: d.junkScore, rejectScore: d.rejectScore, greylisting: d.greylisting, failMode: d.failMode, ownerLists: true };
}

function values(row: SpamPolicyRow): SpamPolicyValues {
  return {
    junkScore: Number(row.junk_score),
    rejectScore: Number(row.reject_score),
    greylisting: Number(row.greylisting) === 1,
    failMode: row.fail_mode === 'accept' ? 'accept' : 'tempfail',
    ownerLists: Number(row.owner_lists) === 1,
  };
}

async function policyRow(db: Kysely<DB>, scope: 'tenant' | 'domain', id: string): Promise<SpamPolicyRow | undefined> {
  return db.selectFrom('spam_policies').selectAll().where('scope', '=', scope).where('scope_id', '=', id).executeTakeFirst();
}

/** The policy in force for a tenant (and, when given, one of its domains). */
export async function effectiveSpamPolicy(db: Kysely<DB>, defaults: SpamDefaults, tenantId: string, domainId: string | null): Promise<SpamPolicyView> {
  const d = domainId ? await policyRow(db, 'domain', domainId) : undefined;
  if (d && d.tenant_id === tenantId) return { ...values(d), scope: 'domain', tenantId, domainId, overridden: true, updatedBy: d.updated_by, updatedAt: iso(d.updated_at) };
  const t = await policyRow(db, 'tenant', tenantId);
  if (t) return { ...values(t), scope: 'tenant', tenantId, domainId, overridden: false, updatedBy: t.updated_by, updatedAt: iso(t.updated_at) };
  return { ...defaultSpamPolicy(defaults), scope: 'default', tenantId, domainId, overridden: false, updatedBy: null, updatedAt: null };
}

type Deps = CoreDeps & { spamDefaults: SpamDefaults };

export interface SpamPolicyInput {
  junkScore: number;
  rejectScore: number;
  greylisting: boolean;
  failMode: FailMode;
  ownerLists?: boolean;
  reason?: string;
}

function validate(input: SpamPolicyInput): void {
  for (const k of ['junkScore', 'rejectScore'] as const) {
    const v = input[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < -100 || v > 1000) throw invalid(`${k} must be a number from -100 to 1000`, { field: k });
  }
  if (input.junkScore >= input.rejectScore) throw invalid('junkScore must be below rejectScore', { field: 'junkScore' });
  if (input.failMode !== 'tempfail' && input.failMode !== 'accept') throw invalid('failMode must be tempfail or accept', { field: 'failMode' });
}

function auditable(v: SpamPolicyValues) {
  return { junkScore: v.junkScore, rejectScore: v.rejectScore, greylisting: v.greylisting, failMode: v.failMode, ownerLists: v.ownerLists };
}

async function writePolicy(actor: Actor, deps: Deps, scope: 'tenant' | 'domain', scopeId: string, tenantId: string, input: SpamPolicyInput, before: SpamPolicyView): Promise<void> {
  validate(input);
  const now = deps.now();
  const row = {
    scope,
    scope_id: scopeId,
    tenant_id: tenantId,
    junk_score: input.junkScore,
    reject_score: input.rejectScore,
    greylisting: input.greylisting ? 1 : 0,
    fail_mode: input.failMode,
    owner_lists: (input.ownerLists ?? before.ownerLists) ? 1 : 0,
    updated_by: actor.principalId,
    updated_at: now,
  };
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('spam_policies')
      .values(row)
      .onConflict((oc) => oc.columns(['scope', 'scope_id']).doUpdateSet({ ...row }))
      .execute();
    await appendAudit(
      trx,
      actor,
      {
        action: `${scope}.spam_policy.update`,
        targetType: scope,
        targetId: scopeId,
        tenantId,
        before: auditable(before),
        after: auditable(values(row as unknown as SpamPolicyRow)),
        reason: input.reason?.trim() || null,
      },
      now,
    );
  });
}

export async function getTenantSpamPolicy(actor: Actor, deps: Deps, tenantId: string): Promise<SpamPolicyView> {
  authorize(actor, 'tenants.read');
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
  return effectiveSpamPolicy(deps.db, deps.spamDefaults, tenant.id, null);
}

export async function putTenantSpamPolicy(actor: Actor, deps: Deps, tenantId: string, input: SpamPolicyInput): Promise<SpamPolicyView> {
  authorize(actor, 'policies.manage');
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
  const before = await effectiveSpamPolicy(deps.db, deps.spamDefaults, tenant.id, null);
  await writePolicy(actor, deps, 'tenant', tenant.id, tenant.id, input, before);
  return effectiveSpamPolicy(deps.db, deps.spamDefaults, tenant.id, null);
}

export async function getDomainSpamPolicy(actor: Actor, deps: Deps, domainId: string): Promise<SpamPolicyView> {
  authorize(actor, 'domains.read');
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  return effectiveSpamPolicy(deps.db, deps.spamDefaults, domain.tenant_id, domain.id);
}

export async function putDomainSpamPolicy(actor: Actor, deps: Deps, domainId: string, input: SpamPolicyInput): Promise<SpamPolicyView> {
  authorize(actor, 'policies.manage');
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  const before = await effectiveSpamPolicy(deps.db, deps.spamDefaults, domain.tenant_id, domain.id);
  await writePolicy(actor, deps, 'domain', domain.id, domain.tenant_id, input, before);
  return effectiveSpamPolicy(deps.db, deps.spamDefaults, domain.tenant_id, domain.id);
}

/** Removes a domain's override: the domain follows its tenant's policy again. */
export async function deleteDomainSpamPolicy(actor: Actor, deps: Deps, domainId: string, reason?: string): Promise<SpamPolicyView> {
  authorize(actor, 'policies.manage');
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  const before = await effectiveSpamPolicy(deps.db, deps.spamDefaults, domain.tenant_id, domain.id);
  if (before.scope === 'domain') {
    const now = deps.now();
    await deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('spam_policies').where('scope', '=', 'domain').where('scope_id', '=', domain.id).execute();
      const after = await effectiveSpamPolicy(trx, deps.spamDefaults, domain.tenant_id, null);
      await appendAudit(trx, actor, { action: 'domain.spam_policy.delete', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, before: auditable(before), after: auditable(after), reason: reason?.trim() || null }, now);
    });
  }
  return effectiveSpamPolicy(deps.db, deps.spamDefaults, domain.tenant_id, domain.id);
}

// ---- Lists ------------------------------------------------------------------------------------

export type ListKind = 'allow' | 'block';
export type ListValueType = 'address' | 'domain' | 'ip';

export interface SpamListEntryView {
  id: string;
  tenantId: string;
  mailboxId: string | null;
  kind: ListKind;
  value: string;
  valueType: ListValueType;
  reason: string | null;
  createdBy: string | null;
  createdAt: string;
}

function entryView(r: SpamListRow): SpamListEntryView {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    mailboxId: r.mailbox_id,
    kind: r.kind === 'block' ? 'block' : 'allow',
    value: r.value,
    valueType: r.value_type as ListValueType,
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
  };
}

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Classifies and normalises a list value: `user@example.com`, `example.com` (and its subdomains), `192.0.2.0/24`. */
export function parseListValue(raw: string): { value: string; type: ListValueType } {
  const v = String(raw ?? '').trim().toLowerCase();
  if (!v || v.length > 320) throw invalid('value must be a sender address, a domain or an IP network', { field: 'value' });
  const ip = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(v);
  if (ip && isIP(ip[1]!)) {
    const max = isIP(ip[1]!) === 4 ? 32 : 128;
    const prefix = ip[2] === undefined ? max : Number(ip[2]);
    if (prefix > max) throw invalid(`prefix must be at most ${max}`, { field: 'value' });
    return { value: `${ip[1]}/${prefix}`, type: 'ip' };
  }
  if (v.includes('@')) {
    const at = v.lastIndexOf('@');
    if (at < 1 || !DOMAIN_RE.test(v.slice(at + 1)) || /\s/.test(v)) throw invalid('not a valid sender address', { field: 'value' });
    return { value: v, type: 'address' };
  }
  if (!DOMAIN_RE.test(v)) throw invalid('value must be a sender address, a domain or an IP network', { field: 'value' });
  return { value: v, type: 'domain' };
}

async function insertEntry(actor: Actor, deps: CoreDeps, tenantId: string, mailboxId: string | null, input: { kind: ListKind; value: string; reason?: string }): Promise<SpamListEntryView> {
  if (input.kind !== 'allow' && input.kind !== 'block') throw invalid('kind must be allow or block', { field: 'kind' });
  const { value, type } = parseListValue(input.value);
  const now = deps.now();
  const row = {
    id: `spl_${randomBytes(12).toString('hex')}`,
    tenant_id: tenantId,
    mailbox_id: mailboxId,
    kind: input.kind,
    value,
    value_type: type,
    reason: input.reason?.trim() || null,
    created_by: actor.principalId,
    created_at: now,
  };
  await deps.db.transaction().execute(async (trx) => {
    let dup = trx.selectFrom('spam_lists').select('id').where('tenant_id', '=', tenantId).where('kind', '=', input.kind).where('value', '=', value);
    dup = mailboxId ? dup.where('mailbox_id', '=', mailboxId) : dup.where('mailbox_id', 'is', null);
    if (await dup.executeTakeFirst()) throw new AppError('AlreadyExists', `${value} is already on this ${input.kind} list`);
    await trx.insertInto('spam_lists').values(row).execute();
    await appendAudit(
      trx,
      actor,
      { action: 'spam_list.add', targetType: mailboxId ? 'mailbox' : 'tenant', targetId: mailboxId ?? tenantId, tenantId, before: null, after: { id: row.id, kind: row.kind, value, type }, reason: row.reason },
      now,
    );
  });
  return entryView(row);
}

async function listEntries(db: Kysely<DB>, tenantId: string, mailboxId: string | null): Promise<SpamListEntryView[]> {
  let q = db.selectFrom('spam_lists').selectAll().where('tenant_id', '=', tenantId);
  q = mailboxId ? q.where('mailbox_id', '=', mailboxId) : q.where('mailbox_id', 'is', null);
  return (await q.orderBy('created_at').orderBy('id').execute()).map(entryView);
}

export async function listTenantSpamLists(actor: Actor, deps: CoreDeps, tenantId: string): Promise<SpamListEntryView[]> {
  authorize(actor, 'tenants.read');
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
  return listEntries(deps.db, tenant.id, null);
}

export async function addTenantSpamList(actor: Actor, deps: CoreDeps, tenantId: string, input: { kind: ListKind; value: string; reason?: string }): Promise<SpamListEntryView> {
  authorize(actor, 'policies.manage');
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
  return insertEntry(actor, deps, tenant.id, null, input);
}

export async function listMailboxSpamLists(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<SpamListEntryView[]> {
  authorize(actor, 'mailboxes.read');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  return listEntries(deps.db, m.tenant_id, m.id);
}

export async function addMailboxSpamList(actor: Actor, deps: CoreDeps, mailboxId: string, input: { kind: ListKind; value: string; reason?: string }): Promise<SpamListEntryView> {
  authorize(actor, 'mailboxes.manage');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  return insertEntry(actor, deps, m.tenant_id, m.id, input);
}

/** Deletes an entry: tenant-wide entries take policies.manage, a mailbox's entries mailboxes.manage. */
export async function deleteSpamListEntry(actor: Actor, deps: CoreDeps, id: string): Promise<void> {
  const row = await deps.db.selectFrom('spam_lists').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('spam list entry');
  if (row.mailbox_id) {
    authorize(actor, 'mailboxes.manage');
    await scopedRepo(deps.db, actor).mailbox(row.mailbox_id);
  } else {
    authorize(actor, 'policies.manage');
    await scopedRepo(deps.db, actor).tenant(row.tenant_id);
  }
  await removeEntry(actor, deps, row);
}

async function removeEntry(actor: Actor, deps: CoreDeps, row: SpamListRow): Promise<void> {
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('spam_lists').where('id', '=', row.id).execute();
    await appendAudit(
      trx,
      actor,
      { action: 'spam_list.remove', targetType: row.mailbox_id ? 'mailbox' : 'tenant', targetId: row.mailbox_id ?? row.tenant_id, tenantId: row.tenant_id, before: { id: row.id, kind: row.kind, value: row.value }, after: null, reason: null },
      now,
    );
  });
}

// ---- Self-service (the mailbox owner) --------------------------------------------------------

async function ownerAllowed(deps: Deps, m: { tenant_id: string; domain_id: string }): Promise<boolean> {
  return (await effectiveSpamPolicy(deps.db, deps.spamDefaults, m.tenant_id, m.domain_id)).ownerLists;
}

export async function listOwnSpamLists(actor: Actor, deps: Deps): Promise<{ entries: SpamListEntryView[]; ownerManaged: boolean }> {
  const m = await ownerMailbox(actor, deps);
  return { entries: await listEntries(deps.db, m.tenant_id, m.id), ownerManaged: await ownerAllowed(deps, m) };
}

export async function addOwnSpamList(actor: Actor, deps: Deps, input: { kind: ListKind; value: string; reason?: string }): Promise<SpamListEntryView> {
  const m = await ownerMailbox(actor, deps);
  if (!(await ownerAllowed(deps, m))) throw new AppError('Forbidden', 'your organisation manages spam lists for you', { policy: 'ownerLists' });
  return insertEntry(actor, deps, m.tenant_id, m.id, input);
}

export async function deleteOwnSpamList(actor: Actor, deps: Deps, id: string): Promise<void> {
  const m = await ownerMailbox(actor, deps);
  if (!(await ownerAllowed(deps, m))) throw new AppError('Forbidden', 'your organisation manages spam lists for you', { policy: 'ownerLists' });
  const row = await deps.db.selectFrom('spam_lists').selectAll().where('id', '=', id).where('mailbox_id', '=', m.id).executeTakeFirst();
  if (!row) throw notFound('spam list entry');
  await removeEntry(actor, deps, row);
}

// ---- The MTA's question ----------------------------------------------------------------------

function ipToBigInt(ip: string): { v: bigint; bits: number } | null {
  const family = isIP(ip);
  if (family === 4) return { v: ip.split('.').reduce((a, p) => (a << 8n) + BigInt(Number(p)), 0n), bits: 32 };
  if (family !== 6) return null;
  let addr = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (v4) {
    const n = ipToBigInt(v4[1]!)!.v;
    addr = addr.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail !== undefined ? [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return { v: groups.reduce((a, g) => (a << 16n) + BigInt(parseInt(g || '0', 16)), 0n), bits: 128 };
}

export function ipInNetwork(ip: string, network: string): boolean {
  const [net, p] = network.split('/') as [string, string];
  const a = ipToBigInt(ip.replace(/^::ffff:(?=\d+\.)/, ''));
  const b = ipToBigInt(net);
  if (!a || !b || a.bits !== b.bits) return false;
  const shift = BigInt(a.bits - Number(p));
  return a.v >> shift === b.v >> shift;
}

/** Whether an entry matches the sender (address, its domain or a parent domain) or the client IP. */
export function listMatches(entry: { value: string; value_type: string }, sender: string, ip: string): boolean {
  if (entry.value_type === 'ip') return ipInNetwork(ip, entry.value);
  const s = sender.toLowerCase();
  if (!s) return false;
  if (entry.value_type === 'address') return s === entry.value;
  const domain = s.slice(s.lastIndexOf('@') + 1);
  return domain === entry.value || domain.endsWith(`.${entry.value}`);
}

export interface RecipientSpamDecision {
  tenantId: string;
  domainId: string;
  mailboxId: string | null;
  /** Recipients of one transaction share one policy: tenant + the scope that decided it. */
  policyKey: string;
  policy: SpamPolicyValues;
  /** block: refuse this recipient; allow: deliver past greylisting and spam verdicts. A mailbox's entry wins over the tenant's; block wins at equal level. */
  listed: ListKind | null;
}

/**
 * For the MTA at RCPT: the recipient's tenant and policy, and whether the sender or client IP is
 * on the recipient mailbox's or tenant's lists. null for an address we do not host.
 */
export async function spamDecisionFor(db: Kysely<DB>, defaults: SpamDefaults, input: { address: string; sender: string; ip: string }): Promise<RecipientSpamDecision | null> {
  const address = input.address.toLowerCase();
  const domainName = address.slice(address.lastIndexOf('@') + 1);
  const domain = await db.selectFrom('domains').select(['id', 'tenant_id']).where('name', '=', domainName).where('status', '!=', 'deleted').executeTakeFirst();
  if (!domain) return null;
  const mailbox = await db.selectFrom('mailboxes').select(['id']).where('address', '=', address).where('tenant_id', '=', domain.tenant_id).executeTakeFirst();
  const policy = await effectiveSpamPolicy(db, defaults, domain.tenant_id, domain.id);
  const entries = await db
    .selectFrom('spam_lists')
    .select(['kind', 'value', 'value_type', 'mailbox_id'])
    .where('tenant_id', '=', domain.tenant_id)
    .where((eb) => (mailbox ? eb.or([eb('mailbox_id', 'is', null), eb('mailbox_id', '=', mailbox.id)]) : eb('mailbox_id', 'is', null)))
    .execute();
  const hits = entries.filter((e) => listMatches(e, input.sender, input.ip));
  const pick = (level: 'mailbox' | 'tenant'): ListKind | null => {
    const at = hits.filter((e) => (level === 'mailbox' ? e.mailbox_id !== null : e.mailbox_id === null));
    if (at.some((e) => e.kind === 'block')) return 'block';
    if (at.some((e) => e.kind === 'allow')) return 'allow';
    return null;
  };
  return {
    tenantId: domain.tenant_id,
    domainId: domain.id,
    mailboxId: mailbox?.id ?? null,
    policyKey: `${domain.tenant_id}/${policy.scope === 'domain' ? domain.id : '*'}`,
    policy: { junkScore: policy.junkScore, rejectScore: policy.rejectScore, greylisting: policy.greylisting, failMode: policy.failMode, ownerLists: policy.ownerLists },
    listed: pick('mailbox') ?? pick('tenant'),
  };
}

/** The sender's tenant policy for scanning an authenticated submission. */
export async function submissionSpamPolicy(db: Kysely<DB>, defaults: SpamDefaults, mailboxId: string): Promise<SpamPolicyValues & { tenantId: string }> {
  const m = await db.selectFrom('mailboxes').select(['tenant_id', 'domain_id']).where('id', '=', mailboxId).executeTakeFirst();
  if (!m) throw notFound('mailbox');
  const p = await effectiveSpamPolicy(db, defaults, m.tenant_id, m.domain_id);
  return { tenantId: m.tenant_id, junkScore: p.junkScore, rejectScore: p.rejectScore, greylisting: false, failMode: p.failMode, ownerLists: p.ownerLists };
}
