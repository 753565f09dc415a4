/**
 * The dry run of a bulk batch: every row validated against the tenant's current state, with
 * row numbers and reasons. Nothing is written. The same function runs again at apply time (the
 * state may have changed since the plan), with the approvals given then.
 *
 * Rules per row: required fields; a valid local part; the domain hosted by this tenant, a
 * primary domain, and verified (see dns-check.service.ts) unless an operator overrides; the
 * naming policy of the domain's template for personal (non-role) addresses; no duplicate in the
 * file nor against any existing address (addresses of every tenant and of the recycle bin stay
 * reserved); role accounts need explicit approval; the owner of record is mandatory and the
 * reset destination (default: the owner's email) passes the ownership rules of targets.ts;
 * quotas fit the tenant's pool, counted in row order.
 */
import { isRoleLocalPart, normalizeLocalPart, parseAddress } from '../kernel/addresses.js';
import { aliasList, type BulkRowInput, parseFlag, parseQuota } from './bulk.js';
import type { CoreDeps } from '../deps.js';
import { isAppError } from '../kernel/errors.js';
import { type Person, person } from '../mailboxes/mailboxes.service.js';
import { tenantQuota } from '../mailboxes/quota.js';
import type { Repos } from '../../db/repos/index.js';
import { assertSafeResetDestination } from '../mailboxes/targets.js';
import { effectiveDomainSettings } from '../templates/domain-settings.js';
import { namingViolation, type TemplateSettings } from '../templates/templates.js';
import { cleanName } from '../kernel/util.js';

export type RowReasonCode =
  | 'missing-field'
  | 'invalid-local-part'
  | 'domain-not-hosted'
  | 'domain-is-alias'
  | 'domain-not-verified'
  | 'naming-policy'
  | 'duplicate-in-file'
  | 'address-taken'
  | 'role-account'
  | 'owner-invalid'
  | 'business-owner-invalid'
  | 'reset-destination-refused'
  | 'invalid-display-name'
  | 'quota-invalid'
  | 'quota-pool'
  | 'invalid-role-flag'
  | 'alias-invalid';

export interface RowReason {
  code: RowReasonCode;
  message: string;
  field?: string;
}

export interface PlanItem {
  row: number;
  address: string;
  localPart: string;
  domainId: string;
  displayName: string | null;
  owner: Person;
  businessOwner: Person | null;
  resetDestination: string;
  quotaBytes: number;
  isRole: boolean;
  aliases: string[];
}

export interface Plan {
  create: PlanItem[];
  refused: Array<{ row: number; address: string | null; reasons: RowReason[] }>;
  needsApproval: Array<PlanItem & { reasons: RowReason[] }>;
  totals: { rows: number; create: number; refused: number; needsApproval: number; quotaBytes: number };
}

export interface PlanOptions {
  /** Operator override: accept domains whose verification is still pending. */
  allowUnverified: boolean;
  /** Rows whose role-account approval was given (apply time). */
  approvedRows?: ReadonlySet<number>;
}

interface TenantDomain {
  id: string;
  name: string;
  verification: string;
  aliasOf: string | null;
  settings: TemplateSettings;
}

/** A row being checked: its reasons so far and what it would create. */
interface Draft {
  row: number;
  reasons: RowReason[];
  item: Partial<PlanItem> & { address?: string };
  destinationRaw?: string;
  role: boolean;
}

type Add = (code: RowReasonCode, message: string, field?: string) => void;

export async function planRows(deps: CoreDeps, r: Repos, tenantId: string, rows: BulkRowInput[], opts: PlanOptions): Promise<Plan> {
  const domains = new Map<string, TenantDomain>();
  for (const d of await r.domains.activeOfTenant(tenantId)) {
    domains.set(d.name, { id: d.id, name: d.name, verification: d.verification, aliasOf: d.alias_of, settings: (await effectiveDomainSettings(deps, d.id)).settings });
  }
  // First pass: parse and check each row on its own.
  const drafts = rows.map((row, i) => draftRow(deps, row, i + 1, domains, opts));
  const addresses = markDuplicates(drafts);
  // Against existing addresses (every tenant, recycle bin included).
  const taken = await r.batches.takenAddresses(addresses);
  for (const d of drafts) {
    if (d.item.address && taken.has(d.item.address)) d.reasons.push({ code: 'address-taken', message: `${d.item.address} already exists`, field: 'localPart' });
    for (const a of d.item.aliases ?? []) if (taken.has(a)) d.reasons.push({ code: 'address-taken', message: `alias ${a} already exists`, field: 'aliases' });
  }
  await checkDestinations(deps, r, tenantId, drafts);
  return assemble(deps, tenantId, rows.length, drafts, opts);
}

