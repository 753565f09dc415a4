/**
 * Offboarding that leaves nothing behind (CONTROL-MODEL principle 5).
 *
 * - plan: every residual access path of the person behind a mailbox — the login itself, open
 *   protocol and console sessions, app passwords, live setup/reset links, their console account
 *   and its API tokens, every forward out of the mailbox (external, internal, to the person) and in,
 *   aliases and catch-alls that deliver to the person, send-as grants from the mailbox and for
 *   the person's address, other mailboxes the person owns or whose reset destination they are.
 * - apply: executes in order, one transaction, one audit event per step (each records `before`):
 *   disable login → revoke sessions, app passwords, links, the person's console account and
 *   tokens → remove or re-point forwards → aliases and catch-alls → send-as grants → transfer
 *   dependents to a named person → convert (disabled | shared: no direct login | alias of a
 *   successor) → auto-reply (sent by the delivery path: appliance/core/auto-reply.ts) → retention
 *   date (enforced hourly: appliance/core/retention.ts).
 * - verify: the same enumeration against the state after apply; it must be empty.
 * - undo (within the policy's grace period): restores the recorded `before` of each step's
 *   audit event, newest first. Revoked credentials stay revoked (sessions, app passwords, API
 *   tokens); a mailbox converted to shared has no password until its owner resets it.
 *
 * The person: the mailbox's own address (unless it stays in use as shared or alias) and its
 * owner of record's address, as recorded when the offboarding was applied.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import type { OffboardingRow } from '../../db/tables/resets.table.js';
import { parseAddress } from '../kernel/addresses.js';
import { appendAudit, type AuditInput } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { type Person, person } from '../mailboxes/mailboxes.service.js';
import { loadPolicy } from '../access/policies.js';
import { scopedRepo } from '../../db/repo.js';
import { requiredText } from '../access/resets-common.js';
import { revokeMailboxAccess } from '../mailboxes/lifecycle.js';
import { assertSafeResetDestination } from '../mailboxes/targets.js';
import { iso } from '../kernel/util.js';

export type ConvertTo = 'disabled' | 'shared' | 'alias';

export interface ResidualPath {
  kind:
    | 'login'
    | 'session'
    | 'console-session'
    | 'app-password'
    | 'setup-link'
    | 'reset'
    | 'principal'
    | 'api-token'
    | 'forward'
    | 'alias'
    | 'send-as'
    | 'reset-destination'
    | 'ownership'
    | 'catch-all';
  id: string;
  description: string;
}

interface Ctx {
  /** Addresses of the person (lower-case). */
  identities: string[];
  /** true: the mailbox itself is the person's (not converted to shared or alias). */
  personal: boolean;
}

/**
 * The person's addresses: the mailbox's own (unless it stays in use as shared or alias) and,
 * when the owner of record leaves too, the owner's address. `ownerLeaves` defaults to true when
 * the owner of record owns no other live mailbox of the tenant (a personal mailbox), false
 * otherwise (a manager who owns several mailboxes is not offboarded with one of them).
 */
async function identitiesOf(db: CoreDeps['db'], m: Mailbox, convertTo: ConvertTo, ownerLeaves: boolean | undefined): Promise<Ctx> {
  let leaves = ownerLeaves;
  if (leaves === undefined) {
    const other = await db.selectFrom('mailboxes').select('id').where('tenant_id', '=', m.tenant_id).where('id', '!=', m.id).where('status', '!=', 'deleted').where('owner_email', '=', m.owner_email).executeTakeFirst();
    leaves = !other;
  }
  const ids = new Set<string>();
  if (leaves) ids.add(m.owner_email.toLowerCase());
  if (convertTo === 'disabled') ids.add(m.address);
  return { identities: [...ids], personal: convertTo === 'disabled' };
}

function parseTargets(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase()) : [];
  } catch {
    return [];
  }
}

const none = (xs: string[]) => (xs.length ? xs : ['']);

/** Open IMAP/SMTP sessions: `Revoker.sessionCount`, or the CredentialService's `activeSessionCount` until that is wired. */
function openSessions(deps: CoreDeps, mailboxId: string): number {
  const r = deps.revoker as CoreDeps['revoker'] & { activeSessionCount?(id: string): number };
  if (r.sessionCount) return r.sessionCount(mailboxId);
  return typeof r.activeSessionCount === 'function' ? r.activeSessionCount(mailboxId) : 0;
}

