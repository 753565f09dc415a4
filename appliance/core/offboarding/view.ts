/** How an offboarding record is shown (its options, auto-reply, dates and steps), and reading the latest one. */
import type { OffboardingRow } from '../../db/tables/resets.table.js';
import type { Repos } from '../../db/repos/index.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import type { Person } from '../mailboxes/mailboxes.service.js';
import { iso } from '../kernel/util.js';
import { type ConvertTo, mailboxInScope, storedOptions } from './common.js';

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
  /** "Export before delete": the export apply relied on (null: not asked for). */
  exportedBeforeDelete: string | null;
  appliedBy: string;
  appliedAt: string;
  undoUntil: string;
  undoneAt: string | null;
  steps: Array<{ eventId: number; action: string }>;
}

export async function offboardingView(r: Repos, o: OffboardingRow): Promise<OffboardingView> {
  const opts = storedOptions(o);
  const events = await r.offboarding.stepEvents(JSON.parse(o.event_ids) as number[]);
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
    exportedBeforeDelete: opts.exportedAt ?? null,
    appliedBy: o.applied_by,
    appliedAt: iso(o.applied_at)!,
    undoUntil: iso(o.undo_until)!,
    undoneAt: iso(o.undone_at),
    steps: events.map((e) => ({ eventId: e.id, action: e.action })),
  };
}

/** The latest offboarding of the mailbox, or null when it was never offboarded. */
export async function getOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<OffboardingView | null> {
  authorize(actor, 'mailboxes.read');
  const { m, r } = await mailboxInScope(actor, deps, mailboxId);
  const o = await r.offboarding.latest(m.id);
  return o ? offboardingView(r, o) : null;
}
