/**
 * The steps of an applied offboarding, in order, inside the use case's transaction. Each step
 * writes one audit event whose `before` records what undo puts back:
 * disable login → revoke access → forwards → aliases and catch-alls → send-as grants →
 * transfer dependents → convert (disabled | shared | alias).
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import type { Repos } from '../../db/repos/index.js';
import type { AuditInput } from '../audit/audit.js';
import type { Actor } from '../kernel/authz.js';
import { AppError } from '../kernel/errors.js';
import { type PlannedTransition, planTransition, revokeMailboxAccess, statusAfter } from '../mailboxes/lifecycle.js';
import type { Person } from '../mailboxes/mailboxes.service.js';
import { type ConvertTo, parseTargets, type ResidualPath } from './common.js';
import { newId } from '../kernel/ids.js';

export type StepInput = Omit<AuditInput, 'targetType' | 'targetId' | 'tenantId'>;

/** One run of apply: the transaction's repositories, the mailbox, the person, and the audit step writer. */
export interface ApplyRun {
  actor: Actor;
  t: Repos;
  trx: Transaction<DB>;
  m: Mailbox;
  now: number;
  /** The person's addresses. */
  I: string[];
  successor: Mailbox | null;
  transferTo: Person | null;
  forwardsMode: 'remove' | 'repoint';
  /** The ids of the planned residual paths of one kind. */
  ids(kind: ResidualPath['kind']): string[];
  /** Appends the step's audit event (target: the mailbox). */
  step(input: StepInput): Promise<void>;
}

/** 1. Disable login first: the planned lifecycle move (offboard). */
export async function disableLogin(run: ApplyRun, move: PlannedTransition): Promise<void> {
  if (move.to === 'gone') throw new AppError('Conflict', 'offboarding never removes the mailbox');
  await run.t.offboarding.setMailboxStatus(run.m.id, move.to, run.now);
  await run.step({ action: 'offboarding.disable', before: { status: run.m.status }, after: { status: move.to } });
}

/** 2. Revoke sessions, app passwords, links, pending resets; the person's console accounts and tokens. */
export async function revokeAccess(run: ApplyRun): Promise<void> {
  const { t, m, now } = run;
  const rev = await revokeMailboxAccess(run.trx, m.id, now, { appPasswords: true });
  const linksExpired = await t.offboarding.expireLinks(m.id, now);
  const resetsCancelled = await t.offboarding.cancelOpenResets(m.id);
  const principals = run.ids('principal');
  const prows = await t.offboarding.principalStatuses(principals);
  await t.offboarding.disablePrincipals(principals, now);
  const tokenIds = run.ids('api-token');
  await t.offboarding.revokeApiTokens(tokenIds, now);
  await run.step({
    action: 'offboarding.revoke',
    before: { principals: prows.map((p) => ({ id: p.id, status: p.status })) },
    after: {
      sessionsRevoked: true,
      appCredentialsRevoked: rev.appPasswordsRevoked,
      consoleSessionsRevoked: rev.consoleSessionsRevoked,
      linksExpired,
      resetsCancelled,
      principalsDisabled: principals.length,
      apiCredentialsRevoked: tokenIds.length,
    },
  });
}

/** 3. Forwards out of the mailbox are removed; forwards into the person are re-pointed to the successor when asked. */
export async function sweepForwards(run: ApplyRun): Promise<void> {
  const { t, m, successor } = run;
  const fwdIds = run.ids('forward');
  if (!fwdIds.length) return;
  const changed: Array<{ id: string; target: string; external: number; status: string; now: string }> = [];
  for (const f of await t.offboarding.forwardsByIds(fwdIds)) {
    const intoPerson = f.mailbox_id !== m.id && f.mailbox_id !== successor?.id;
    if (run.forwardsMode === 'repoint' && successor && intoPerson && !(await t.offboarding.hasActiveForward(f.mailbox_id, successor.address))) {
      await t.offboarding.setForward(f.id, { target: successor.address, external: 0 });
      changed.push({ id: f.id, target: f.target, external: Number(f.external), status: f.status, now: `re-pointed to ${successor.address}` });
      continue;
    }
    await t.offboarding.setForward(f.id, { status: 'removed' });
    changed.push({ id: f.id, target: f.target, external: Number(f.external), status: f.status, now: 'removed' });
  }
  await run.step({ action: 'offboarding.forwards', before: { forwards: changed.map(({ now: _n, ...r }) => r) }, after: { forwards: changed.map((c) => ({ id: c.id, outcome: c.now })) } });
}

