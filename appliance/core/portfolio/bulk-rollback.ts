/**
 * Rolling a batch back: disable first (suspend: no login, no delivery; unused setup links
 * expire; access revoked), then into the recycle bin (restorable for the configured days); the
 * batch's aliases go too. Each mailbox moves through the lifecycle (`planTransition`) and loses
 * access through the one revocation call. One audit event per mailbox and step, each naming
 * the batch. Also what all-or-nothing runs when a chunk fails midway.
 */
import { repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import { recycleBinDays } from '../deps.js';
import type { PortfolioDeps } from '../delivery/mailer.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError } from '../kernel/errors.js';
import { iso } from '../kernel/util.js';
import { type LifecycleEvent, planTransition, statusAfter, statusBefore, revokeMailboxAccess, TRANSITIONS } from '../mailboxes/lifecycle.js';
import { type BatchView, batchView, CHUNK, refText, workers } from './bulk-batch.js';

type Item = { row_no: number; mailbox_id: string | null; alias_ids: string | null };

/** May `event` move a mailbox in this status (without throwing)? */
function movable(event: LifecycleEvent, status: string): boolean {
  const from = TRANSITIONS[event].from;
  return from !== 'none' && (from as readonly string[]).includes(status);
}

/** Step 1 for one chunk: suspend the live mailboxes, expire their unused setup links. Returns the suspended ids. */
async function suspendChunk(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, chunk: Item[], reason: string): Promise<string[]> {
  const now = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const t = repos(trx, scopeOf(actor));
    const ids = chunk.map((c) => c.mailbox_id!);
    const live = (await t.batches.mailboxStates(tenantId, ids)).filter((m) => movable('suspend', m.status));
    await t.batches.expireSetupLinks(ids, now);
    for (const m of live) {
      const move = planTransition('suspend', m);
      await t.batches.setMailboxStatus(m.id, statusAfter(move), now);
      await revokeMailboxAccess(trx, m.id, now, { appPasswords: false });
      await appendAudit(
        trx,
        actor,
        {
          action: 'mailbox.suspend',
          targetType: 'mailbox',
          targetId: m.id,
          tenantId,
          before: { status: m.status },
          after: { status: move.to, sessionsRevoked: true, setupLinksExpired: true, batchId },
          reason,
        },
        now,
      );
    }
    return live.map((m) => m.id);
  });
}

/** Step 2 for one chunk: the mailboxes into the recycle bin, the batch's aliases deleted, the items marked. Returns the number deleted. */
async function deleteChunk(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, chunk: Item[], reason: string, purgeAfter: number): Promise<number> {
  const now = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const t = repos(trx, scopeOf(actor));
    const rows = (
      await t.batches.mailboxStates(
        tenantId,
        chunk.map((c) => c.mailbox_id!),
      )
    ).filter((m) => m.status !== 'deleted');
    for (const m of rows) {
      const move = planTransition('soft-delete', m);
      await t.batches.softDeleteMailbox(m.id, statusBefore(move), now, purgeAfter);
      await revokeMailboxAccess(trx, m.id, now, { appPasswords: false });
      await appendAudit(
        trx,
        actor,
        { action: 'mailbox.delete', targetType: 'mailbox', targetId: m.id, tenantId, before: { status: m.status }, after: { status: 'deleted', purgeAfter: iso(purgeAfter), batchId }, reason },
        now,
      );
    }
    const aliasIds = chunk.flatMap((c) => (c.alias_ids ? (JSON.parse(c.alias_ids) as string[]) : []));
    for (let j = 0; j < aliasIds.length; j += 500) {
      const live = await t.batches.activeAliases(aliasIds.slice(j, j + 500));
      if (!live.length) continue;
      await t.batches.deleteAliases(
        live.map((a) => a.id),
        now,
      );
      for (const a of live)
        await appendAudit(trx, actor, { action: 'alias.delete', targetType: 'alias', targetId: a.id, tenantId, before: { status: 'active' }, after: { status: 'deleted', batchId }, reason }, now);
    }
    await t.batches.markRolledBack(
      batchId,
      chunk.map((c) => Number(c.row_no)),
    );
    return rows.length;
  });
}

/** Suspends, then deletes, every mailbox the batch created (in chunks); returns how many went to the recycle bin. */
export async function compensate(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, reason: string): Promise<number> {
  const items = (await repos(deps.db, scopeOf(actor)).batches.createdItems(batchId)) as Item[];
  const revoked: string[] = [];
  for (let i = 0; i < items.length; i += CHUNK) revoked.push(...(await suspendChunk(actor, deps, batchId, tenantId, items.slice(i, i + CHUNK), reason)));
  for (const id of revoked) deps.revoker.notifyRevoked(id, 'batch rolled back');

  const purgeAfter = deps.now() + recycleBinDays(deps) * 86_400_000;
  let deleted = 0;
  for (let i = 0; i < items.length; i += CHUNK) deleted += await deleteChunk(actor, deps, batchId, tenantId, items.slice(i, i + CHUNK), reason, purgeAfter);
  return deleted;
}

export async function rollbackBatch(actor: Actor, deps: PortfolioDeps, batchId: string, input: { reason?: string } = {}): Promise<BatchView> {
  authorize(actor, 'mailboxes.suspend');
  authorize(actor, 'mailboxes.delete');
  const scope = scopeOf(actor);
  const r = repos(deps.db, scope);
  const b = await r.batches.get(batchId);
  if (b.state === 'applying' && workers.has(b.id)) throw new AppError('Conflict', 'the batch is being applied; roll back once it has finished');
  if (b.state === 'rolled-back') return batchView(r, b);
  const reason = refText(input.reason, 'reason') ?? `rollback of batch ${b.id}`;
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await repos(trx, scope).batches.update(b.id, { state: 'rolling-back', updated_at: now });
    await appendAudit(trx, actor, { action: 'batch.rollback', targetType: 'batch', targetId: b.id, tenantId: b.tenant_id, before: { state: b.state }, after: { state: 'rolling-back' }, reason }, now);
  });
  const deleted = await compensate(actor, deps, b.id, b.tenant_id, `batch ${b.id}: ${reason}`);
  const end = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await repos(trx, scope).batches.update(b.id, { state: 'rolled-back', rolled_back_at: end, updated_at: end });
    await appendAudit(
      trx,
      actor,
      {
        action: 'batch.rolled_back',
        targetType: 'batch',
        targetId: b.id,
        tenantId: b.tenant_id,
        before: { state: 'rolling-back' },
        after: { state: 'rolled-back', mailboxesDeleted: deleted, recycleBinDays: recycleBinDays(deps) },
        reason,
      },
      end,
    );
  });
  return batchView(r, await r.batches.get(b.id));
}
