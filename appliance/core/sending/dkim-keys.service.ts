/**
 * DKIM key rotation of a domain: publish new keys (in DNS, not yet signing), activate one once
 * DNS has it (the previous signing key stays published until retired), retire old ones. The
 * MTA signs with the newest active key of each algorithm (sending.ts). Audited.
 */
import type { DkimKey } from '../../db/repos/sending.js';
import { repos } from '../../db/repos/index.js';
import type { Domain } from '../../db/tables/control.table.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError } from '../kernel/errors.js';
import { iso } from '../kernel/util.js';
import { generateEd25519DkimKey, generateRsaDkimKey } from '../templates/dkim.js';
import { audit, sendingId } from './common.js';

export interface DkimKeyView {
  id: string;
  domainId: string;
  selector: string;
  algorithm: string;
  status: string;
  dnsName: string;
  createdAt: string;
  retiredAt: string | null;
}

function dkimView(k: DkimKey, domainName: string): DkimKeyView {
  return {
    id: k.id,
    domainId: k.domain_id,
    selector: k.selector,
    algorithm: k.algorithm,
    status: k.status,
    dnsName: `${k.selector}._domainkey.${domainName}`,
    createdAt: iso(k.created_at)!,
    retiredAt: iso(k.retired_at),
  };
}

export async function listDkimKeys(actor: Actor, deps: CoreDeps, domainId: string): Promise<DkimKeyView[]> {
  authorize(actor, 'domains.read');
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.sending;
  const domain = await rAll.domains.get(domainId);
  return (await r.dkimKeysOf(domain.id)).map((k) => dkimView(k, domain.name));
}

/** Free selectors `ps<yyyymmddhhmm>[n]<suffix>` (suffix r: RSA, e: Ed25519), distinct from `taken`. */
function selectorPicker(now: number, taken: string[]): (suffix: string) => string {
  const existing = new Set(taken);
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 12); // yyyymmddhhmm
  return (suffix) => {
    let sel = `ps${stamp}${suffix}`;
    for (let i = 2; existing.has(sel); i++) sel = `ps${stamp}${i}${suffix}`;
    existing.add(sel);
    return sel;
  };
}

/** Publishes new keys (status "published": in DNS, not yet signing). Activate them once DNS has them. */
export async function rotateDkim(actor: Actor, deps: CoreDeps, domainId: string, input: { algorithms?: Array<'rsa-sha256' | 'ed25519-sha256'> }): Promise<DkimKeyView[]> {
  authorize(actor, 'domains.manage');
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  const algorithms = input.algorithms?.length ? [...new Set(input.algorithms)] : (['rsa-sha256', 'ed25519-sha256'] as const);
  const now = deps.now();
  const pick = selectorPicker(now, await r.sending.dkimSelectors(domain.id));
  // Keys are generated before the transaction: no CPU-heavy work while holding the writer.
  const material = await Promise.all(algorithms.map((a) => (a === 'rsa-sha256' ? generateRsaDkimKey(pick('r')) : generateEd25519DkimKey(pick('e')))));
  return r.transaction(async (t) => {
    const views: DkimKeyView[] = [];
    for (const m of material) {
      const row: DkimKey = {
        id: sendingId('dkm'),
        domain_id: domain.id,
        selector: m.selector,
        algorithm: m.algorithm,
        private_key: m.privateKeyPem,
        public_key: m.publicKey,
        status: 'published',
        created_at: now,
        retired_at: null,
      };
      await t.sending.insertDkimKey(domain, row);
      views.push(dkimView(row, domain.name));
    }
    await audit(
      t,
      actor,
      { action: 'dkim.rotate', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, after: { published: views.map((v) => ({ selector: v.selector, algorithm: v.algorithm })) } },
      now,
    );
    return views;
  });
}

async function dkimKeyInScope(actor: Actor, deps: CoreDeps, domainId: string, keyId: string): Promise<{ domain: Domain; key: DkimKey }> {
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.sending;
  const domain = await rAll.domains.get(domainId);
  return { domain, key: await r.dkimKey(domain.id, keyId) };
}

/** Makes a published key the signing key of its algorithm; the previous one stays published (valid) until retired. */
export async function activateDkimKey(actor: Actor, deps: CoreDeps, domainId: string, keyId: string): Promise<DkimKeyView[]> {
  authorize(actor, 'domains.manage');
  const { domain, key } = await dkimKeyInScope(actor, deps, domainId, keyId);
  if (key.status !== 'published') throw new AppError('Conflict', `only a published key can be activated (this one is ${key.status})`);
  const now = deps.now();
  await repos(deps.db, scopeOf(actor)).transaction(async (t) => {
    const previous = await t.sending.activeDkimKeys(domain.id, key.algorithm);
    await t.sending.setDkimStatus(
      previous.map((p) => p.id),
      'published',
    );
    await t.sending.setDkimStatus([key.id], 'active');
    await audit(
      t,
      actor,
      {
        action: 'dkim.activate',
        targetType: 'domain',
        targetId: domain.id,
        tenantId: domain.tenant_id,
        before: { active: previous.map((p) => p.selector) },
        after: { active: [key.selector], algorithm: key.algorithm },
      },
      now,
    );
  });
  return listDkimKeys(actor, deps, domain.id);
}

export async function retireDkimKey(actor: Actor, deps: CoreDeps, domainId: string, keyId: string): Promise<DkimKeyView[]> {
  authorize(actor, 'domains.manage');
  const { domain, key } = await dkimKeyInScope(actor, deps, domainId, keyId);
  if (key.status === 'active') throw new AppError('Conflict', 'the signing key cannot be retired; activate its successor first');
  if (key.status === 'retired') throw new AppError('Conflict', 'the key is already retired');
  const now = deps.now();
  await repos(deps.db, scopeOf(actor)).transaction(async (t) => {
    await t.sending.retireDkimKey(key.id, now);
    await audit(
      t,
      actor,
      {
        action: 'dkim.retire',
        targetType: 'domain',
        targetId: domain.id,
        tenantId: domain.tenant_id,
        before: { selector: key.selector, status: key.status },
        after: { selector: key.selector, status: 'retired' },
      },
      now,
    );
  });
  return listDkimKeys(actor, deps, domain.id);
}
