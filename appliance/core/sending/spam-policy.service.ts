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
 * The model is spam-policy.ts, list values spam-lists.ts, and the MTA's questions
 * (`spamDecisionFor`, `submissionSpamPolicy`) spam-decision.ts; all re-exported here.
 */
import type { SpamListRow, SpamPolicyRow, SpamRepo } from '../../db/repos/spam.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { ownerMailbox } from '../access/app-passwords.service.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { optionalText } from '../kernel/text.js';
import { iso } from '../kernel/util.js';
import { audit, sendingId } from './common.js';
import { type ListKind, type ListValueType, parseListValue } from './spam-lists.js';
import { effectiveSpamPolicy, type FailMode, policyValues, type SpamDefaults, type SpamPolicyValues, type SpamPolicyView } from './spam-policy.js';

export { type FailMode, type SpamDefaults, type SpamPolicyValues, type SpamPolicyView, defaultSpamPolicy, effectiveSpamPolicy } from './spam-policy.js';
export { type ListKind, type ListValueType, ipInNetwork, listMatches, parseListValue } from './spam-lists.js';
export { type RecipientSpamDecision, spamDecisionFor, submissionSpamPolicy } from './spam-decision.js';

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

/** Whose policy a write replaces: a tenant's, or one of its domains'. */
interface PolicyOwner {
  scope: 'tenant' | 'domain';
  scopeId: string;
  tenantId: string;
}

async function writePolicy(actor: Actor, deps: Deps, r: Repos, { scope, scopeId, tenantId }: PolicyOwner, input: SpamPolicyInput, before: SpamPolicyView): Promise<void> {
  validate(input);
  const reason = optionalText(input.reason, 'reason');
  const now = deps.now();
  const row: SpamPolicyRow = {
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
  await r.transaction(async (t) => {
    await t.spam.putPolicy(row);
    await audit(t, actor, { action: `${scope}.spam_policy.update`, targetType: scope, targetId: scopeId, tenantId, before: auditable(before), after: auditable(policyValues(row)), reason }, now);
  });
}

export async function getTenantSpamPolicy(actor: Actor, deps: Deps, tenantId: string): Promise<SpamPolicyView> {
  authorize(actor, 'tenants.read');
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.spam;
  const tenant = await rAll.tenants.get(tenantId);
  return effectiveSpamPolicy(r, deps.spamDefaults, tenant.id, null);
}

export async function putTenantSpamPolicy(actor: Actor, deps: Deps, tenantId: string, input: SpamPolicyInput): Promise<SpamPolicyView> {
  authorize(actor, 'policies.manage');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  const before = await effectiveSpamPolicy(r.spam, deps.spamDefaults, tenant.id, null);
  await writePolicy(actor, deps, r, { scope: 'tenant', scopeId: tenant.id, tenantId: tenant.id }, input, before);
  return effectiveSpamPolicy(r.spam, deps.spamDefaults, tenant.id, null);
}

export async function getDomainSpamPolicy(actor: Actor, deps: Deps, domainId: string): Promise<SpamPolicyView> {
  authorize(actor, 'domains.read');
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.spam;
  const domain = await rAll.domains.get(domainId);
  return effectiveSpamPolicy(r, deps.spamDefaults, domain.tenant_id, domain.id);
}

export async function putDomainSpamPolicy(actor: Actor, deps: Deps, domainId: string, input: SpamPolicyInput): Promise<SpamPolicyView> {
  authorize(actor, 'policies.manage');
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  const before = await effectiveSpamPolicy(r.spam, deps.spamDefaults, domain.tenant_id, domain.id);
  await writePolicy(actor, deps, r, { scope: 'domain', scopeId: domain.id, tenantId: domain.tenant_id }, input, before);
  return effectiveSpamPolicy(r.spam, deps.spamDefaults, domain.tenant_id, domain.id);
}

/** Removes a domain's override: the domain follows its tenant's policy again. */
export async function deleteDomainSpamPolicy(actor: Actor, deps: Deps, domainId: string, reason?: string): Promise<SpamPolicyView> {
  authorize(actor, 'policies.manage');
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  const before = await effectiveSpamPolicy(r.spam, deps.spamDefaults, domain.tenant_id, domain.id);
  if (before.scope === 'domain') {
    const why = optionalText(reason, 'reason');
    const now = deps.now();
    await r.transaction(async (t) => {
      await t.spam.deletePolicy('domain', domain.id);
      const after = await effectiveSpamPolicy(t.spam, deps.spamDefaults, domain.tenant_id, null);
      await audit(
        t,
        actor,
        { action: 'domain.spam_policy.delete', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, before: auditable(before), after: auditable(after), reason: why },
        now,
      );
    });
  }
  return effectiveSpamPolicy(r.spam, deps.spamDefaults, domain.tenant_id, domain.id);
}

// ---- Lists ------------------------------------------------------------------------------------

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

interface ListEntryInput {
  kind: ListKind;
  value: string;
  reason?: string;
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

async function insertEntry(actor: Actor, deps: CoreDeps, r: Repos, tenantId: string, mailboxId: string | null, input: ListEntryInput): Promise<SpamListEntryView> {
  if (input.kind !== 'allow' && input.kind !== 'block') throw invalid('kind must be allow or block', { field: 'kind' });
  const { value, type } = parseListValue(input.value);
  const now = deps.now();
  const row: SpamListRow = {
    id: sendingId('spl'),
    tenant_id: tenantId,
    mailbox_id: mailboxId,
    kind: input.kind,
    value,
    value_type: type,
    reason: optionalText(input.reason, 'reason'),
    created_by: actor.principalId,
    created_at: now,
  };
  await r.transaction(async (t) => {
    await t.spam.addListEntry(row);
    const target = { targetType: mailboxId ? 'mailbox' : 'tenant', targetId: mailboxId ?? tenantId };
    await audit(t, actor, { action: 'spam_list.add', ...target, tenantId, before: null, after: { id: row.id, kind: row.kind, value, type }, reason: row.reason }, now);
  });
  return entryView(row);
}

async function listEntries(repo: SpamRepo, tenantId: string, mailboxId: string | null): Promise<SpamListEntryView[]> {
  return (await repo.listEntries(tenantId, mailboxId)).map(entryView);
}

export async function listTenantSpamLists(actor: Actor, deps: CoreDeps, tenantId: string): Promise<SpamListEntryView[]> {
  authorize(actor, 'tenants.read');
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.spam;
  const tenant = await rAll.tenants.get(tenantId);
  return listEntries(r, tenant.id, null);
}

export async function addTenantSpamList(actor: Actor, deps: CoreDeps, tenantId: string, input: ListEntryInput): Promise<SpamListEntryView> {
  authorize(actor, 'policies.manage');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  return insertEntry(actor, deps, r, tenant.id, null, input);
}

export async function listMailboxSpamLists(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<SpamListEntryView[]> {
  authorize(actor, 'mailboxes.read');
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.spam;
  const m = await rAll.mailboxes.get(mailboxId);
  return listEntries(r, m.tenant_id, m.id);
}

export async function addMailboxSpamList(actor: Actor, deps: CoreDeps, mailboxId: string, input: ListEntryInput): Promise<SpamListEntryView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  return insertEntry(actor, deps, r, m.tenant_id, m.id, input);
}

/** Deletes an entry: tenant-wide entries take policies.manage, a mailbox's entries mailboxes.manage. */
export async function deleteSpamListEntry(actor: Actor, deps: CoreDeps, id: string): Promise<void> {
  const r = repos(deps.db, scopeOf(actor));
  const row = await r.spam.listEntry(id);
  if (row.mailbox_id) {
    authorize(actor, 'mailboxes.manage');
    await r.mailboxes.get(row.mailbox_id);
  } else {
    authorize(actor, 'policies.manage');
    await r.tenants.get(row.tenant_id);
  }
  await removeEntry(actor, deps, r, row);
}

async function removeEntry(actor: Actor, deps: CoreDeps, r: Repos, row: SpamListRow): Promise<void> {
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.spam.deleteListEntry(row.id);
    const target = { targetType: row.mailbox_id ? 'mailbox' : 'tenant', targetId: row.mailbox_id ?? row.tenant_id };
    await audit(t, actor, { action: 'spam_list.remove', ...target, tenantId: row.tenant_id, before: { id: row.id, kind: row.kind, value: row.value }, after: null, reason: null }, now);
  });
}