/** Checks one row on its own: fields, local part, domain, naming policy, people, quota, aliases. */
function draftRow(deps: CoreDeps, r: BulkRowInput, row: number, domains: Map<string, TenantDomain>, opts: PlanOptions): Draft {
  const d: Draft = { row, reasons: [], item: {}, role: false };
  const add: Add = (code, message, field) => d.reasons.push({ code, message, ...(field ? { field } : {}) });
  for (const f of ['localPart', 'domain', 'ownerName', 'ownerEmail'] as const) {
    if (r[f] === undefined || String(r[f]).trim() === '') add('missing-field', `${f} is required`, f);
  }
  const { localPart, domain } = identityOf(r, domains, opts, add);
  const roleFlag = parseFlag(r.role);
  if (roleFlag === null) add('invalid-role-flag', 'role must be true or false (yes/no, 1/0)', 'role');
  d.role = roleFlag === true || (localPart !== null && isRoleLocalPart(localPart));
  if (localPart && domain && !d.role) {
    const why = namingViolation(localPart, domain.settings.namingPolicy);
    if (why) add('naming-policy', `${localPart} does not follow the naming policy of ${domain.name} (${domain.settings.namingPolicy.style}): ${why}`, 'localPart');
  }
  const { owner, businessOwner, displayName } = peopleOf(r, add);
  let quotaBytes = domain?.settings.defaultQuotaBytes ?? deps.config.defaultQuotaBytes;
  if (r.quota !== undefined) {
    const q = parseQuota(r.quota);
    if (q === null) add('quota-invalid', `quota "${r.quota}" is not a size (bytes, or 500M, 5G)`, 'quota');
    else quotaBytes = q;
  }
  const aliases = domain && localPart ? aliasesOf(r, localPart, domain, add) : [];
  const address = localPart && domain ? `${localPart}@${domain.name}` : undefined;
  d.item = { row, address, localPart: localPart ?? undefined, domainId: domain?.id, displayName, owner: owner ?? undefined, businessOwner, quotaBytes, isRole: d.role, aliases };
  d.destinationRaw = r.resetDestination !== undefined && String(r.resetDestination).trim() !== '' ? String(r.resetDestination) : owner?.email;
  return d;
}

/** The row's local part and domain (hosted by the tenant, primary, verified unless overridden). */
function identityOf(r: BulkRowInput, domains: Map<string, TenantDomain>, opts: PlanOptions, add: Add): { localPart: string | null; domain: TenantDomain | undefined } {
  let localPart: string | null = null;
  if (r.localPart !== undefined && String(r.localPart).trim() !== '') {
    try {
      localPart = normalizeLocalPart(String(r.localPart));
    } catch (err) {
      add('invalid-local-part', (err as Error).message, 'localPart');
    }
  }
  let domain: TenantDomain | undefined;
  if (r.domain !== undefined && String(r.domain).trim() !== '') {
    const name = String(r.domain).trim().toLowerCase().replace(/\.$/, '');
    domain = domains.get(name);
    if (!domain) add('domain-not-hosted', `${name} is not a domain of this tenant`, 'domain');
    else if (domain.aliasOf) add('domain-is-alias', `${name} is a domain alias; create the mailbox in its primary domain`, 'domain');
    else if (domain.verification !== 'verified' && !opts.allowUnverified)
      add('domain-not-verified', `${name} is not verified yet (run a DNS check once its MX and SPF records are published), or ask an operator to override`, 'domain');
  }
  return { localPart, domain };
}

/** The owner of record, the business owner and the display name. */
function peopleOf(r: BulkRowInput, add: Add): { owner: Person | null; businessOwner: Person | null; displayName: string | null } {
  let owner: Person | null = null;
  if (r.ownerName !== undefined && r.ownerEmail !== undefined) {
    try {
      owner = person({ name: String(r.ownerName), email: String(r.ownerEmail) }, 'owner');
    } catch (err) {
      add('owner-invalid', (err as Error).message, 'owner');
    }
  }
  let businessOwner: Person | null = null;
  if (r.businessOwnerName !== undefined || r.businessOwnerEmail !== undefined) {
    try {
      businessOwner = person({ name: String(r.businessOwnerName ?? ''), email: String(r.businessOwnerEmail ?? '') }, 'businessOwner');
    } catch (err) {
      add('business-owner-invalid', `business owner needs a name and an email: ${(err as Error).message}`, 'businessOwner');
    }
  }
  let displayName: string | null = null;
  if (r.displayName !== undefined) {
    displayName = cleanName(String(r.displayName), 200);
    if (displayName === null) add('invalid-display-name', 'displayName must be 1 to 200 characters', 'displayName');
  }
  return { owner, businessOwner, displayName };
}

