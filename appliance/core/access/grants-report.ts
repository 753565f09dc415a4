/**
 * The sharing report of a tenant (issue 19): its shared mailboxes with their members, stale
 * grants (unused — last use, or creation when never used — for `staleDays`) and grants expiring
 * within `expiringDays`. Also the `access` list of the ownership answer.
 */
import { repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { invalid } from '../kernel/errors.js';
import { type GrantView, grantViews } from './grants-common.js';
import type { GrantRight } from './grants.types.js';

const DAY_MS = 86_400_000;

export interface SharedMailboxEntry {
  mailboxId: string;
  address: string;
  status: string;
  members: GrantView[];
}

export interface SharingReport {
  tenantId: string;
  staleDays: number;
  expiringDays: number;
  generatedAt: string;
  summary: { sharedMailboxes: number; grants: number; stale: number; expiring: number; sendAs: number };
  sharedMailboxes: SharedMailboxEntry[];
  stale: GrantView[];
  expiring: GrantView[];
}

function days(raw: number | undefined, fallback: number, field: string): number {
  const v = raw ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > 3650) throw invalid(`${field} must be an integer from 1 to 3650`, { field });
  return v;
}

export async function sharingReport(actor: Actor, deps: CoreDeps, tenantId: string, input: { staleDays?: number; expiringDays?: number } = {}): Promise<SharingReport> {
  authorize(actor, 'mailboxes.read');
  const staleDays = days(input.staleDays, 30, 'staleDays');
  const expiringDays = days(input.expiringDays, 14, 'expiringDays');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  const rows = await r.grants.ofTenant(tenant.id);
  const views = await grantViews(deps, rows);
  const now = deps.now();
  const byMailbox = new Map<string, SharedMailboxEntry>();
  rows.forEach((g, i) => {
    let e = byMailbox.get(g.mailbox_id);
    if (!e) byMailbox.set(g.mailbox_id, (e = { mailboxId: g.mailbox_id, address: g.mailbox_address, status: g.mailbox_status, members: [] }));
    e.members.push(views[i]!);
  });
  const stale = views.filter((_v, i) => Number(rows[i]!.last_used_at ?? rows[i]!.created_at) <= now - staleDays * DAY_MS);
  const expiring = views.filter((_v, i) => rows[i]!.expires_at !== null && Number(rows[i]!.expires_at) <= now + expiringDays * DAY_MS);
  return {
    tenantId: tenant.id,
    staleDays,
    expiringDays,
    generatedAt: new Date(now).toISOString(),
    summary: { sharedMailboxes: byMailbox.size, grants: views.length, stale: stale.length, expiring: expiring.length, sendAs: views.filter((v) => v.rights.includes('send')).length },
    sharedMailboxes: [...byMailbox.values()],
    stale,
    expiring,
  };
}

export interface OwnershipAccess {
  member: string;
  memberMailboxId: string;
  rights: GrantRight[];
  grantedBy: string;
  expiresAt: string | null;
  seenPerMember: boolean;
}

/** Everyone with access to a mailbox (for the ownership answer); the caller has authorized and found the mailbox. */
export async function accessOf(deps: CoreDeps, actor: Actor, mailboxId: string): Promise<OwnershipAccess[]> {
  const rows = await repos(deps.db, scopeOf(actor)).grants.ofMailbox(mailboxId);
  return (await grantViews(deps, rows)).map((g) => ({
    member: g.member,
    memberMailboxId: g.memberMailboxId,
    rights: g.rights,
    grantedBy: g.grantedBy,
    expiresAt: g.expiresAt,
    seenPerMember: g.seenPerMember,
  }));
}
