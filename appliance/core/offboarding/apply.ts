/**
 * Apply: checks the options against the plan, then closes every residual path in one
 * transaction, one audit event per step (see apply-steps.ts), and records the offboarding
 * (undo reads the steps' events back). The auto-reply is answered by the delivery path
 * (core/delivery/auto-reply.ts), the retention date enforced hourly (core/mailboxes/retention.ts).
 */
import type { Mailbox } from '../../db/tables/control.table.js';
import type { Repos } from '../../db/repos/index.js';
import { parseAddress } from '../kernel/addresses.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { requiredText } from '../kernel/text.js';
import { type Person, person } from '../mailboxes/mailboxes.service.js';
import { alreadyDone, type PlannedTransition, planTransition } from '../mailboxes/lifecycle.js';
import { loadPolicy } from '../access/policies.js';
import { assertSafeResetDestination } from '../mailboxes/targets.js';
import { iso } from '../kernel/util.js';
import { type ConvertTo, type Ctx, EXPORT_FRESH_MS, lastExportAt, mailboxInScope, type ResidualPath, type StoredOptions } from './common.js';
import { trxOf } from '../../db/repos/index.js';
import { enumerate, identitiesOf } from './enumerate.js';
import { type ApplyRun, convert, disableLogin, removeGrants, revokeAccess, type StepInput, sweepAddresses, sweepForwards, transferDependents } from './apply-steps.js';
import { type OffboardingView, offboardingView } from './view.js';
import { newId } from '../kernel/ids.js';
import { addSharedMembers, announce, removeMemberships, type SharedMember, type SharedMemberInput, sharedMembersOf } from './membership-steps.js';
import { notifyMembersAfter } from '../access/grants.service.js';

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
  /** "Export before delete": refuse unless the mailbox was exported in the last 24 hours; recorded with the offboarding. */
  exportBeforeDelete?: boolean;
  /** "Convert to shared": the mailboxes of the tenant that get access, with their rights. */
  members?: SharedMemberInput[];
}

function futureDate(raw: string | undefined, field: string, now: number): number | null {
  if (raw === undefined) return null;
  const at = Date.parse(raw);
  if (!Number.isFinite(at) || at <= now) throw invalid(`${field} must be a date-time in the future`, { field });
  return at;
}

/** Everything apply decided before it writes. */
interface Prepared {
  m: Mailbox;
  r: Repos;
  reason: string;
  convertTo: ConvertTo;
  forwardsMode: 'remove' | 'repoint';
  move: PlannedTransition;
  successor: Mailbox | null;
  transferTo: Person | null;
  ctx: Ctx;
  paths: ResidualPath[];
  depRows: Mailbox[];
  autoReply: { subject: string; text: string; until: string | null } | null;
  retainUntil: number | null;
  /** Set when exportBeforeDelete was asked for: the export it relies on. */
  exportedAt: number | null;
  members: SharedMember[];
}

/** "Export before delete": the fresh export apply relies on, or a Conflict naming the call that takes it. */
async function exportFirst(r: Repos, m: Mailbox, wanted: boolean | undefined, now: number): Promise<number | null> {
  if (!wanted) return null;
  const at = await lastExportAt(r, m);
  if (at === null || now - at > EXPORT_FRESH_MS)
    throw new AppError('Conflict', `export before delete: no export of ${m.address} in the last 24 hours; download GET /api/v1/mailboxes/${m.id}/export first`, {
      exportUrl: `/api/v1/mailboxes/${m.id}/export`,
    });
  return at;
}

/** The successor: an active mailbox of the tenant other than the one offboarded. */
async function successorOf(r: Repos, m: Mailbox, raw: string | undefined): Promise<Mailbox | null> {
  if (raw === undefined) return null;
  const { address } = parseAddress(raw, 'successor');
  const s = (await r.mailboxes.byAddress(address)) ?? null;
  if (!s || s.status !== 'active') throw invalid(`successor ${address} is not an active mailbox of this tenant`, { field: 'successor' });
  if (s.id === m.id) throw invalid('the successor cannot be the mailbox itself', { field: 'successor' });
  return s;
}

/** Whom the dependents (and a shared mailbox) go to; it must not be the person and must be a safe reset destination. */
async function checkTransfer(deps: CoreDeps, p: Pick<Prepared, 'm' | 'r' | 'convertTo' | 'ctx' | 'paths' | 'transferTo'>): Promise<Mailbox[]> {
  const { m, r, convertTo, ctx, paths, transferTo } = p;
  const dependents = [...new Set(paths.filter((x) => x.kind === 'ownership' || x.kind === 'reset-destination').map((x) => x.id))];
  if ((dependents.length || convertTo === 'shared') && !transferTo) {
    throw invalid(convertTo === 'shared' ? 'a shared mailbox needs a new owner: transferTo' : 'other mailboxes depend on the person (owner or reset destination): name transferTo', {
      field: 'transferTo',
      dependents,
    });
  }
  const depRows = await r.offboarding.mailboxesByIds(dependents);
  if (transferTo) {
    for (const d of depRows.filter((d) => ctx.identities.includes(d.reset_destination.toLowerCase()))) {
      await assertSafeResetDestination(deps.db, d.tenant_id, d.address, transferTo.email);
    }
    if (convertTo === 'shared') await assertSafeResetDestination(deps.db, m.tenant_id, m.address, transferTo.email);
  }
  return depRows;
}