/** The row's aliases as full addresses in its domain (the mailbox's own address left out). */
function aliasesOf(r: BulkRowInput, localPart: string, domain: TenantDomain, add: Add): string[] {
  const aliases: string[] = [];
  for (const a of aliasList(r.aliases)) {
    try {
      const full = a.includes('@') ? parseAddress(a, 'aliases').address : `${normalizeLocalPart(a, 'aliases')}@${domain.name}`;
      if (!full.endsWith(`@${domain.name}`)) add('alias-invalid', `alias ${a} must be in ${domain.name}`, 'aliases');
      else if (!aliases.includes(full) && full !== `${localPart}@${domain.name}`) aliases.push(full);
    } catch {
      add('alias-invalid', `alias "${a}" is not a valid local part or address`, 'aliases');
    }
  }
  return aliases;
}

/** Duplicates inside the file (mailbox and alias addresses share one namespace); returns every address used. */
function markDuplicates(drafts: Draft[]): string[] {
  const firstUse = new Map<string, number>();
  for (const d of drafts) {
    for (const [i, addr] of [d.item.address, ...(d.item.aliases ?? [])].entries()) {
      if (!addr) continue;
      const first = firstUse.get(addr);
      if (first !== undefined) d.reasons.push({ code: 'duplicate-in-file', message: `${addr} is already used by row ${first}`, field: i === 0 ? 'localPart' : 'aliases' });
      else firstUse.set(addr, d.row);
    }
  }
  return [...firstUse.keys()];
}

/** Reset destinations: the ownership rules; an address created by this batch is judged here. */
async function checkDestinations(deps: CoreDeps, r: Repos, tenantId: string, drafts: Draft[]): Promise<void> {
  const batchRows = new Map<string, Draft>();
  for (const d of drafts) if (d.item.address) batchRows.set(d.item.address, d);
  const hostedCache = new Map<string, boolean>();
  const isHosted = async (name: string) => {
    if (!hostedCache.has(name)) hostedCache.set(name, await r.domains.isHosted(name));
    return hostedCache.get(name)!;
  };
  for (const d of drafts) {
    if (!d.item.address || !d.destinationRaw) continue;
    const refuse = (why: string) => d.reasons.push({ code: 'reset-destination-refused', message: why, field: 'resetDestination' });
    let dest;
    try {
      dest = parseAddress(d.destinationRaw, 'resetDestination');
    } catch {
      refuse(`reset destination "${d.destinationRaw}" is not a valid email address`);
      continue;
    }
    if (dest.address === d.item.address) {
      refuse(`reset destination ${dest.address} refused: it is the mailbox itself; whoever controls the mailbox would control its reset`);
      continue;
    }
    if (isRoleLocalPart(dest.localPart)) {
      refuse(`reset destination ${dest.address} refused: it is a role or shared address; a reset destination must be read by one accountable person`);
      continue;
    }
    const inBatch = batchRows.get(dest.address);
    if (inBatch) {
      if (inBatch.role) refuse(`reset destination ${dest.address} refused: it is a role account (row ${inBatch.row})`);
      else if (inBatch.reasons.length) refuse(`reset destination ${dest.address} is created by row ${inBatch.row}, which is refused`);
      else d.item.resetDestination = dest.address;
      continue;
    }
    if (!(await isHosted(dest.domain))) {
      d.item.resetDestination = dest.address;
      continue;
    }
    try {
      d.item.resetDestination = await assertSafeResetDestination(deps.db, tenantId, d.item.address, dest.address);
    } catch (err) {
      if (!isAppError(err)) throw err;
      refuse(err.message);
    }
  }
}

/** Quota against the tenant pool, in row order, for the rows that would be created; then the plan. */
async function assemble(deps: CoreDeps, tenantId: string, rowCount: number, drafts: Draft[], opts: PlanOptions): Promise<Plan> {
  const pool = await tenantQuota(deps.db, tenantId);
  let allocated = pool.allocatedBytes;
  const plan: Plan = { create: [], refused: [], needsApproval: [], totals: { rows: rowCount, create: 0, refused: 0, needsApproval: 0, quotaBytes: 0 } };
  for (const d of drafts) {
    const q = d.item.quotaBytes ?? 0;
    if (!d.reasons.length && pool.poolBytes !== null && allocated + q > pool.poolBytes) {
      d.reasons.push({ code: 'quota-pool', message: `quota ${q} does not fit the tenant pool (${Math.max(0, pool.poolBytes - allocated)} of ${pool.poolBytes} bytes left)`, field: 'quota' });
    }
    if (d.reasons.length) {
      plan.refused.push({ row: d.row, address: d.item.address ?? null, reasons: d.reasons });
      continue;
    }
    allocated += q;
    const item = d.item as PlanItem;
    if (d.role && !opts.approvedRows?.has(d.row)) {
      plan.needsApproval.push({ ...item, reasons: [{ code: 'role-account', message: `${item.address} is a role or shared account: it needs explicit approval (approvedRows)` }] });
    } else {
      plan.create.push(item);
      plan.totals.quotaBytes += q;
    }
  }
  plan.totals.create = plan.create.length;
  plan.totals.refused = plan.refused.length;
  plan.totals.needsApproval = plan.needsApproval.length;
  return plan;
}
