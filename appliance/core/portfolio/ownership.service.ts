/**
 * The ownership answer for one mailbox (CONTROL-MODEL principle 1), in one call: who owns it
 * (owner of record, business owner), who can reset it and through which path (reset paths and
 * who may trigger each), what changed last, and what the last changes can be rolled back to
 * (read from the audit events' `before`; POST …/rollback {eventId} applies one).
 */
import { displayNames } from '../audit/audit.service.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import { type Actor, authorize, isPermission, type Permission, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { restorableFrom } from '../mailboxes/mailbox-settings.service.js';
import { isHighValue, loadPolicy } from '../access/policies.js';
import { remainingRecoveryCodes } from '../access/recovery-codes.js';
import { APPROVAL_WINDOW_MS } from '../access/resets.service.js';
import { type Person } from '../mailboxes/mailboxes.service.js';
import { authWriteEpoch, repos } from '../../db/repos/index.js';
import type { OwnershipRepo } from '../../db/repos/ownership.js';
import { ALWAYS_REQUIRED } from '../mailboxes/role-addresses.js';
import { iso } from '../kernel/util.js';
import { EpochKept } from '../kernel/epoch-kept.js';
import { accessOf, type OwnershipAccess } from '../access/grants-report.js';

export interface ResetPath {
  path: 'setup-link' | 'admin-reset' | 'emergency-reset' | 'self-service' | 'recovery-code' | 'self-service-link' | 'app-password' | 'pending-emergency-reset';
  description: string;
  /** Who holds what the path needs: the link's issuer, the reset destination, the owner. */
  heldBy: { type: string; id: string | null };
  /** Where a reset link goes (admin and emergency resets). */
  destination?: string;
  /** Principals and tokens allowed to start this path. */
  whoMayTrigger?: string[];
  expiresAt?: string;
}

export interface RollbackPoint {
  eventId: number;
  event: string;
  at: string;
  actor: { type: string; id: string | null };
  description: string;
  restores: Record<string, unknown>;
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
  rollback: RollbackPoint[];
  /** Aliases of the tenant that deliver into this mailbox (required addresses such as postmaster@ among them). */
  receivesFor: Array<{ address: string; required: boolean }>;
  /** The people with access (shared-mailbox grants), next to the owner of record. */
  access: OwnershipAccess[];
  /** Display names of the actors above (token and person names, addresses). */
  names: Record<string, string>;
}

const ROLLBACK_DEPTH = 10;

function parsePermissions(json: string): Permission[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((p): p is Permission => typeof p === 'string' && isPermission(p)) : [];
  } catch {
    return [];
  }
}

type Holders = { tokens: Awaited<ReturnType<OwnershipRepo['unrevokedTokens']>>; principals: Awaited<ReturnType<OwnershipRepo['activePrincipals']>> };

/** Who may trigger the admin and the emergency reset paths of a tenant's mailboxes (holders of each permission). */
interface Triggers {
  initiate: string[];
  approve: string[];
}

/**
 * The tenant's triggers as read at an authentication write epoch (issue 18: the same two tenant
 * reads and JSON parses in every ownership answer). The rows are api_tokens and principals, whose
 * every write moves that epoch (SQLite, a single node; nothing is kept on PostgreSQL); the
 * answer also ends when the first of the tokens it saw expires (`until`).
 */
const keptTriggers = new EpochKept<Triggers & { until: number }>(authWriteEpoch, 1000);

/** Names of the live tokens and active principals of the tenant holding `permission` (operators always may). */
function holders({ tokens, principals }: Holders, permission: Permission, now: number): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    if (Number(t.read_only) === 1 || (t.expires_at !== null && Number(t.expires_at) <= now)) continue;
    if (parsePermissions(t.permissions).includes(permission)) out.push(`token:${t.name}`);
  }
  for (const p of principals) if (parsePermissions(p.permissions).includes(permission)) out.push(`tenant-admin:${p.email}`);
  out.push('operators');
  return out;
}

