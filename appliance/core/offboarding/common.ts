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
    'login' | 'session' | 'console-session' | 'app-password' | 'setup-link' | 'reset' | 'principal' | 'api-token' | 'forward' | 'alias' | 'send-as' | 'reset-destination' | 'ownership' | 'catch-all';
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
}

export function storedOptions(o: OffboardingRow): StoredOptions {
  return JSON.parse(o.options) as StoredOptions;
}

export interface OffboardingPlan {
  mailboxId: string;
  address: string;
  identities: string[];
  paths: ResidualPath[];
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
