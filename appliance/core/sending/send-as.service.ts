/**
 * Send-as grants: a mailbox may send as another address of its own tenant's domains (its own
 * address, +tags and the aliases that deliver to it need no grant). Audited in the transaction.
 */
import { repos } from '../../db/repos/index.js';
import { withCreatorNames } from '../audit/audit.service.js';
import type { CoreDeps } from '../deps.js';
import { parseAddress } from '../kernel/addresses.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { iso } from '../kernel/util.js';
import { audit, sendingId } from './common.js';

export interface SendAsView {
  id: string;
  mailboxId: string;
  address: string;
  createdBy: string;
  createdAt: string;
}

export async function listSendAs(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<SendAsView[]> {
  authorize(actor, 'mailboxes.read');
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.sending;
  const mailbox = await rAll.mailboxes.get(mailboxId);
  const rows = await r.sendAsGrantsOf(mailbox.id);
  return withCreatorNames(
    deps,
    rows.map((g) => ({ id: g.id, mailboxId: g.mailbox_id, address: g.address, createdBy: g.created_by, createdAt: iso(g.created_at)! })),
  );
}

export async function grantSendAs(actor: Actor, deps: CoreDeps, mailboxId: string, input: { address: string }): Promise<SendAsView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const mailbox = await r.mailboxes.get(mailboxId);
  const { address, domain } = parseAddress(input.address, 'address');
  if ((await r.sending.domainTenant(domain)) !== mailbox.tenant_id) throw invalid(`${address} is not in a domain of this tenant`, { field: 'address' });
  if (address === mailbox.address) throw invalid('a mailbox may always send as itself', { field: 'address' });
  const now = deps.now();
  const id = sendingId('sag');
  return r.transaction(async (t) => {
    if (await t.sending.hasSendAsGrant(mailbox.id, address)) throw new AppError('AlreadyExists', `${mailbox.address} may already send as ${address}`);
    await t.sending.insertSendAsGrant({ id, tenant_id: mailbox.tenant_id, mailbox_id: mailbox.id, address, created_by: actor.principalId, created_at: now });
    await audit(t, actor, { action: 'mailbox.send_as.grant', targetType: 'mailbox', targetId: mailbox.id, tenantId: mailbox.tenant_id, after: { grantId: id, address } }, now);
    return { id, mailboxId: mailbox.id, address, createdBy: actor.principalId, createdAt: iso(now)! };
  });
}

export async function revokeSendAs(actor: Actor, deps: CoreDeps, grantId: string): Promise<void> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const g = await r.sending.sendAsGrant(grantId);
  await r.mailboxes.get(g.mailbox_id); // a grant of a deleted mailbox is gone with it
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.sending.deleteSendAsGrant(g.id);
    await audit(t, actor, { action: 'mailbox.send_as.revoke', targetType: 'mailbox', targetId: g.mailbox_id, tenantId: g.tenant_id, before: { grantId: g.id, address: g.address } }, now);
  });
}