/** Every residual access path (read-only). `db` may be the use-case transaction. */
async function enumerate(db: Transaction<DB> | CoreDeps['db'], deps: CoreDeps, m: Mailbox, ctx: Ctx, now: number): Promise<ResidualPath[]> {
  const paths: ResidualPath[] = [];
  const I = ctx.identities;
  if (m.status === 'active' && m.password_hash) paths.push({ kind: 'login', id: m.id, description: `the password of ${m.address} still logs in (IMAP, SMTP, console)` });
  const open = openSessions(deps, m.id);
  if (open > 0) paths.push({ kind: 'session', id: m.id, description: `${open} open IMAP/SMTP session(s) of ${m.address}` });
  const consoles = await db
    .selectFrom('web_sessions')
    .select(['id', 'source_ip', 'credential_version'])
    .where('kind', '=', 'mailbox')
    .where('mailbox_id', '=', m.id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .execute();
  for (const s of consoles) {
    if (Number(s.credential_version) === Number(m.credential_version) && m.status === 'active') paths.push({ kind: 'console-session', id: s.id, description: `self-service console session${s.source_ip ? ` from ${s.source_ip}` : ''}` });
  }
  const apps = await db.selectFrom('app_passwords').select(['id', 'name', 'scopes']).where('mailbox_id', '=', m.id).where('revoked_at', 'is', null).execute();
  for (const a of apps) paths.push({ kind: 'app-password', id: a.id, description: `app password "${a.name}" (${parseTargets(a.scopes).join(', ')})` });
  const links = await db.selectFrom('setup_tokens').select(['id', 'purpose', 'destination']).where('mailbox_id', '=', m.id).where('used_at', 'is', null).where('expires_at', '>', now).execute();
  for (const l of links) paths.push({ kind: 'setup-link', id: l.id, description: `live ${l.purpose} link${l.destination ? ` sent to ${l.destination}` : ' held by its issuer'}` });
  const pending = await db.selectFrom('resets').select(['id', 'kind', 'requested_at']).where('mailbox_id', '=', m.id).where('status', '=', 'pending-approval').execute();
  for (const r of pending) if (Number(r.requested_at) + 24 * 3600_000 > now) paths.push({ kind: 'reset', id: r.id, description: `${r.kind} reset awaiting approval` });

  const principals = await db.selectFrom('principals').select(['id', 'email', 'status', 'kind']).where('tenant_id', '=', m.tenant_id).where('email', 'in', none(I)).where('status', 'in', ['active', 'pending']).execute();
  for (const p of principals) paths.push({ kind: 'principal', id: p.id, description: `console account (${p.kind}) of ${p.email}` });
  if (principals.length) {
    const tokens = await db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'expires_at'])
      .where('principal_id', 'in', principals.map((p) => p.id))
      .where('revoked_at', 'is', null)
      .execute();
    for (const t of tokens) if (t.expires_at === null || Number(t.expires_at) > now) paths.push({ kind: 'api-token', id: t.id, description: `API token "${t.name}" of the person` });
  }

  const out = await db.selectFrom('forwards').select(['id', 'target', 'external', 'expires_at']).where('mailbox_id', '=', m.id).where('status', '=', 'active').execute();
  for (const f of out) {
    if (f.expires_at !== null && Number(f.expires_at) <= now) continue;
    // Every forward out of the mailbox, internal ones too: each one copies the person's mail somewhere.
    const kind = Number(f.external) === 1 ? ' (external)' : I.includes(f.target.toLowerCase()) ? ' (the person)' : ' (internal)';
    paths.push({ kind: 'forward', id: f.id, description: `forward from ${m.address} to ${f.target}${kind}` });
  }
  const inbound = await db
    .selectFrom('forwards')
    .innerJoin('mailboxes', 'mailboxes.id', 'forwards.mailbox_id')
    .select(['forwards.id', 'forwards.target', 'forwards.expires_at', 'mailboxes.address'])
    .where('forwards.tenant_id', '=', m.tenant_id)
    .where('forwards.mailbox_id', '!=', m.id)
    .where('forwards.status', '=', 'active')
    .where('forwards.target', 'in', none(I))
    .execute();
  for (const f of inbound) if (f.expires_at === null || Number(f.expires_at) > now) paths.push({ kind: 'forward', id: f.id, description: `forward from ${f.address} to the person (${f.target})` });

  const aliases = await db.selectFrom('aliases').select(['id', 'address', 'targets']).where('tenant_id', '=', m.tenant_id).where('status', '=', 'active').execute();
  for (const a of aliases) {
    const hit = parseTargets(a.targets).filter((t) => I.includes(t));
    if (hit.length) paths.push({ kind: 'alias', id: a.id, description: `alias ${a.address} delivers to ${hit.join(', ')}` });
  }
  const domains = await db.selectFrom('domains').select(['id', 'name', 'catch_all']).where('tenant_id', '=', m.tenant_id).where('status', '=', 'active').where('catch_all', 'in', none(I)).execute();
  for (const d of domains) paths.push({ kind: 'catch-all', id: d.id, description: `catch-all of ${d.name} delivers to ${d.catch_all}` });

  let grants = db.selectFrom('send_as_grants').select(['id', 'mailbox_id', 'address']).where('tenant_id', '=', m.tenant_id);
  grants = ctx.personal ? grants.where((eb) => eb.or([eb('mailbox_id', '=', m.id), eb('address', 'in', none(I))])) : grants.where('address', 'in', none(I));
  for (const g of await grants.execute()) {
    paths.push({ kind: 'send-as', id: g.id, description: g.mailbox_id === m.id ? `${m.address} may send as ${g.address}` : `another mailbox may send as the person's ${g.address}` });
  }

  const dependents = await db
    .selectFrom('mailboxes')
    .select(['id', 'address', 'owner_email', 'business_owner_email', 'reset_destination'])
    .where('tenant_id', '=', m.tenant_id)
    .where('id', '!=', m.id)
    .where('status', '!=', 'deleted')
    .where((eb) => eb.or([eb('owner_email', 'in', none(I)), eb('business_owner_email', 'in', none(I)), eb('reset_destination', 'in', none(I))]))
    .execute();
  for (const d of dependents) {
    if (I.includes(d.reset_destination.toLowerCase())) paths.push({ kind: 'reset-destination', id: d.id, description: `reset links of ${d.address} go to the person (${d.reset_destination})` });
    if (I.includes(d.owner_email.toLowerCase()) || (d.business_owner_email && I.includes(d.business_owner_email.toLowerCase()))) {
      paths.push({ kind: 'ownership', id: d.id, description: `the person is ${I.includes(d.owner_email.toLowerCase()) ? 'owner of record' : 'business owner'} of ${d.address}` });
    }
  }
  return paths;
}