// ---- Self-service (the mailbox owner) --------------------------------------------------------

async function ownerAllowed(deps: Deps, repo: SpamRepo, m: { tenant_id: string; domain_id: string }): Promise<boolean> {
  return (await effectiveSpamPolicy(repo, deps.spamDefaults, m.tenant_id, m.domain_id)).ownerLists;
}

function refuseUnlessOwnerLists(allowed: boolean): void {
  if (!allowed) throw new AppError('Forbidden', 'your organisation manages spam lists for you', { policy: 'ownerLists' });
}

export async function listOwnSpamLists(actor: Actor, deps: Deps): Promise<{ entries: SpamListEntryView[]; ownerManaged: boolean }> {
  const m = await ownerMailbox(actor, deps);
  const r = repos(deps.db, scopeOf(actor)).spam;
  return { entries: await listEntries(r, m.tenant_id, m.id), ownerManaged: await ownerAllowed(deps, r, m) };
}

export async function addOwnSpamList(actor: Actor, deps: Deps, input: ListEntryInput): Promise<SpamListEntryView> {
  const m = await ownerMailbox(actor, deps);
  const r = repos(deps.db, scopeOf(actor));
  refuseUnlessOwnerLists(await ownerAllowed(deps, r.spam, m));
  return insertEntry(actor, deps, r, m.tenant_id, m.id, input);
}

export async function deleteOwnSpamList(actor: Actor, deps: Deps, id: string): Promise<void> {
  const m = await ownerMailbox(actor, deps);
  const r = repos(deps.db, scopeOf(actor));
  refuseUnlessOwnerLists(await ownerAllowed(deps, r.spam, m));
  await removeEntry(actor, deps, r, await r.spam.listEntry(id, m.id));
}
