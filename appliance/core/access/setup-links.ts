/**
 * Single-use, expiring links: a mailbox owner's first password (mailbox-setup) and the first
 * operator's API token (operator-setup). Only the sha256 of the secret is stored; the secret
 * is returned once to whoever issued it.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { SetupToken } from '../../db/tables/control.table.js';
import type { Actor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { repos } from '../../db/repos/index.js';
import { AppError } from '../kernel/errors.js';
import { newId, newSecret, sha256Hex } from '../kernel/ids.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { writeScope } from './access-scope.js';

export type SetupPurpose = 'mailbox-setup' | 'operator-setup' | 'principal-setup' | 'reset';

export interface IssuedLink {
  id: string;
  token: string;
  expiresAt: number;
}

/** Creates a link inside the caller's transaction. */
export async function issueSetupLink(
  trx: Transaction<DB>,
  actor: Actor,
  deps: CoreDeps,
  input: { purpose: SetupPurpose; mailboxId: string | null; tenantId: string | null; destination: string | null; principalId?: string | null },
  now: number,
): Promise<IssuedLink> {
  const token = newSecret('psu');
  const id = newId('stp');
  const expiresAt = now + deps.config.setupTokenTtlHours * 3600_000;
  await repos(trx, writeScope(actor, input.tenantId)).setupLinks.insert({
    id,
    token_hash: sha256Hex(token),
    purpose: input.purpose,
    mailbox_id: input.mailboxId,
    tenant_id: input.tenantId,
    principal_id: input.principalId ?? null,
    destination: input.destination,
    expires_at: expiresAt,
    used_at: null,
    created_by: actor.principalId,
    created_at: now,
  });
  return { id, token, expiresAt };
}

/**
 * Finds a live link by its secret: NotFound when unknown (or of another purpose), Gone when
 * used or expired. Read-only; consume it with `consumeSetupLink` inside the use-case transaction.
 */
export async function findLiveSetupLink(deps: CoreDeps, token: string, purpose: SetupPurpose): Promise<SetupToken> {
  if (typeof token !== 'string' || token.length < 10 || token.length > 200) throw new AppError('NotFound', 'setup link not found');
  // The secret is the authority: the link is looked up across tenants.
  const row = await repos(deps.db, PLATFORM_SCOPE).setupLinks.byHash(sha256Hex(token));
  if (!row || row.purpose !== purpose) throw new AppError('NotFound', 'setup link not found');
  if (row.used_at !== null) throw new AppError('Gone', 'this setup link has already been used; ask your administrator for a new one');
  if (Number(row.expires_at) <= deps.now()) throw new AppError('Gone', 'this setup link has expired; ask your administrator for a new one');
  return row;
}

/** Marks the link used; Gone if another request consumed it first. */
export async function consumeSetupLink(trx: Transaction<DB>, id: string, now: number): Promise<void> {
  // The link was found by its secret (findLiveSetupLink): its id is the authority here.
  if (!(await repos(trx, PLATFORM_SCOPE).setupLinks.consume(id, now))) throw new AppError('Gone', 'this setup link has already been used; ask your administrator for a new one');
}

export function setupUrl(deps: CoreDeps, token: string): string {
  return `${deps.config.publicUrl}/setup/${token}`;
}
