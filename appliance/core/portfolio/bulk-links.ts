/**
 * The setup links of a batch's mailboxes: sent to each owner's reset destination through the
 * Mailer (never returned to the caller), delivery recorded per item; links whose delivery never
 * happened are re-issued (only their hash is stored, so the secret is gone) and sent again.
 */
import { repos } from '../../db/repos/index.js';
import { issueSetupLink, setupUrl } from '../access/setup-links.js';
import { appendAudit } from '../audit/audit.js';
import { type PortfolioDeps, setupLinkMessage, systemSender } from '../delivery/mailer.js';
import { type Actor, scopeOf } from '../kernel/authz.js';
import { iso } from '../kernel/util.js';
import { CHUNK } from './bulk-batch.js';
import type { PlanItem } from './bulk-plan.js';

const DELIVERY_CONCURRENCY = 8;

/** A mailbox a batch created, with its (fresh) setup link. */
export interface Created {
  item: PlanItem;
  mailboxId: string;
  link: { id: string; token: string; expiresAt: number };
}

/** Sends each new mailbox's setup link to its reset destination; records delivery per item. */
export async function deliverLinks(actor: Actor, deps: PortfolioDeps, batchId: string, created: Created[]): Promise<void> {
  if (!created.length || !deps.mailer) return;
  const mailer = deps.mailer;
  const from = systemSender(deps);
  const results: Array<{ row: number; ok: boolean; error?: string }> = [];
  let next = 0;
  const work = async () => {
    while (next < created.length) {
      const c = created[next++]!;
      const msg = setupLinkMessage({ address: c.item.address, ownerName: c.item.owner.name, url: setupUrl(deps, c.link.token), expiresAt: iso(c.link.expiresAt)! });
      try {
        await mailer.send(from, c.item.resetDestination, msg.subject, msg.text);
        results.push({ row: c.item.row, ok: true });
      } catch (err) {
        results.push({ row: c.item.row, ok: false, error: String((err as Error)?.message ?? err).slice(0, 300) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELIVERY_CONCURRENCY, created.length) }, work));
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const batches = repos(trx, scopeOf(actor)).batches;
    await batches.markDelivered(
      batchId,
      results.filter((r) => r.ok).map((r) => r.row),
      now,
    );
    for (const r of results.filter((x) => !x.ok)) await batches.markDeliveryFailed(batchId, r.row, r.error ?? 'failed');
  });
}

/**
 * Items created by an earlier, interrupted run whose link never went out: the secret of their
 * link is gone (only its hash is stored), so each gets a fresh link (the old one expires) and
 * is delivered now.
 */
export async function reissueUndelivered(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string): Promise<void> {
  if (!deps.mailer) return;
  const scope = scopeOf(actor);
  const stale = await repos(deps.db, scope).batches.undelivered(batchId);
  const todo = stale.filter((s) => s.used_at === null && s.status === 'pending');
  for (let i = 0; i < todo.length; i += CHUNK) {
    const chunk = todo.slice(i, i + CHUNK);
    const now = deps.now();
    const created = await deps.db.transaction().execute(async (trx) => {
      const batches = repos(trx, scope).batches;
      const out: Created[] = [];
      for (const s of chunk) {
        if (s.setup_link_id) await batches.expireSetupLink(s.setup_link_id, now);
        const link = await issueSetupLink(trx, actor, deps, { purpose: 'mailbox-setup', mailboxId: s.mailbox_id, tenantId, destination: s.reset_destination }, now);
        await batches.setItemLink(batchId, Number(s.row_no), link.id);
        await appendAudit(
          trx,
          actor,
          {
            action: 'mailbox.setup_link.reissue',
            targetType: 'mailbox',
            targetId: s.mailbox_id,
            tenantId,
            after: { setupLinkId: link.id, previousLinkId: s.setup_link_id, batchId, reason: 'undelivered' },
          },
          now,
        );
        const item = { row: Number(s.row_no), address: s.address, owner: { name: s.owner_name, email: '' }, resetDestination: s.reset_destination } as PlanItem;
        out.push({ item, mailboxId: s.mailbox_id, link });
      }
      return out;
    });
    await deliverLinks(actor, deps, batchId, created);
  }
}
