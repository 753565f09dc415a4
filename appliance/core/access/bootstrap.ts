/**
 * The first operator. At boot, `bootstrapOperator`:
 * - with `config.bootstrapToken` set and no live operator token: creates an operator token
 *   whose secret is that value (audited);
 * - otherwise, while no live operator token exists: issues a one-time operator setup link
 *   (superseding earlier unused ones) and returns its URL for the caller to log.
 * POSTing `{name}` to the link (`completeOperatorSetup`) creates an operator token and
 * returns its secret once.
 * Whichever way the first operator comes into being, every other first-operator link is
 * revoked in the same transaction (audited): a link never outlives its purpose. A boot that
 * finds an operator already present revokes any link still open (an older boot's).
 * Operator tokens and operator setup links have no tenant: all of this runs in the platform
 * scope.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, makeActor, ROLES } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError } from '../kernel/errors.js';
import { newSecret } from '../kernel/ids.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { requiredText } from '../kernel/text.js';
import { trxOf } from '../../db/repos/index.js';
import { consumeSetupLink, findLiveSetupLink, issueSetupLink } from './setup-links.js';
import { type CreatedToken, insertApiToken, operatorTokenExists } from './tokens.service.js';
import { iso } from '../kernel/util.js';

export type BootstrapResult =
  | { action: 'none'; revokedLinks?: number }
  | { action: 'bootstrap-token-created'; tokenId: string; revokedLinks: number }
  | { action: 'setup-link-issued'; setupUrl: string; expiresAt: string; curl: string };

export function operatorSetupUrl(deps: CoreDeps, token: string): string {
  return `${deps.config.publicUrl}/api/v1/operator-setup/${token}`;
}

/** Call once at boot after migrations, with `systemActor('boot')`. */
export async function bootstrapOperator(actor: Actor, deps: CoreDeps): Promise<BootstrapResult> {
  if (actor.kind !== 'system') throw new AppError('Forbidden', 'bootstrap runs as the system actor');
  const now = deps.now();
  const r = repos(deps.db, PLATFORM_SCOPE);
  if (await operatorTokenExists(deps)) {
    const revokedLinks = await r.transaction((t) => revokeOperatorSetupLinks(trxOf(t), actor, now, 'an operator already exists'));
    return revokedLinks ? { action: 'none', revokedLinks } : { action: 'none' };
  }
  const secret = deps.config.bootstrapToken;
  if (secret) {
    const created = await r.transaction(async (t) => {
      const tokenId = await insertApiToken(trxOf(t), actor, { tenantId: null, name: 'bootstrap', secret, role: 'operator', permissions: ROLES.operator, readOnly: false, expiresAt: null }, now);
      const revokedLinks = await revokeOperatorSetupLinks(trxOf(t), actor, now, 'the first operator was created from POSTERN_BOOTSTRAP_TOKEN');
      return { tokenId, revokedLinks };
    });
    return { action: 'bootstrap-token-created', ...created };
  }
  const link = await r.transaction((t) => issueOperatorSetupLink(t, actor, deps, now));
  const setupUrl = operatorSetupUrl(deps, link.token);
  return {
    action: 'setup-link-issued',
    setupUrl,
    expiresAt: iso(link.expiresAt)!,
    curl: `curl --fail-with-body -sS -H 'content-type: application/json' -d '{"name":"first operator"}' ${setupUrl}`,
  };
}

/** Supersedes every unused operator setup link with a new one (audited). */
async function issueOperatorSetupLink(t: Repos, actor: Actor, deps: CoreDeps, now: number) {
  const superseded = await t.setupLinks.voidOperatorLinks(now);
  const issued = await issueSetupLink(trxOf(t), actor, deps, { purpose: 'operator-setup', mailboxId: null, tenantId: null, destination: 'boot-log' }, now);
  await appendAudit(
    trxOf(t),
    actor,
    {
      action: 'operator.setup_link.issue',
      targetType: 'setup_link',
      targetId: issued.id,
      tenantId: null,
      after: { expiresAt: iso(issued.expiresAt), supersededLinks: superseded },
    },
    now,
  );
  return issued;
}

/** Redeems an operator setup link: creates an operator token named `name` and returns its secret once. */
export async function completeOperatorSetup(actor: Actor, deps: CoreDeps, token: string, input: { name: string }): Promise<CreatedToken> {
  const link = await findLiveSetupLink(deps, token, 'operator-setup');
  const name = requiredText(input.name, 'name', { max: 100 });
  const linkActor = makeActor({ kind: 'public', tenantId: null, principalId: `setup-link:${link.id}`, permissions: [], origin: actor.origin });
  const secret = newSecret('pst');
  const now = deps.now();
  const id = await repos(deps.db, PLATFORM_SCOPE).transaction(async (t) => {
    const trx = trxOf(t);
    if (await t.tokens.liveOperatorTokenExists()) {
      // An operator came into being since this link was issued: the link has no purpose left.
      await revokeOperatorSetupLinks(trx, linkActor, now, 'an operator already exists');
      return null;
    }
    await consumeSetupLink(trx, link.id, now);
    await revokeOperatorSetupLinks(trx, linkActor, now, 'the first operator was created through another setup link');
    return insertApiToken(trx, linkActor, { tenantId: null, name, secret, role: 'operator', permissions: ROLES.operator, readOnly: false, expiresAt: null }, now);
  });
  if (id === null) throw new AppError('Gone', 'an operator already exists: this setup link was revoked; ask an operator for access');
  return { id, token: secret, name, permissions: [...ROLES.operator], readOnly: false, expiresAt: null };
}

/**
 * Revokes every operator setup link still open (unused and unexpired), inside the caller's
 * transaction: one audit event per link. Returns how many were revoked.
 */
export async function revokeOperatorSetupLinks(trx: Transaction<DB>, actor: Actor, now: number, reason: string): Promise<number> {
  const links = repos(trx, PLATFORM_SCOPE).setupLinks;
  const open = await links.openOperatorLinks(now);
  for (const link of open) {
    await links.consume(link.id, now);
    await appendAudit(
      trx,
      actor,
      {
        action: 'operator.setup_link.revoke',
        targetType: 'setup_link',
        targetId: link.id,
        tenantId: null,
        before: { expiresAt: iso(Number(link.expires_at)) },
        after: { revokedAt: iso(now) },
        reason,
      },
      now,
    );
  }
  return open.length;
}
