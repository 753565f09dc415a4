/**
 * The mailbox lifecycle, in one place: the statuses a mailbox can be in, the events that move
 * it, and which moves are allowed. Single operations, bulk batches, offboarding, the recycle
 * bin and resets all ask `planTransition` before they write, and cut access with the one
 * revocation call, `revokeMailboxAccess`.
 *
 *   (none) --create--> pending --activate--> active
 *   pending|active --suspend--> suspended --resume--> active (password set) | pending
 *   pending|active|suspended --offboard--> offboarded --share--> active (no password of its own)
 *   offboarded|active (shared) --reinstate--> (status before the offboarding)
 *   pending|active|suspended|offboarded --soft-delete--> deleted --restore--> (status before delete;
 *     none recorded: active with a password, pending without)
 *   deleted --purge--> (gone)
 *
 * The statuses are the `mailboxes.status` column's union (db/tables/status.ts); the writes
 * themselves are the mailboxes repository's (db/repos/mailboxes.ts: setStatus, softDelete,
 * restore, and the revocation statements).
 */
import type { Transaction } from 'kysely';
import { repos, Repos } from '../../db/repos/index.js';
import type { DB } from '../../db/schema.js';
import { MAILBOX_STATUSES, type MailboxStatus } from '../../db/tables/status.js';
import { AppError } from '../kernel/errors.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';

/** The statuses are the `mailboxes.status` column's union (db/tables/status.ts). */
export { MAILBOX_STATUSES, type MailboxStatus };

export const LIFECYCLE_EVENTS = ['create', 'activate', 'suspend', 'resume', 'offboard', 'share', 'reinstate', 'soft-delete', 'restore', 'purge'] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/** What a transition needs to know of the mailbox. */
export interface LifecycleState {
  status: string;
  /** Set once the owner chose a password (resume goes back to active, not pending). */
  password_hash?: string | null;
  /** Where a restore returns to. */
  status_before_delete?: string | null;
  /** Where undoing an offboarding returns to (recorded by its disable step). */
  status_before_offboard?: string | null;
}

interface Rule {
  from: readonly MailboxStatus[] | 'none';
  /** The status after the event; `purge` removes the row. */
  to: (m: LifecycleState) => MailboxStatus | 'gone';
  /** The event ends every access path (credential version, sessions; app passwords where the caller says). */
  revokes: boolean;
}

export const TRANSITIONS: Readonly<Record<LifecycleEvent, Rule>> = {
  create: { from: 'none', to: () => 'pending', revokes: false },
  activate: { from: ['pending'], to: () => 'active', revokes: false },
  suspend: { from: ['pending', 'active'], to: () => 'suspended', revokes: true },
  resume: { from: ['suspended'], to: (m: LifecycleState) => (m.password_hash ? 'active' : 'pending'), revokes: false },
  offboard: { from: ['pending', 'active', 'suspended'], to: () => 'offboarded', revokes: true },
  // An offboarded mailbox converted to a shared one: receives and is reachable again, with no password of its own.
  share: { from: ['offboarded'], to: () => 'active', revokes: false },
  // Undoing an offboarding (the mailbox may have been shared meanwhile): back to the status it had before.
  reinstate: { from: ['offboarded', 'active'], to: reinstatedStatus, revokes: false },
  'soft-delete': { from: ['pending', 'active', 'suspended', 'offboarded'], to: () => 'deleted', revokes: true },
  restore: { from: ['deleted'], to: restoredStatus, revokes: false },
  purge: { from: ['deleted'], to: () => 'gone', revokes: true },
};

/** Where a restore returns to: the status before the delete, or (none recorded) active with a password, pending without. */
function restoredStatus(m: LifecycleState): MailboxStatus {
  if (isMailboxStatus(m.status_before_delete) && m.status_before_delete !== 'deleted') return m.status_before_delete;
  return m.password_hash ? 'active' : 'pending';
}

