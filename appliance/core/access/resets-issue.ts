/**
 * Issuing a reset link (inside the use case's transaction) and delivering it (after the commit):
 * shared by admin resets and approved emergency resets.
 */
import type { Mailbox } from '../../db/tables/control.table.js';
import type { ResetRow } from '../../db/tables/resets.table.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import type { Actor } from '../kernel/authz.js';
import { tenantScope } from '../kernel/scope.js';
import type { CoreDeps } from '../deps.js';
import type { AccessDeps, AccessPolicy } from './policies.js';
import { type Revocation, revokeMailboxAccess } from '../mailboxes/lifecycle.js';
import { type MailState, notifyOwners, resetLinkMessage, sendQuietly } from './resets-common.js';
import { type IssuedLink, issueSetupLink, setupUrl } from './setup-links.js';
import { iso } from '../kernel/util.js';
import { trxOf } from '../../db/repos/index.js';

export interface Issued {
  link: IssuedLink;
  revocation: Revocation | null;
}

/**
 * Issues the reset link inside the caller's transaction: supersedes older live reset links of
 * the mailbox, records the link on the reset, revokes access when `revokeNow`, audits reset.issue.
 */
export async function issue(t: Repos, actor: Actor, deps: CoreDeps, r: ResetRow, m: Mailbox, destination: string, policy: AccessPolicy, revokeNow: boolean, now: number): Promise<Issued> {
  const trx = trxOf(t);
  await t.resets.expireLiveResetLinks(m.id, now);
  await t.resets.cancelIssued(m.id);
  const link = await issueSetupLink(trx, actor, deps, { purpose: 'reset', mailboxId: m.id, tenantId: m.tenant_id, destination: r.delivery === 'email' ? destination : null }, now);
  const revocation = revokeNow ? await revokeMailboxAccess(trx, m.id, now, { appPasswords: policy.resetRevokesAppPasswords }) : null;
  await t.resets.markIssued(r.id, link.id, r.delivery === 'email' ? destination : null);
  await appendAudit(
    trx,
    actor,
    {
      action: 'reset.issue',
      targetType: 'mailbox',
      targetId: m.id,
      tenantId: m.tenant_id,
      after: {
        resetId: r.id,
        kind: r.kind,
        delivery: r.delivery,
        destination: r.delivery === 'email' ? destination : null,
        linkExpiresAt: iso(link.expiresAt),
        sessionsRevoked: revocation !== null,
        appCredentialsRevoked: revocation?.appPasswordsRevoked ?? 0,
      },
      reason: r.reason,
      approvalId: r.kind === 'emergency' ? r.id : null,
    },
    now,
  );
  return { link, revocation };
}

/** After the commit: close sessions, deliver the link by email (or note it was returned), tell the owners, audit reset.delivery. */
export async function deliver(actor: Actor, deps: AccessDeps, r: ResetRow, m: Mailbox, issued: Issued, destination: string): Promise<string> {
  if (issued.revocation) deps.revoker.notifyRevoked(m.id, `password reset issued (${r.kind})`);
  const url = setupUrl(deps, issued.link.token);
  let state: MailState | 'returned';
  if (r.delivery === 'email') {
    const msg = resetLinkMessage({ address: m.address, url, expiresAt: iso(issued.link.expiresAt)!, kind: r.kind });
    state = await sendQuietly(deps, destination, msg.subject, msg.text);
  } else {
    state = 'returned';
  }
  const notified = await notifyOwners(
    deps,
    m,
    `Password reset of ${m.address}`,
    [
      `A password reset (${r.kind}) of the mailbox ${m.address} was issued by ${actor.principalId}.`,
      r.reason ? `Reason given: ${r.reason}` : '',
      issued.revocation ? 'Open sessions were ended.' : '',
      r.delivery === 'email' ? `The single-use link went to ${destination}.` : 'The single-use link was handed to the administrator (tenant policy allows it).',
    ].filter(Boolean),
  );
  const now = deps.now();
  await repos(deps.db, tenantScope(m.tenant_id)).transaction(async (t) => {
    await t.resets.setDeliveryState(r.id, state);
    await appendAudit(
      trxOf(t),
      actor,
      {
        action: 'reset.delivery',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        after: { resetId: r.id, method: r.delivery, destination: r.delivery === 'email' ? destination : null, state, returnedTo: r.delivery === 'link' ? actor.principalId : null, notified },
        approvalId: r.kind === 'emergency' ? r.id : null,
      },
      now,
    );
  });
  return state;
}