async function latestOffboarding(deps: CoreDeps, mailboxId: string): Promise<OffboardingRow | undefined> {
  return deps.db.selectFrom('offboardings').selectAll().where('mailbox_id', '=', mailboxId).orderBy('applied_at', 'desc').limit(1).executeTakeFirst();
}

interface StoredOptions {
  identities: string[];
  personal: boolean;
  successor: string | null;
  transferTo: Person | null;
  forwards: 'remove' | 'repoint';
}

function storedOptions(o: OffboardingRow): StoredOptions {
  return JSON.parse(o.options) as StoredOptions;
}

export interface OffboardingPlan {
  mailboxId: string;
  address: string;
  identities: string[];
  paths: ResidualPath[];
}

/** What offboarding would have to close, for the mode `convertTo` (default disabled). */
export async function planOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string, input: { convertTo?: ConvertTo; ownerLeaves?: boolean } = {}): Promise<OffboardingPlan> {
  authorize(actor, 'mailboxes.read');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const ctx = await identitiesOf(deps.db, m, input.convertTo ?? 'disabled', input.ownerLeaves);
  return { mailboxId: m.id, address: m.address, identities: ctx.identities, paths: await enumerate(deps.db, deps, m, ctx, deps.now()) };
}

/** After apply: the same enumeration, with the person as recorded at apply time; `paths` must be empty. */
export async function verifyOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<OffboardingPlan & { offboardingId: string | null; ok: boolean }> {
  authorize(actor, 'mailboxes.read');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const o = await latestOffboarding(deps, m.id);
  const ctx = o && o.status === 'applied' ? { identities: storedOptions(o).identities, personal: storedOptions(o).personal } : await identitiesOf(deps.db, m, 'disabled', undefined);
  const paths = await enumerate(deps.db, deps, m, ctx, deps.now());
  return { mailboxId: m.id, address: m.address, identities: ctx.identities, paths, offboardingId: o?.status === 'applied' ? o.id : null, ok: paths.length === 0 };
}

