/**
 * planDelivery: what one accepted message becomes for its envelope recipients. Each recipient
 * resolves through the router (mailbox, alias, catch-all, domain alias); each mailbox's live
 * forwards are followed (internal ones resolve again, external ones are relayed with SRS in the
 * mailbox's domain); a mailbox keeps its copy when it has no forward or one asks to keep a
 * copy; an alias's external targets relay in the alias's domain. A message that already passed
 * through an address (its Delivered-To) is not forwarded again from there (loops), and chains
 * stop after MAX_FORWARD_DEPTH hops. The plan reads only; deliver.ts carries it out.
 */
import type { DeliverableMailbox } from './routing.js';
import type { DeliveryDeps, DeliveryPlan, DeliveryRequest, RecipientOutcome } from './delivery.types.js';

const MAX_FORWARD_DEPTH = 5;

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

class Planner {
  private readonly plan: DeliveryPlan = { copies: [], relay: new Map(), usedForwards: [], recipients: [] };
  private readonly seen = new Set<string>();
  private readonly loopSeen: Set<string>;

  constructor(
    private readonly deps: Pick<DeliveryDeps, 'router' | 'forwards'>,
    private readonly req: Pick<DeliveryRequest, 'recipients' | 'junk' | 'deliveredTo'>,
  ) {
    this.loopSeen = new Set(req.deliveredTo.map((a) => a.toLowerCase()));
  }

  private relayFrom(domain: string, targets: Iterable<string>, outcome: RecipientOutcome): void {
    let set = this.plan.relay.get(domain);
    if (!set) this.plan.relay.set(domain, (set = new Set()));
    for (const t of targets) {
      set.add(t);
      if (!outcome.forwardedTo.includes(t)) outcome.forwardedTo.push(t);
    }
  }

  private async addMailbox(mailbox: DeliverableMailbox, variant: number, outcome: RecipientOutcome, depth: number): Promise<void> {
    if (this.seen.has(mailbox.id)) return;
    this.seen.add(mailbox.id);
    const looped = this.loopSeen.has(mailbox.address);
    if (looped) outcome.loops.push(mailbox.id);
    const forwards = depth < MAX_FORWARD_DEPTH && !looped ? await this.deps.forwards.forwards(mailbox.id) : [];
    if (!forwards.length || forwards.some((f) => f.keepCopy)) {
      this.plan.copies.push({ mailboxId: mailbox.id, tenantId: mailbox.tenantId, variant, folder: this.req.junk ? '\\Junk' : 'INBOX', recipient: outcome.address });
      outcome.mailboxIds.push(mailbox.id);
    }
    for (const f of forwards) {
      this.plan.usedForwards.push(f.id);
      if (f.external) {
        this.relayFrom(domainOf(mailbox.address), [f.target], outcome);
      } else {
        const r = await this.deps.router.resolve(f.target, undefined, { forDelivery: true });
        if (r.ok) for (const m of r.mailboxes) await this.addMailbox(m, variant, outcome, depth + 1);
      }
    }
  }

  async run(): Promise<DeliveryPlan> {
    for (const rcpt of this.req.recipients) {
      const outcome: RecipientOutcome = { address: rcpt.address, status: 'delivered', mailboxIds: [], forwardedTo: [], loops: [] };
      this.plan.recipients.push(outcome);
      const r = await this.deps.router.resolve(rcpt.address, undefined, { forDelivery: true });
      if (!r.ok) {
        outcome.status = 'skipped';
        continue;
      }
      for (const m of r.mailboxes) await this.addMailbox(m, rcpt.variant, outcome, 0);
      // An alias with external targets forwards: SRS in the alias's own domain.
      if (r.external.length && !this.loopSeen.has(rcpt.address.toLowerCase())) this.relayFrom(domainOf(rcpt.address).toLowerCase(), r.external, outcome);
    }
    return this.plan;
  }
}

/**
 * Resolves every recipient of an accepted message into the mailbox copies to store and the
 * external copies to relay. Recipients were accepted at RCPT: a mailbox that filled up or was
 * suspended since still gets its copy (an accepted message is never lost); one that vanished
 * is reported `skipped`.
 */
export function planDelivery(deps: Pick<DeliveryDeps, 'router' | 'forwards'>, req: Pick<DeliveryRequest, 'recipients' | 'junk' | 'deliveredTo'>): Promise<DeliveryPlan> {
  return new Planner(deps, req).run();
}