/** The tenant's live tokens and active principals holding the reset permissions, read once per write epoch. */
export async function resetTriggers(deps: CoreDeps, own: OwnershipRepo, tenantId: string, now: number): Promise<Triggers> {
  const read = async () => {
    const [tokens, principals] = await Promise.all([own.unrevokedTokens(tenantId), own.activePrincipals(tenantId)]);
    const who: Holders = { tokens, principals };
    let until = Infinity;
    for (const t of tokens) if (t.expires_at !== null && Number(t.expires_at) > now) until = Math.min(until, Number(t.expires_at));
    return { initiate: holders(who, 'resets.initiate', now), approve: holders(who, 'resets.approve', now), until };
  };
  return (await keptTriggers.get(deps.db, tenantId, read, { now, until: (t) => t.until }))!;
}

/** Live setup links: each is a path to the password, held by its destination or its issuer. */
async function setupLinkPaths(own: OwnershipRepo, m: Mailbox, now: number): Promise<ResetPath[]> {
  const links = await own.liveSetupLinks(m.id, now);
  return links.map((l) => ({
    path: 'setup-link' as const,
    description: l.destination ? `single-use link that sets the password, delivered to ${l.destination}` : 'single-use link that sets the password; returned once to its issuer',
    heldBy: l.destination ? { type: 'address', id: l.destination } : { type: 'principal', id: l.created_by },
    expiresAt: iso(l.expires_at)!,
  }));
}

/** Admin and emergency resets, and emergency resets awaiting approval. */
async function adminPaths(deps: CoreDeps, own: OwnershipRepo, m: Mailbox, now: number): Promise<ResetPath[]> {
  const paths: ResetPath[] = [];
  // independent reads in one turn (one message to a reader thread on SQLite, concurrent queries on PostgreSQL)
  const [policy, who, highValue, pending] = await Promise.all([
    loadPolicy(deps.db, m.tenant_id),
    resetTriggers(deps, own, m.tenant_id, now),
    isHighValue(deps.db, m.id),
    own.pendingEmergencyResets(m.id, now - APPROVAL_WINDOW_MS),
  ]);
  paths.push({
    path: 'admin-reset',
    description: `an admin triggers a single-use reset link sent to the reset destination${policy.resetLinkToCaller ? ' (or, by tenant policy, handed to the admin)' : ''}; the admin never sees or sets the password`,
    heldBy: { type: 'reset-destination', id: m.reset_destination },
    destination: m.reset_destination,
    whoMayTrigger: [...who.initiate],
  });
  const operatorOnly = highValue && policy.emergencyHighValueApprover === 'operator';
  paths.push({
    path: 'emergency-reset',
    description: `when the reset destination is lost: recorded identity verification and a second approver (never the requester${operatorOnly ? '; high-value: an operator' : ''}), link to a new validated destination`,
    heldBy: { type: 'approver', id: null },
    whoMayTrigger: operatorOnly ? ['operators'] : [...who.approve],
  });
  for (const r of pending) {
    paths.push({
      path: 'pending-emergency-reset',
      description: `emergency reset ${r.id} requested by ${r.requested_by}, awaiting approval; would send a link to ${r.new_destination}`,
      heldBy: { type: 'approver', id: null },
      destination: r.new_destination ?? undefined,
      expiresAt: iso(Number(r.requested_at) + APPROVAL_WINDOW_MS)!,
    });
  }
  return paths;
}