export interface ApplyInput {
  reason: string;
  convertTo?: ConvertTo;
  /** Whether the owner of record leaves with the mailbox (their address is swept too); see identitiesOf. */
  ownerLeaves?: boolean;
  /** A mailbox of the tenant: target of re-pointed forwards, aliases, catch-alls; the alias target when converting to alias. */
  successor?: string;
  /** Takes ownership (and reset destination) of the mailboxes that depended on the person, and of a shared mailbox. */
  transferTo?: Person;
  forwards?: 'remove' | 'repoint';
  autoReply?: { subject: string; text: string; until?: string };
  retainUntil?: string;
}

export interface OffboardingView {
  id: string;
  mailboxId: string;
  status: string;
  convertTo: ConvertTo;
  identities: string[];
  successor: string | null;
  transferTo: Person | null;
  autoReply: { subject: string; text: string; until: string | null; engine: 'postern' } | null;
  retainUntil: string | null;
  appliedBy: string;
  appliedAt: string;
  undoUntil: string;
  undoneAt: string | null;
  steps: Array<{ eventId: number; action: string }>;
}

async function offboardingView(deps: CoreDeps, o: OffboardingRow): Promise<OffboardingView> {
  const opts = storedOptions(o);
  const ids = JSON.parse(o.event_ids) as number[];
  const events = ids.length ? await deps.db.selectFrom('audit_events').select(['id', 'action']).where('id', 'in', ids).orderBy('id').execute() : [];
  const ar = o.auto_reply ? (JSON.parse(o.auto_reply) as { subject: string; text: string; until: string | null }) : null;
  return {
    id: o.id,
    mailboxId: o.mailbox_id,
    status: o.status,
    convertTo: o.convert_to as ConvertTo,
    identities: opts.identities,
    successor: opts.successor,
    transferTo: opts.transferTo,
    autoReply: ar ? { ...ar, engine: 'postern' } : null,
    retainUntil: iso(o.retain_until),
    appliedBy: o.applied_by,
    appliedAt: iso(o.applied_at)!,
    undoUntil: iso(o.undo_until)!,
    undoneAt: iso(o.undone_at),
    steps: events.map((e) => ({ eventId: Number(e.id), action: e.action })),
  };
}

/** The latest offboarding of the mailbox, or null when it was never offboarded. */
export async function getOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<OffboardingView | null> {
  authorize(actor, 'mailboxes.read');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const o = await latestOffboarding(deps, m.id);
  return o ? offboardingView(deps, o) : null;
}

function futureDate(raw: string | undefined, field: string, now: number): number | null {
  if (raw === undefined) return null;
  const at = Date.parse(raw);
  if (!Number.isFinite(at) || at <= now) throw invalid(`${field} must be a date-time in the future`, { field });
  return at;
}

