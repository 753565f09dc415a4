/**
 * What the offboarding use cases share: the residual access paths, the person being offboarded,
 * the stored options of an applied offboarding, and how a use case finds its mailbox (in the
 * actor's scope) and then works in that mailbox's tenant scope only.
 */
import type { Mailbox } from '../../db/tables/control.table.js';
import type { OffboardingRow } from '../../db/tables/resets.table.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { type Actor, scopeOf } from '../kernel/authz.js';
import { tenantScope } from '../kernel/scope.js';
import type { CoreDeps } from '../deps.js';
import type { Person } from '../mailboxes/mailboxes.service.js';

export type ConvertTo = 'disabled' | 'shared' | 'alias';

export interface ResidualPath {
  kind:
    | 'login'
    | 'session'
    | 'console-session'
    | 'app-password'
    | 'setup-link'
    | 'reset'
    | 'principal'
    | 'api-token'
    | 'forward'
    | 'alias'
    | 'send-as'
    | 'reset-destination'
    | 'ownership'
    | 'catch-all'
    | 'membership';
  id: string;
  description: string;
}

export interface Ctx {
  /** Addresses of the person (lower-case). */
  identities: string[];
  /** true: the mailbox itself is the person's (not converted to shared or alias). */
  personal: boolean;
}

export interface StoredOptions {
  identities: string[];
  personal: boolean;
  successor: string | null;
  transferTo: Person | null;
  forwards: 'remove' | 'repoint';
  /** "Export before delete": when the export apply relied on was recorded (absent: not asked for). */
  exportedAt?: string | null;
}

export function storedOptions(o: OffboardingRow): StoredOptions {
  return JSON.parse(o.options) as StoredOptions;
}

export interface OffboardingPlan {
  mailboxId: string;
  address: string;
  identities: string[];
  paths: ResidualPath[];
  /** "Export before delete": the export to take first and the latest one recorded (plan only). */
  export?: ExportBeforeDelete;
}

/** How long an export counts as taken "before delete" by apply. */
export const EXPORT_FRESH_MS = 24 * 3600_000;

export interface ExportBeforeDelete {
  /** Whether the plan was asked for with exportBeforeDelete (apply then requires a fresh export). */
  requested: boolean;
  /** The call that downloads it (permission mailboxes.export). */
  url: string;
  lastExportAt: string | null;
}

/** The latest recorded export of the mailbox (audit event mailbox.export), epoch ms or null. */
export async function lastExportAt(r: Repos, m: Mailbox): Promise<number | null> {
  const events = await r.audit.ofTarget(m.tenant_id, 'mailbox', m.id, 200);
  const e = events.find((x) => x.action === 'mailbox.export');
  return e ? Number(e.at) : null;
}

/** A JSON array of addresses (alias targets, app password scopes), lower-cased; [] when unreadable. */
export function parseTargets(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase()) : [];
  } catch {
    return [];
  }
}

/**
 * The mailbox, found in the actor's scope (another tenant's is NotFound), and repositories
 * bound to that mailbox's tenant: everything the use case reads or writes afterwards is
 * filtered by the mailbox's tenant, platform actors included.
 */
export async function mailboxInScope(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<{ m: Mailbox; r: Repos }> {
  const m = await repos(deps.db, scopeOf(actor)).mailboxes.get(mailboxId);
  return { m, r: repos(deps.db, tenantScope(m.tenant_id)) };
}