/** What the owner holds once a password is set: the password, recovery codes, the self-service link, app passwords. */
async function ownerPaths(deps: CoreDeps, own: OwnershipRepo, m: Mailbox): Promise<ResetPath[]> {
  if (!m.password_hash) return [];
  const paths: ResetPath[] = [
    { path: 'self-service', description: 'the owner changes the password with the current one', heldBy: { type: 'owner', id: m.owner_email }, whoMayTrigger: [`owner:${m.owner_email}`] },
  ];
  const [codes, appPasswords] = await Promise.all([remainingRecoveryCodes(deps, m.id), own.liveAppPasswords(m.id)]);
  if (codes > 0) {
    paths.push({
      path: 'recovery-code',
      description: `the owner sets a new password with one of ${codes} one-time recovery codes`,
      heldBy: { type: 'owner', id: m.owner_email },
      whoMayTrigger: [`owner:${m.owner_email}`],
    });
  }
  paths.push({
    path: 'self-service-link',
    description: 'anyone may ask for a single-use link; it goes only to the reset destination',
    heldBy: { type: 'reset-destination', id: m.reset_destination },
    destination: m.reset_destination,
  });
  for (const a of appPasswords) {
    paths.push({ path: 'app-password', description: `app password "${a.name}" (IMAP/SMTP only; cannot change the password)`, heldBy: { type: 'app-password', id: a.id } });
  }
  return paths;
}

async function resetPaths(deps: CoreDeps, own: OwnershipRepo, m: Mailbox, now: number): Promise<ResetPath[]> {
  const live = ['active', 'pending'].includes(m.status);
  const [paths, offboarded, admin, owner] = await Promise.all([setupLinkPaths(own, m, now), own.isOffboarded(m.id), live ? adminPaths(deps, own, m, now) : [], live ? ownerPaths(deps, own, m) : []]);
  // An offboarded mailbox (or one converted to shared) has no reset path until the offboarding is undone.
  if (offboarded || !live) return paths;
  return [...paths, ...admin, ...owner];
}

function describe(action: string, restores: Record<string, unknown>): string {
  const parts = Object.entries(restores).map(([k, v]) => `${k} = ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
  return `undo ${action}: ${parts.join(', ')}`;
}

export async function mailboxOwnership(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<OwnershipView> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const now = deps.now();
  // The parts of the answer are independent reads: asked together, in one turn
  const [events, paths, receivesFor, access] = await Promise.all([
    r.audit.ofTarget(m.tenant_id, 'mailbox', m.id, 50),
    resetPaths(deps, r.ownership, m, now),
    aliasesInto(r.ownership, m.tenant_id, m.address),
    accessOf(deps, actor, m.id),
  ]);
  // Logins and logouts are recorded on the mailbox too, but they change nothing.
  const last = events.find((e) => !/\.(login|logout)$/.test(e.action));
  const rollback: RollbackPoint[] = [];
  for (const e of events) {
    if (rollback.length >= ROLLBACK_DEPTH) break;
    let before: Record<string, unknown> | null = null;
    try {
      before = e.before ? (JSON.parse(e.before) as Record<string, unknown>) : null;
    } catch {
      before = null;
    }
    const restores = restorableFrom(before);
    if (!restores || e.action === 'mailbox.delete') continue;
    rollback.push({
      eventId: Number(e.id),
      event: e.action,
      at: iso(e.at)!,
      actor: { type: e.actor_type, id: e.actor_id },
      description: describe(e.action, restores),
      restores,
    });
  }
  return {
    mailboxId: m.id,
    address: m.address,
    status: m.status,
    owner: { name: m.owner_name, email: m.owner_email },
    businessOwner: m.business_owner_email ? { name: m.business_owner_name ?? '', email: m.business_owner_email } : null,
    resetDestination: m.reset_destination,
    resetPaths: paths,
    lastChange: last ? { event: last.action, actor: { type: last.actor_type, id: last.actor_id }, at: iso(last.at)! } : null,
    rollback,
    receivesFor,
    access,
    names: Object.fromEntries(await displayNames(deps, [last?.actor_id, ...rollback.map((r) => r.actor.id)])),
  };
}

/** The tenant's live aliases whose targets include `address`; required addresses flagged. */
async function aliasesInto(own: OwnershipRepo, tenantId: string, address: string): Promise<Array<{ address: string; required: boolean }>> {
  const rows = await own.aliasesMentioning(tenantId, address);
  const required = new Set<string>([...ALWAYS_REQUIRED, 'dmarc-reports']);
  return rows.filter((r) => (JSON.parse(r.targets) as string[]).includes(address)).map((r) => ({ address: r.address, required: required.has(r.local_part) }));
}