export async function applyOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string, input: ApplyInput): Promise<{ offboarding: OffboardingView; remaining: ResidualPath[] }> {
  authorize(actor, 'mailboxes.offboard');
  const repo = scopedRepo(deps.db, actor);
  const m = await repo.mailbox(mailboxId);
  const reason = requiredText(input.reason, 'reason');
  const convertTo: ConvertTo = input.convertTo ?? 'disabled';
  const forwardsMode = input.forwards ?? 'remove';
  const now = deps.now();
  if (!['active', 'pending', 'suspended'].includes(m.status)) throw new AppError('Conflict', `a ${m.status} mailbox cannot be offboarded`, { status: m.status });
  const prior = await latestOffboarding(deps, m.id);
  if (prior?.status === 'applied') throw new AppError('Conflict', 'this mailbox is already offboarded; undo that first', { offboardingId: prior.id });

  let successor: Mailbox | null = null;
  if (input.successor !== undefined) {
    const { address } = parseAddress(input.successor, 'successor');
    successor = (await repo.mailboxByAddress(address)) ?? null;
    if (!successor || successor.status !== 'active') throw invalid(`successor ${address} is not an active mailbox of this tenant`, { field: 'successor' });
    if (successor.id === m.id) throw invalid('the successor cannot be the mailbox itself', { field: 'successor' });
  }
  if ((convertTo === 'alias' || forwardsMode === 'repoint') && !successor) throw invalid(`${convertTo === 'alias' ? 'converting to an alias' : 're-pointing forwards'} needs a successor mailbox`, { field: 'successor' });
  const ctx = await identitiesOf(deps.db, m, convertTo, input.ownerLeaves);
  if (successor && ctx.identities.includes(successor.address)) throw invalid('the successor cannot be the person being offboarded', { field: 'successor' });
  const transferTo = input.transferTo ? person(input.transferTo, 'transferTo') : null;
  if (transferTo && ctx.identities.includes(transferTo.email.toLowerCase())) throw invalid('transferTo cannot be the person being offboarded', { field: 'transferTo' });
  const paths = await enumerate(deps.db, deps, m, ctx, now);
  const dependents = [...new Set(paths.filter((p) => p.kind === 'ownership' || p.kind === 'reset-destination').map((p) => p.id))];
  if ((dependents.length || convertTo === 'shared') && !transferTo) {
    throw invalid(convertTo === 'shared' ? 'a shared mailbox needs a new owner: transferTo' : 'other mailboxes depend on the person (owner or reset destination): name transferTo', { field: 'transferTo', dependents });
  }
  const depRows = dependents.length ? await deps.db.selectFrom('mailboxes').selectAll().where('id', 'in', dependents).execute() : [];
  if (transferTo) {
    for (const d of depRows.filter((d) => ctx.identities.includes(d.reset_destination.toLowerCase()))) {
      await assertSafeResetDestination(deps.db, d.tenant_id, d.address, transferTo.email);
    }
    if (convertTo === 'shared') await assertSafeResetDestination(deps.db, m.tenant_id, m.address, transferTo.email);
  }
  const autoReply = input.autoReply
    ? { subject: requiredText(input.autoReply.subject, 'autoReply.subject', 1, 200), text: requiredText(input.autoReply.text, 'autoReply.text', 1, 5000).replace(/\r?\n/g, '\n'), until: iso(futureDate(input.autoReply.until, 'autoReply.until', now)) }
    : null;
  const retainUntil = futureDate(input.retainUntil, 'retainUntil', now);
  const policy = await loadPolicy(deps.db, m.tenant_id);
  const id = `obd_${randomBytes(12).toString('hex')}`;
  const stored: StoredOptions = { identities: ctx.identities, personal: ctx.personal, successor: successor?.address ?? null, transferTo, forwards: forwardsMode };
  const I = ctx.identities;
  const ids = (kind: ResidualPath['kind']) => [...new Set(paths.filter((p) => p.kind === kind).map((p) => p.id))];

  await deps.db.transaction().execute(async (trx) => {
    const events: number[] = [];
    const step = async (input: Omit<AuditInput, 'targetType' | 'targetId' | 'tenantId'>) => {
      events.push(await appendAudit(trx, actor, { ...input, targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, reason, after: { offboardingId: id, ...(input.after ?? {}) } }, now));
    };
    await step({ action: 'offboarding.apply', after: { convertTo, successor: stored.successor, transferTo: transferTo?.email ?? null, forwards: forwardsMode, pathsFound: paths.length, kinds: [...new Set(paths.map((p) => p.kind))] } });

    // 1. Disable login first.
    await trx.updateTable('mailboxes').set({ status: 'offboarded', updated_at: now }).where('id', '=', m.id).execute();
    await step({ action: 'offboarding.disable', before: { status: m.status }, after: { status: 'offboarded' } });

    // 2. Revoke sessions, app passwords, links, pending resets; the person's console account and tokens.
    const rev = await revokeMailboxAccess(trx, m.id, now, { appPasswords: true });
    const links = await trx.updateTable('setup_tokens').set({ expires_at: now }).where('mailbox_id', '=', m.id).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
    const resets = await trx.updateTable('resets').set({ status: 'cancelled' }).where('mailbox_id', '=', m.id).where('status', 'in', ['pending-approval', 'issued']).executeTakeFirst();
    const principals = ids('principal');
    const prows = principals.length ? await trx.selectFrom('principals').select(['id', 'status']).where('id', 'in', principals).execute() : [];
    if (principals.length) {
      await trx.updateTable('principals').set((eb) => ({ status: 'disabled', credential_version: eb('credential_version', '+', 1), updated_at: now })).where('id', 'in', principals).execute();
    }
    const tokenIds = ids('api-token');
    if (tokenIds.length) await trx.updateTable('api_tokens').set({ revoked_at: now }).where('id', 'in', tokenIds).where('revoked_at', 'is', null).execute();
    await step({
      action: 'offboarding.revoke',
      before: { principals: prows.map((p) => ({ id: p.id, status: p.status })) },
      after: { sessionsRevoked: true, appCredentialsRevoked: rev.appPasswordsRevoked, consoleSessionsRevoked: rev.consoleSessionsRevoked, linksExpired: Number(links.numUpdatedRows), resetsCancelled: Number(resets.numUpdatedRows), principalsDisabled: principals.length, apiCredentialsRevoked: tokenIds.length },
    });

    // 3. Forwards out of the mailbox and into the person.
    const fwdIds = ids('forward');
    if (fwdIds.length) {
      const rows = await trx.selectFrom('forwards').select(['id', 'mailbox_id', 'target', 'external', 'status']).where('id', 'in', fwdIds).execute();
      const changed: Array<{ id: string; target: string; external: number; status: string; now: string }> = [];
      for (const f of rows) {
        // Re-pointing is for forwards into the person; forwards out of the mailbox are removed.
        if (forwardsMode === 'repoint' && successor && f.mailbox_id !== m.id && f.mailbox_id !== successor.id) {
          const dup = await trx.selectFrom('forwards').select('id').where('mailbox_id', '=', f.mailbox_id).where('target', '=', successor.address).where('status', '=', 'active').executeTakeFirst();
          if (!dup) {
            await trx.updateTable('forwards').set({ target: successor.address, external: 0 }).where('id', '=', f.id).execute();
            changed.push({ id: f.id, target: f.target, external: Number(f.external), status: f.status, now: `re-pointed to ${successor.address}` });
            continue;
          }
        }
        await trx.updateTable('forwards').set({ status: 'removed' }).where('id', '=', f.id).execute();
        changed.push({ id: f.id, target: f.target, external: Number(f.external), status: f.status, now: 'removed' });
      }
      await step({ action: 'offboarding.forwards', before: { forwards: changed.map(({ now: _n, ...r }) => r) }, after: { forwards: changed.map((c) => ({ id: c.id, outcome: c.now })) } });
    }

    // 4. Aliases and catch-alls that deliver to the person.
    const aliasIds = ids('alias');
    const domainIds = ids('catch-all');
    if (aliasIds.length || domainIds.length) {
      const arows = aliasIds.length ? await trx.selectFrom('aliases').select(['id', 'targets', 'status']).where('id', 'in', aliasIds).execute() : [];
      for (const a of arows) {
        const kept = parseTargets(a.targets).filter((t) => !I.includes(t));
        if (successor && !kept.includes(successor.address)) kept.push(successor.address);
        await trx.updateTable('aliases').set({ targets: JSON.stringify(kept), status: kept.length ? 'active' : 'disabled', updated_at: now }).where('id', '=', a.id).execute();
      }
      const drows = domainIds.length ? await trx.selectFrom('domains').select(['id', 'catch_all']).where('id', 'in', domainIds).execute() : [];
      if (domainIds.length) await trx.updateTable('domains').set({ catch_all: successor?.address ?? null, updated_at: now }).where('id', 'in', domainIds).execute();
      await step({
        action: 'offboarding.addresses',
        before: { aliases: arows.map((a) => ({ id: a.id, targets: parseTargets(a.targets), status: a.status })), domains: drows.map((d) => ({ id: d.id, catchAll: d.catch_all })) },
        after: { aliasesChanged: arows.length, catchAllsChanged: drows.length, pointedTo: successor?.address ?? null },
      });
    }

    // 5. Send-as grants from the mailbox and for the person's addresses.
    const grantIds = ids('send-as');
    if (grantIds.length) {
      const grows = await trx.selectFrom('send_as_grants').selectAll().where('id', 'in', grantIds).execute();
      await trx.deleteFrom('send_as_grants').where('id', 'in', grantIds).execute();
      await step({ action: 'offboarding.send_as', before: { grants: grows.map((g) => ({ id: g.id, mailboxId: g.mailbox_id, address: g.address, createdBy: g.created_by, createdAt: Number(g.created_at) })) }, after: { grantsRemoved: grows.length } });
    }

    // 6. Transfer what depended on the person.
    if (depRows.length && transferTo) {
      const before = [];
      for (const d of depRows) {
        const set: Record<string, string> = {};
        if (I.includes(d.owner_email.toLowerCase())) Object.assign(set, { owner_name: transferTo.name, owner_email: transferTo.email });
        if (d.business_owner_email && I.includes(d.business_owner_email.toLowerCase())) Object.assign(set, { business_owner_name: transferTo.name, business_owner_email: transferTo.email });
        if (I.includes(d.reset_destination.toLowerCase())) set.reset_destination = transferTo.email.toLowerCase();
        await trx.updateTable('mailboxes').set({ ...set, updated_at: now }).where('id', '=', d.id).execute();
        before.push({ id: d.id, ownerName: d.owner_name, ownerEmail: d.owner_email, businessOwnerName: d.business_owner_name, businessOwnerEmail: d.business_owner_email, resetDestination: d.reset_destination });
      }
      await step({ action: 'offboarding.transfer', before: { mailboxes: before }, after: { transferredTo: transferTo, mailboxes: before.map((b) => b.id) } });
    }

    // 7. Convert.
    if (convertTo === 'shared' && transferTo) {
      await trx
        .updateTable('mailboxes')
        .set({ status: 'active', password_hash: null, is_role: 1, owner_name: transferTo.name, owner_email: transferTo.email, reset_destination: transferTo.email.toLowerCase(), updated_at: now })
        .where('id', '=', m.id)
        .execute();
      await step({
        action: 'offboarding.convert',
        before: { convertTo: 'shared', isRole: Number(m.is_role) === 1, ownerName: m.owner_name, ownerEmail: m.owner_email, resetDestination: m.reset_destination },
        after: { convertTo: 'shared', status: 'active', directLogin: false, owner: transferTo },
      });
    } else if (convertTo === 'alias' && successor) {
      const aliasId = `als_${randomBytes(12).toString('hex')}`;
      await trx
        .insertInto('aliases')
        .values({ id: aliasId, tenant_id: m.tenant_id, domain_id: m.domain_id, local_part: m.local_part, address: m.address, targets: JSON.stringify([successor.address]), status: 'active', created_by: actor.principalId, deleted_with: null, created_at: now, updated_at: now })
        .execute();
      await step({ action: 'offboarding.convert', before: { convertTo: 'alias' }, after: { convertTo: 'alias', aliasId, target: successor.address } });
    } else {
      await step({ action: 'offboarding.convert', after: { convertTo: 'disabled', receiving: false } });
    }

    // 8. Auto-reply (answered by the delivery path) and 9. retention (enforced hourly).
    if (autoReply) await step({ action: 'offboarding.auto_reply', after: { subject: autoReply.subject, until: autoReply.until, engine: 'postern' } });
    if (retainUntil !== null) await step({ action: 'offboarding.retention', after: { retainUntil: iso(retainUntil) } });

    await trx
      .insertInto('offboardings')
      .values({
        id,
        tenant_id: m.tenant_id,
        mailbox_id: m.id,
        status: 'applied',
        convert_to: convertTo,
        options: JSON.stringify(stored),
        event_ids: JSON.stringify(events),
        auto_reply: autoReply ? JSON.stringify(autoReply) : null,
        retain_until: retainUntil,
        applied_by: actor.principalId,
        applied_at: now,
        undo_until: now + policy.offboardingUndoDays * 86_400_000,
        undone_at: null,
      })
      .execute();
  });
  deps.revoker.notifyRevoked(m.id, 'mailbox offboarded');
  const o = await deps.db.selectFrom('offboardings').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const fresh = await repo.mailbox(m.id);
  return { offboarding: await offboardingView(deps, o), remaining: await enumerate(deps.db, deps, fresh, ctx, deps.now()) };
}