/** Where undoing an offboarding returns to: the recorded status before it (never offboarded or deleted). */
function reinstatedStatus(m: LifecycleState): MailboxStatus {
  const s = m.status_before_offboard;
  if (isMailboxStatus(s) && s !== 'offboarded' && s !== 'deleted') return s;
  throw new AppError('Conflict', 'the status before the offboarding is not recorded');
}

export function isMailboxStatus(s: unknown): s is MailboxStatus {
  return typeof s === 'string' && (MAILBOX_STATUSES as readonly string[]).includes(s);
}

export interface PlannedTransition {
  event: LifecycleEvent;
  from: MailboxStatus | 'none';
  to: MailboxStatus | 'gone';
  revokes: boolean;
}

/** May `event` happen to a mailbox in this state? Returns the move, or throws Conflict naming both. */
export function planTransition(event: LifecycleEvent, m: LifecycleState | null): PlannedTransition {
  const rule = TRANSITIONS[event];
  if (rule.from === 'none') {
    if (m) throw new AppError('Conflict', 'the mailbox already exists', { status: m.status });
    return { event, from: 'none', to: rule.to({ status: 'none' }), revokes: rule.revokes };
  }
  if (!m) throw new AppError('NotFound', 'mailbox not found');
  if (!isMailboxStatus(m.status) || !rule.from.includes(m.status)) throw new AppError('Conflict', `a ${m.status} mailbox cannot be ${pastTense(event)}`, { status: m.status, event });
  return { event, from: m.status, to: rule.to(m), revokes: rule.revokes };
}

/** The status a planned transition leads to (every event but purge leads to one). */
export function statusAfter(p: PlannedTransition): MailboxStatus {
  if (p.to === 'gone') throw new AppError('Conflict', 'a purged mailbox has no status', { event: p.event });
  return p.to;
}

/** The status a planned transition leaves (every event but create starts from one). */
export function statusBefore(p: PlannedTransition): MailboxStatus {
  if (p.from === 'none') throw new AppError('Conflict', 'the mailbox does not exist yet', { event: p.event });
  return p.from;
}

/** Is the mailbox already where `event` would take it (idempotent operations answer without writing)? */
export function alreadyDone(event: LifecycleEvent, m: LifecycleState): boolean {
  if (event === 'suspend') return m.status === 'suspended';
  if (event === 'resume') return m.status === 'active' || m.status === 'pending';
  if (event === 'offboard') return m.status === 'offboarded';
  if (event === 'soft-delete') return m.status === 'deleted';
  return false;
}

function pastTense(event: LifecycleEvent): string {
  return {
    create: 'created',
    activate: 'activated',
    suspend: 'suspended',
    resume: 'resumed',
    offboard: 'offboarded',
    share: 'shared',
    reinstate: 'reinstated',
    'soft-delete': 'deleted',
    restore: 'restored',
    purge: 'purged',
  }[event];
}

export interface Revocation {
  appPasswordsRevoked: number;
  consoleSessionsRevoked: number;
}

/**
 * The one revocation call. Inside the use case's transaction: bumps the credential version (new
 * logins, cached verifications, open IMAP/SMTP sessions' `isCurrent` and console sessions fail
 * from the commit on), marks the mailbox's console sessions revoked and, when asked, its app
 * passwords. After the commit the caller runs `revoker.notifyRevoked` to close open sessions.
 *
 * Takes the use case's transaction (then with the platform scope, as before) or its
 * repositories (then in their scope).
 */
export async function revokeMailboxAccess(trx: Transaction<DB> | Repos, mailboxId: string, now: number, opts: { appPasswords: boolean }): Promise<Revocation> {
  const mailboxes = (trx instanceof Repos ? trx : repos(trx, PLATFORM_SCOPE)).mailboxes;
  await mailboxes.bumpCredentialVersion(mailboxId, now);
  const consoleSessionsRevoked = await mailboxes.revokeConsoleSessions(mailboxId, now);
  const apps = opts.appPasswords ? await mailboxes.revokeAppPasswords(mailboxId, now) : [];
  return { appPasswordsRevoked: apps.length, consoleSessionsRevoked };
}