/** 4. Aliases and catch-alls that deliver to the person now deliver to the successor (or lose the person). */
export async function sweepAddresses(run: ApplyRun): Promise<void> {
  const { t, I, successor, now } = run;
  const aliasIds = run.ids('alias');
  const domainIds = run.ids('catch-all');
  if (!aliasIds.length && !domainIds.length) return;
  const arows = await t.offboarding.aliasesByIds(aliasIds);
  for (const a of arows) {
    const kept = parseTargets(a.targets).filter((x) => !I.includes(x));
    if (successor && !kept.includes(successor.address)) kept.push(successor.address);
    await t.offboarding.setAliasTargets(a.id, kept, kept.length ? 'active' : 'disabled', now);
  }
  const drows = await t.offboarding.catchAllsByIds(domainIds);
  await t.offboarding.setCatchAll(domainIds, successor?.address ?? null, now);
  await run.step({
    action: 'offboarding.addresses',
    before: { aliases: arows.map((a) => ({ id: a.id, targets: parseTargets(a.targets), status: a.status })), domains: drows.map((d) => ({ id: d.id, catchAll: d.catch_all })) },
    after: { aliasesChanged: arows.length, catchAllsChanged: drows.length, pointedTo: successor?.address ?? null },
  });
}

/** 5. Send-as grants from the mailbox and for the person's addresses are removed. */
export async function removeGrants(run: ApplyRun): Promise<void> {
  const grantIds = run.ids('send-as');
  if (!grantIds.length) return;
  const grows = await run.t.offboarding.grantsByIds(grantIds);
  await run.t.offboarding.deleteGrants(grantIds);
  await run.step({
    action: 'offboarding.send_as',
    before: { grants: grows.map((g) => ({ id: g.id, mailboxId: g.mailbox_id, address: g.address, createdBy: g.created_by, createdAt: g.created_at })) },
    after: { grantsRemoved: grows.length },
  });
}

/** 6. What depended on the person (owner, business owner, reset destination) goes to `transferTo`. */
export async function transferDependents(run: ApplyRun, depRows: Mailbox[]): Promise<void> {
  const { t, I, transferTo, now } = run;
  if (!depRows.length || !transferTo) return;
  const before = [];
  for (const d of depRows) {
    const set: Record<string, string> = {};
    if (I.includes(d.owner_email.toLowerCase())) Object.assign(set, { owner_name: transferTo.name, owner_email: transferTo.email });
    if (d.business_owner_email && I.includes(d.business_owner_email.toLowerCase())) Object.assign(set, { business_owner_name: transferTo.name, business_owner_email: transferTo.email });
    if (I.includes(d.reset_destination.toLowerCase())) set.reset_destination = transferTo.email.toLowerCase();
    await t.offboarding.setOwnerFields(d.id, set, now);
    before.push({
      id: d.id,
      ownerName: d.owner_name,
      ownerEmail: d.owner_email,
      businessOwnerName: d.business_owner_name,
      businessOwnerEmail: d.business_owner_email,
      resetDestination: d.reset_destination,
    });
  }
  await run.step({ action: 'offboarding.transfer', before: { mailboxes: before }, after: { transferredTo: transferTo, mailboxes: before.map((b) => b.id) } });
}

/** 7. Convert: shared (receiving, no direct login, new owner), alias of the successor, or disabled. */
export async function convert(run: ApplyRun, convertTo: ConvertTo): Promise<void> {
  const { t, m, transferTo, successor, now } = run;
  if (convertTo === 'shared' && transferTo) {
    // The disable step (1) left the mailbox where `offboard` leads; sharing moves it on from there.
    const share = planTransition('share', { status: statusAfter(planTransition('offboard', m)) });
    await t.offboarding.convertToShared(m.id, statusAfter(share), transferTo, now);
    await run.step({
      action: 'offboarding.convert',
      before: { convertTo: 'shared', isRole: Number(m.is_role) === 1, ownerName: m.owner_name, ownerEmail: m.owner_email, resetDestination: m.reset_destination },
      after: { convertTo: 'shared', status: 'active', directLogin: false, owner: transferTo },
    });
  } else if (convertTo === 'alias' && successor) {
    const aliasId = newId('als');
    await t.offboarding.insertAlias({
      id: aliasId,
      tenant_id: m.tenant_id,
      domain_id: m.domain_id,
      local_part: m.local_part,
      address: m.address,
      target: successor.address,
      created_by: run.actor.principalId,
      now,
    });
    await run.step({ action: 'offboarding.convert', before: { convertTo: 'alias' }, after: { convertTo: 'alias', aliasId, target: successor.address } });
  } else {
    await run.step({ action: 'offboarding.convert', after: { convertTo: 'disabled', receiving: false } });
  }
}