async function prepare(actor: Actor, deps: CoreDeps, mailboxId: string, input: ApplyInput, now: number): Promise<Prepared> {
  const { m, r } = await mailboxInScope(actor, deps, mailboxId);
  const reason = requiredText(input.reason, 'reason');
  const convertTo: ConvertTo = input.convertTo ?? 'disabled';
  const forwardsMode = input.forwards ?? 'remove';
  const prior = await r.offboarding.latest(m.id);
  if (prior?.status === 'applied' || alreadyDone('offboard', m))
    throw new AppError('Conflict', 'this mailbox is already offboarded; undo that first', { offboardingId: prior?.status === 'applied' ? prior.id : null });
  const move = planTransition('offboard', m);
  const successor = await successorOf(r, m, input.successor);
  if ((convertTo === 'alias' || forwardsMode === 'repoint') && !successor)
    throw invalid(`${convertTo === 'alias' ? 'converting to an alias' : 're-pointing forwards'} needs a successor mailbox`, { field: 'successor' });
  const ctx = await identitiesOf(r, m, convertTo, input.ownerLeaves);
  if (successor && ctx.identities.includes(successor.address)) throw invalid('the successor cannot be the person being offboarded', { field: 'successor' });
  const transferTo = input.transferTo ? person(input.transferTo, 'transferTo') : null;
  if (transferTo && ctx.identities.includes(transferTo.email.toLowerCase())) throw invalid('transferTo cannot be the person being offboarded', { field: 'transferTo' });
  const paths = await enumerate(r, deps, m, ctx, now);
  const depRows = await checkTransfer(deps, { m, r, convertTo, ctx, paths, transferTo });
  const ar = input.autoReply;
  const autoReply = ar
    ? {
        subject: requiredText(ar.subject, 'autoReply.subject', { min: 1, max: 200 }),
        text: requiredText(ar.text, 'autoReply.text', { min: 1, max: 5000 }).replace(/\r?\n/g, '\n'),
        until: iso(futureDate(ar.until, 'autoReply.until', now)),
      }
    : null;
  const retainUntil = futureDate(input.retainUntil, 'retainUntil', now);
  const exportedAt = await exportFirst(r, m, input.exportBeforeDelete, now);
  const members = await sharedMembersOf(r, m, input.members, convertTo);
  return { m, r, reason, convertTo, forwardsMode, move, successor, transferTo, ctx, paths, depRows, autoReply, retainUntil, exportedAt, members };
}

export async function applyOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string, input: ApplyInput): Promise<{ offboarding: OffboardingView; remaining: ResidualPath[] }> {
  authorize(actor, 'mailboxes.offboard');
  const now = deps.now();
  const p = await prepare(actor, deps, mailboxId, input, now);
  const { m, r, reason, convertTo, forwardsMode, successor, transferTo, ctx, paths, autoReply, retainUntil } = p;
  const policy = await loadPolicy(deps.db, m.tenant_id);
  const id = newId('obd');
  const stored: StoredOptions = {
    identities: ctx.identities,
    personal: ctx.personal,
    successor: successor?.address ?? null,
    transferTo,
    forwards: forwardsMode,
    ...(p.exportedAt !== null ? { exportedAt: iso(p.exportedAt) } : {}),
  };

  const changes = await r.transaction(async (t) => {
    const trx = trxOf(t);
    const events: number[] = [];
    const step = async (s: StepInput) => {
      events.push(await appendAudit(trx, actor, { ...s, targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, reason, after: { offboardingId: id, ...(s.after ?? {}) } }, now));
    };
    const run: ApplyRun = { actor, t, trx, m, now, I: ctx.identities, successor, transferTo, forwardsMode, step, ids: (kind) => [...new Set(paths.filter((x) => x.kind === kind).map((x) => x.id))] };
    await step({
      action: 'offboarding.apply',
      after: {
        convertTo,
        successor: stored.successor,
        transferTo: transferTo?.email ?? null,
        forwards: forwardsMode,
        pathsFound: paths.length,
        kinds: [...new Set(paths.map((x) => x.kind))],
        ...(p.exportedAt !== null ? { exportedBeforeDelete: iso(p.exportedAt) } : {}),
      },
    });
    await disableLogin(run, p.move);
    await revokeAccess(run);
    await sweepForwards(run);
    await sweepAddresses(run);
    await removeGrants(run);
    const changes = await removeMemberships(run, reason);
    await transferDependents(run, p.depRows);
    await convert(run, convertTo);
    if (convertTo === 'shared') changes.push(...(await addSharedMembers(run, p.members, reason)));
    // 8. Auto-reply (answered by the delivery path) and 9. retention (enforced hourly).
    if (autoReply) await step({ action: 'offboarding.auto_reply', after: { subject: autoReply.subject, until: autoReply.until, engine: 'postern' } });
    if (retainUntil !== null) await step({ action: 'offboarding.retention', after: { retainUntil: iso(retainUntil) } });
    await t.offboarding.insert({
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
    });
    return changes;
  });
  deps.revoker.notifyRevoked(m.id, 'mailbox offboarded');
  announce(deps, changes);
  // Members of the offboarded mailbox lose it, unless it stays in use as a shared mailbox (then their access never lapsed).
  if (convertTo !== 'shared') await notifyMembersAfter(deps, m.id, 'revoked');
  const o = await r.offboarding.get(id);
  const fresh = await r.mailboxes.get(m.id);
  return { offboarding: await offboardingView(r, o), remaining: await enumerate(r, deps, fresh, ctx, deps.now()) };
}
