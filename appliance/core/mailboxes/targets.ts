/**
 * Where mail or a reset link may be pointed: alias targets, catch-all targets and reset
 * destinations. An address in a domain this appliance hosts must exist in the same tenant
 * (client domains are never stacked onto one another); the answer for another tenant's
 * address is the same as for one that does not exist.
 */
import { type Executor, repos, type Repos } from '../../db/repos/index.js';
import type { Alias, Mailbox } from '../../db/tables/control.table.js';
import { isRoleLocalPart, parseAddress } from '../kernel/addresses.js';
import { invalid } from '../kernel/errors.js';
import { tenantScope } from '../kernel/scope.js';
import { executorOf } from './unit.js';

export type ResolvedTarget = { kind: 'external'; address: string } | { kind: 'mailbox'; address: string; mailbox: Mailbox } | { kind: 'alias'; address: string; alias: Alias };

/** Classifies `raw` for a tenant; throws Invalid when it is a hosted address not of this tenant or not existing. */
export async function resolveTarget(db: Executor | Repos, tenantId: string, raw: string, field: string): Promise<ResolvedTarget> {
  const { address, localPart, domain } = parseAddress(raw, field);
  const r = repos(executorOf(db), tenantScope(tenantId));
  const hosted = await r.mailboxes.hostedDomain(domain);
  if (hosted === null) return { kind: 'external', address };
  if (hosted.tenantId === tenantId) {
    // An address of a domain alias is its primary domain's address.
    const primary = `${localPart}@${hosted.primaryName}`;
    const mailbox = await r.mailboxes.byAddress(primary);
    if (mailbox) return { kind: 'mailbox', address: primary, mailbox };
    const alias = await r.aliases.byAddress(primary);
    if (alias) return { kind: 'alias', address: primary, alias };
  }
  throw invalid(`${address} is not a mailbox or alias of this tenant`, { field, address });
}

/**
 * Refuses a reset destination that would hand the account to the wrong person: the mailbox
 * itself, a role or shared address, an offboarded or suspended mailbox, an address nobody
 * reads, or an alias that leads back into the mailbox. The message says why.
 */
export async function assertSafeResetDestination(db: Executor | Repos, tenantId: string, mailboxAddress: string, raw: string): Promise<string> {
  const field = 'resetDestination';
  const { address, localPart } = parseAddress(raw, field);
  const refuse = (why: string) => invalid(`reset destination ${address} refused: ${why}`, { field, address });
  if (address === mailboxAddress) throw refuse('it is the mailbox itself; whoever controls the mailbox would control its reset');
  if (isRoleLocalPart(localPart)) throw refuse('it is a role or shared address; a reset destination must be read by one accountable person');
  let target: ResolvedTarget;
  try {
    target = await resolveTarget(db, tenantId, address, field);
  } catch {
    throw refuse('it is in a domain hosted here but is not a mailbox or alias of this tenant; nobody would read it');
  }
  if (target.kind === 'mailbox') {
    const mb = target.mailbox;
    if (mb.address === mailboxAddress) throw refuse('it is the mailbox itself (through a domain alias)');
    if (mb.is_role) throw refuse('it is a role account');
    if (mb.status === 'offboarded' || mb.status === 'suspended') throw refuse(`that mailbox is ${mb.status}`);
  } else if (target.kind === 'alias') {
    const targets = JSON.parse(target.alias.targets) as string[];
    if (targets.includes(mailboxAddress)) throw refuse('it is an alias that forwards back into the mailbox');
    if (targets.length !== 1) throw refuse('it is an alias that fans out to several people (a shared address)');
  }
  return address;
}
