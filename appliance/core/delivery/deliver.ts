/**
 * deliver: the one local delivery of the appliance, for SMTP inbound (the Haraka child's
 * `mail.deliver`), the appliance's own mail (setup links, notices, auto-replies) and any other
 * local delivery. It plans (plan.ts), stores every mailbox copy through the mail store's one
 * ingest path in one durable commit, marks the forwards used, starts the auto-replies of
 * offboarded addresses, and returns the copies to relay with their SRS envelope sender.
 *
 * Durability: the promise resolves only after the store's transaction is committed (and the
 * blob fsynced), so SMTP answers 250 only after it; a failed commit rejects and SMTP answers 4xx.
 */
import { planDelivery } from './plan.js';
import type { DeliveryDeps, DeliveryOutcome, DeliveryPlan, DeliveryRequest, StoredCopy } from './delivery.types.js';

export { planDelivery } from './plan.js';
export type * from './delivery.types.js';

function storeCopies(deps: DeliveryDeps, req: DeliveryRequest, plan: DeliveryPlan): Promise<StoredCopy[]> {
  if (!plan.copies.length) return Promise.resolve([]);
  if ('prepared' in req.message) {
    return deps.store.commit(
      req.message.prepared,
      plan.copies.map((c) => ({ mailboxId: c.mailboxId, variant: c.variant, folder: c.folder })),
      { enforceQuota: false },
    );
  }
  return deps.store.ingest(
    req.message.raw,
    plan.copies.map((c) => ({ mailboxId: c.mailboxId, folder: c.folder, prefix: `Delivered-To: ${c.recipient}\r\n` })),
    { enforceQuota: false },
  );
}

/** After the commit and off the 250's path: a reply never delays or fails the delivery. */
function startAutoReplies(deps: DeliveryDeps, req: DeliveryRequest): void {
  const responder = deps.autoResponder;
  if (!responder || !req.autoReplyEligible) return;
  const meta = 'prepared' in req.message ? req.message.prepared.variants[0]?.meta : undefined;
  for (const rcpt of req.recipients) {
    responder
      .maybeReply({ address: rcpt.address, sender: req.sender, subject: meta?.subject ?? '', messageId: meta?.envelope.messageId ?? null, eligible: true })
      .catch((err: unknown) => deps.onAutoReplyError?.(err));
  }
}

export async function deliver(deps: DeliveryDeps, req: DeliveryRequest): Promise<DeliveryOutcome> {
  const plan = await planDelivery(deps, req);
  const stored = await storeCopies(deps, req, plan);
  const tenantOf = new Map(plan.copies.map((c) => [c.mailboxId, c.tenantId]));
  const delivered = stored.map((res, i) => ({ address: plan.copies[i]!.recipient, mailboxId: res.mailboxId, uid: res.uid }));
  deps.metrics.localDeliveries(stored.map((r) => tenantOf.get(r.mailboxId) ?? ''));
  await deps.forwards.markForwardsUsed(plan.usedForwards);
  startAutoReplies(deps, req);
  const relay: DeliveryOutcome['relay'] = [];
  for (const [domain, targets] of plan.relay) {
    relay.push({ sender: req.sender ? (await deps.srs()).forward(req.sender, domain) : '', recipients: [...targets] });
  }
  const skipped = plan.recipients.filter((r) => r.status === 'skipped').map((r) => r.address);
  return { delivered, skipped, relay, recipients: plan.recipients };
}
