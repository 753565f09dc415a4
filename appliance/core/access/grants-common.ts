/**
 * What the grant use cases share: the view of a grant (names, not ids), input validation, the
 * audit state of a grant (before/after, which rollback reads back) and the write of a state.
 */
import type { MailboxGrantJoined } from '../../db/repos/grants.js';
import { type Repos } from '../../db/repos/index.js';
import { displayNames } from '../audit/audit.service.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { requiredText } from '../kernel/text.js';
import { iso } from '../kernel/util.js';
import { parseRights } from './grants-serving.js';
import { GRANT_RIGHTS, type GrantRight } from './grants.types.js';

export interface GrantView {
  id: string;
  mailboxId: string;
  /** The shared mailbox's address. */
  mailbox: string;
  memberMailboxId: string;
  /** The member mailbox's address. */
  member: string;
  rights: GrantRight[];
  seenPerMember: boolean;
  reason: string;
  /** Who granted or last changed it: a person's or token's name, or the owner's address. */
  grantedBy: string;
  grantedById: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  /** Whether members reach it now (unexpired, shared mailbox active or pending). */
  live: boolean;
}

/** A grant as the audit log records it (before/after); `access: null` means no grant. */
export type GrantAccessState = {
  grantId: string;
  rights: GrantRight[];
  seenPerMember: boolean;
  reason: string;
  expiresAt: string | null;
};

export type GrantAuditState = {
  memberMailboxId: string;
  member: string;
  access: GrantAccessState | null;
};

export const GRANT_ACTIONS = {
  grant: 'mailbox.access.grant',
  change: 'mailbox.access.change',
  revoke: 'mailbox.access.revoke',
  expire: 'mailbox.access.expire',
  rollback: 'mailbox.access.rollback',
} as const;

export function accessState(g: MailboxGrantJoined): GrantAccessState {
  return { grantId: g.id, rights: parseRights(g.rights), seenPerMember: Number(g.seen_per_member) === 1, reason: g.reason, expiresAt: iso(g.expires_at) };
}

export function auditState(memberMailboxId: string, member: string, g: MailboxGrantJoined | null): GrantAuditState {
  return { memberMailboxId, member, access: g ? accessState(g) : null };
}

/** Rights as given: a non-empty list of GRANT_RIGHTS; returned deduplicated in canonical order. */
export function validRights(raw: unknown): GrantRight[] {
  if (!Array.isArray(raw) || !raw.length) throw invalid(`rights must name at least one of ${GRANT_RIGHTS.join(', ')}`, { field: 'rights' });
  const unknown = raw.filter((r) => typeof r !== 'string' || !(GRANT_RIGHTS as readonly string[]).includes(r));
  if (unknown.length) throw invalid(`unknown rights: ${unknown.map(String).join(', ')} (known: ${GRANT_RIGHTS.join(', ')})`, { field: 'rights' });
  const set = new Set(raw as string[]);
  return GRANT_RIGHTS.filter((r) => set.has(r));
}

export function validReason(raw: string | undefined | null): string {
  if (!(raw ?? '').trim().length) throw invalid('reason is required', { field: 'reason' });
  return requiredText(raw, 'reason');
}

/** An optional expiry (ISO date-time) in the future; null: none. */
export function validExpiry(raw: string | null | undefined, now: number): number | null {
  if (raw === undefined || raw === null || raw === '') return null;
  const at = Date.parse(raw);
  if (!Number.isFinite(at)) throw invalid('expiresAt must be an ISO 8601 date-time', { field: 'expiresAt' });
  if (at <= now) throw invalid('expiresAt must be in the future', { field: 'expiresAt' });
  return at;
}

/** The display name of who granted: a person or token by name, a mailbox owner by address, a system job by its name. */
async function granterNames(deps: CoreDeps, rows: MailboxGrantJoined[]): Promise<Map<string, string>> {
  const ids = rows.map((g) => g.granted_by);
  const names = await displayNames(
    deps,
    ids.map((id) => (id.startsWith('mailbox:') ? id.slice('mailbox:'.length) : id)),
  );
  const out = new Map<string, string>();
  for (const id of ids) {
    const bare = id.startsWith('mailbox:') ? id.slice('mailbox:'.length) : id;
    const name = names.get(bare);
    out.set(id, name ? (id.startsWith('mailbox:') ? `${name} (owner)` : name) : id);
  }
  return out;
}

export async function grantViews(deps: CoreDeps, rows: MailboxGrantJoined[]): Promise<GrantView[]> {
  const names = await granterNames(deps, rows);
  const now = deps.now();
  return rows.map((g) => ({
    id: g.id,
    mailboxId: g.mailbox_id,
    mailbox: g.mailbox_address,
    memberMailboxId: g.member_mailbox_id,
    member: g.member_address,
    rights: parseRights(g.rights),
    seenPerMember: Number(g.seen_per_member) === 1,
    reason: g.reason,
    grantedBy: names.get(g.granted_by) ?? g.granted_by,
    grantedById: g.granted_by,
    createdAt: iso(g.created_at)!,
    updatedAt: iso(g.updated_at)!,
    expiresAt: iso(g.expires_at),
    lastUsedAt: iso(g.last_used_at),
    live: ['active', 'pending'].includes(g.mailbox_status) && (g.expires_at === null || Number(g.expires_at) > now),
  }));
}

export async function grantView(deps: CoreDeps, row: MailboxGrantJoined): Promise<GrantView> {
  return (await grantViews(deps, [row]))[0]!;
}

export interface GrantWrite {
  rights: GrantRight[];
  seenPerMember: boolean;
  reason: string;
  expiresAt: number | null;
}

/** Inserts a grant (both mailboxes of `tenantId`: the repository refuses otherwise with 404); returns its id. */
export async function insertGrant(t: Repos, by: string, tenantId: string, mailboxId: string, memberMailboxId: string, w: GrantWrite, now: number, id = newGrantId()): Promise<string> {
  if (mailboxId === memberMailboxId) throw invalid('a mailbox cannot be granted access to itself', { field: 'memberMailboxId' });
  if (await t.grants.find(mailboxId, memberMailboxId)) throw new AppError('AlreadyExists', 'this member already has access; change the grant instead');
  await t.grants.insert({
    id,
    tenant_id: tenantId,
    mailbox_id: mailboxId,
    member_mailbox_id: memberMailboxId,
    rights: w.rights.join(','),
    seen_per_member: w.seenPerMember ? 1 : 0,
    reason: w.reason,
    granted_by: by,
    created_at: now,
    updated_at: now,
    expires_at: w.expiresAt,
    last_used_at: null,
  });
  return id;
}

export function newGrantId(): string {
  return newId('grt');
}