type Before = Record<string, unknown>;

/** Restores the state recorded in the `before` of each step's audit event, newest first. */
export async function undoOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason: string }): Promise<{ offboarding: OffboardingView; notRestored: string[] }> {
  authorize(actor, 'mailboxes.offboard');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const reason = requiredText(input.reason, 'reason');
  const o = await latestOffboarding(deps, m.id);
  if (!o || o.status !== 'applied') throw new AppError('Conflict', 'there is no applied offboarding of this mailbox to undo');
  const now = deps.now();
  if (Number(o.undo_until) <= now) throw new AppError('Conflict', `the grace period ended at ${iso(o.undo_until)}; restore by hand`, { undoUntil: iso(o.undo_until) });
  const eventIds = JSON.parse(o.event_ids) as number[];
  const events = await deps.db.selectFrom('audit_events').select(['id', 'action', 'before', 'after', 'target_id']).where('id', 'in', eventIds.length ? eventIds : [-1]).orderBy('id', 'desc').execute();
  if (events.length !== eventIds.length || events.some((e) => e.target_id !== m.id)) throw new AppError('Conflict', 'the audit record of this offboarding is incomplete; restore by hand');
  const notRestored = ['open sessions (their owners log in again)', 'app passwords (create new ones)', 'API tokens of the person (create new ones)'];
  await deps.db.transaction().execute(async (trx) => {
    for (const e of events) {
      const before = (e.before ? JSON.parse(e.before) : {}) as Before;
      const after = (e.after ? JSON.parse(e.after) : {}) as Before;
      switch (e.action) {
        case 'offboarding.convert':
          if (after.convertTo === 'alias' && typeof after.aliasId === 'string') await trx.deleteFrom('aliases').where('id', '=', after.aliasId).where('tenant_id', '=', m.tenant_id).execute();
          if (after.convertTo === 'shared') {
            await trx
              .updateTable('mailboxes')
              .set({ is_role: before.isRole ? 1 : 0, owner_name: String(before.ownerName), owner_email: String(before.ownerEmail), reset_destination: String(before.resetDestination), updated_at: now })
              .where('id', '=', m.id)
              .execute();
            notRestored.push('the password (the mailbox was shared without one): the owner sets a new one through a reset');
          }
          break;
        case 'offboarding.transfer':
          for (const d of (before.mailboxes ?? []) as Array<Record<string, string | null>>) {
            await trx
              .updateTable('mailboxes')
              .set({ owner_name: String(d.ownerName), owner_email: String(d.ownerEmail), business_owner_name: d.businessOwnerName, business_owner_email: d.businessOwnerEmail, reset_destination: String(d.resetDestination), updated_at: now })
              .where('id', '=', String(d.id))
              .where('tenant_id', '=', m.tenant_id)
              .execute();
          }
          break;
        case 'offboarding.send_as':
          for (const g of (before.grants ?? []) as Array<{ id: string; mailboxId: string; address: string; createdBy: string; createdAt: number }>) {
            const exists = await trx.selectFrom('send_as_grants').select('id').where('mailbox_id', '=', g.mailboxId).where('address', '=', g.address).executeTakeFirst();
            if (!exists) await trx.insertInto('send_as_grants').values({ id: g.id, tenant_id: m.tenant_id, mailbox_id: g.mailboxId, address: g.address, created_by: g.createdBy, created_at: g.createdAt }).execute();
          }
          break;
        case 'offboarding.addresses':
          for (const a of (before.aliases ?? []) as Array<{ id: string; targets: string[]; status: string }>) {
            await trx.updateTable('aliases').set({ targets: JSON.stringify(a.targets), status: a.status, updated_at: now }).where('id', '=', a.id).where('tenant_id', '=', m.tenant_id).execute();
          }
          for (const d of (before.domains ?? []) as Array<{ id: string; catchAll: string | null }>) {
            await trx.updateTable('domains').set({ catch_all: d.catchAll, updated_at: now }).where('id', '=', d.id).where('tenant_id', '=', m.tenant_id).execute();
          }
          break;
        case 'offboarding.forwards':
          for (const f of (before.forwards ?? []) as Array<{ id: string; target: string; external: number; status: string }>) {
            await trx.updateTable('forwards').set({ target: f.target, external: f.external, status: f.status }).where('id', '=', f.id).where('tenant_id', '=', m.tenant_id).execute();
          }
          break;
        case 'offboarding.revoke':
          for (const p of (before.principals ?? []) as Array<{ id: string; status: string }>) {
            await trx.updateTable('principals').set({ status: p.status, updated_at: now }).where('id', '=', p.id).where('tenant_id', '=', m.tenant_id).execute();
          }
          break;
        case 'offboarding.disable':
          await trx.updateTable('mailboxes').set({ status: String(before.status), updated_at: now }).where('id', '=', m.id).execute();
          break;
        default:
          break;
      }
    }
    await trx.updateTable('offboardings').set({ status: 'undone', undone_at: now }).where('id', '=', o.id).execute();
    await appendAudit(trx, actor, { action: 'offboarding.undo', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { status: 'offboarded' }, after: { offboardingId: o.id, restoredFromEvents: eventIds, notRestored }, reason }, now);
  });
  const fresh = await deps.db.selectFrom('offboardings').selectAll().where('id', '=', o.id).executeTakeFirstOrThrow();
  return { offboarding: await offboardingView(deps, fresh), notRestored };
}
