/**
 * The ownership answer for one mailbox (CONTROL-MODEL principle 1): who owns it, who can reset
 * it and how, what changed last. Reset paths list only the ways that exist today: live setup
 * links. The reset and rollback flows of the control-plane issue add their paths here.
 */
import { type Actor, authorize } from './authz.js';
import type { CoreDeps } from './deps.js';
import { type Person } from './mailboxes.service.js';
import { scopedRepo } from './repo.js';
import { iso } from './util.js';

export interface ResetPath {
  path: 'setup-link';
  description: string;
  /** Who holds the secret: the setup link was returned to the API caller that created the mailbox. */
  heldBy: { type: string; id: string | null };
  expiresAt: string;
}

export interface OwnershipView {
  mailboxId: string;
  address: string;
  status: string;
  owner: Person;
  businessOwner: Person | null;
  resetDestination: string;
  resetPaths: ResetPath[];
  lastChange: { event: string; actor: { type: string; id: string | null }; at: string } | null;
  rollback: Array<{ eventId: number; description: string }>;
}

export async function mailboxOwnership(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<OwnershipView> {
  authorize(actor, 'mailboxes.read');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const now = deps.now();
  const links = await deps.db
    .selectFrom('setup_tokens')
    .select(['id', 'created_by', 'expires_at'])
    .where('mailbox_id', '=', m.id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .execute();
  const last = await deps.db
    .selectFrom('audit_events')
    .select(['id', 'action', 'actor_type', 'actor_id', 'at'])
    .where('target_type', '=', 'mailbox')
    .where('target_id', '=', m.id)
    .where('tenant_id', '=', m.tenant_id)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return {
    mailboxId: m.id,
    address: m.address,
    status: m.status,
    owner: { name: m.owner_name, email: m.owner_email },
    businessOwner: m.business_owner_email ? { name: m.business_owner_name ?? '', email: m.business_owner_email } : null,
    resetDestination: m.reset_destination,
    resetPaths: links.map((l) => ({
      path: 'setup-link' as const,
      description: 'single-use link that sets the password; returned once to its issuer',
      heldBy: { type: 'principal', id: l.created_by },
      expiresAt: iso(l.expires_at)!,
    })),
    lastChange: last ? { event: last.action, actor: { type: last.actor_type, id: last.actor_id }, at: iso(last.at)! } : null,
    rollback: [],
  };
}
