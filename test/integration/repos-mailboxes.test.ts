/**
 * The wall for mailboxes, aliases and the recycle bin: a tenant-scoped repository cannot read,
 * list or change another tenant's rows (they are simply not found), refuses to insert one, and
 * the platform scope sees every tenant. And the lifecycle: which moves `planTransition` allows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alreadyDone, type LifecycleEvent, planTransition, revokeMailboxAccess } from '../../appliance/core/mailboxes/lifecycle.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { PLATFORM_SCOPE, tenantScope } from '../../appliance/core/kernel/scope.js';
import { openTestDatabase } from '../helpers/database.js';
import { inTransaction, repos } from '../../appliance/db/repos/index.js';
import type { DB } from '../../appliance/db/schema.js';

let dir: string;
let db: Kysely<DB>;
let close: () => Promise<void> | void;
const now = 1_700_000_000_000;

/** Tenant tnt_<x> with domain dom_<x> (<x>.example), mailbox mbx_<x> (ann@) and alias als_<x> (info@ → ann@). */
async function seedTenant(x: string): Promise<void> {
  const t = `tnt_${x}`;
  await db
    .insertInto('tenants')
    .values({ id: t, name: `Tenant ${x}`, created_at: now, updated_at: now })
    .execute();
  await db
    .insertInto('domains')
    .values({ id: `dom_${x}`, tenant_id: t, name: `${x}.example`, created_at: now, updated_at: now })
    .execute();
  await repos(db, tenantScope(t)).mailboxes.insert({
    id: `mbx_${x}`,
    tenant_id: t,
    domain_id: `dom_${x}`,
    local_part: 'ann',
    address: `ann@${x}.example`,
    display_name: null,
    status: 'active',
    quota_bytes: 1000,
    password_hash: 'x',
    owner_name: 'Ann',
    owner_email: `ann@owner.example`,
    business_owner_name: null,
    business_owner_email: null,
    reset_destination: `ann@owner.example`,
    created_at: now,
    updated_at: now,
  });
  await repos(db, tenantScope(t)).aliases.insert({
    id: `als_${x}`,
    tenant_id: t,
    domain_id: `dom_${x}`,
    local_part: 'info',
    address: `info@${x}.example`,
    targets: [`ann@${x}.example`],
    created_by: null,
    created_at: now,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'postern-repos-'));
  const opened = await openTestDatabase(path.join(dir, 'postern.db'));
  db = opened.db;
  close = opened.close;
  await seedTenant('a');
  await seedTenant('b');
});

afterAll(async () => {
  await close();
  await rm(dir, { recursive: true, force: true });
});

const notFound = expect.objectContaining({ code: 'NotFound' });

describe('a tenant scope sees and changes its own tenant only', () => {
  const a = () => repos(db, tenantScope('tnt_a'));

  it('reads: another tenant’s mailbox, alias, domain and tenant are not found', async () => {
    await expect(a().mailboxes.get('mbx_a')).resolves.toMatchObject({ id: 'mbx_a' });
    await expect(a().mailboxes.get('mbx_b')).rejects.toEqual(notFound);
    expect(await a().mailboxes.byAddress('ann@b.example')).toBeUndefined();
    await expect(a().aliases.get('als_b')).rejects.toEqual(notFound);
    expect(await a().aliases.byAddress('info@b.example')).toBeUndefined();
    await expect(a().domains.get('dom_b')).rejects.toEqual(notFound);
    await expect(a().tenants.get('tnt_b')).rejects.toEqual(notFound);
    expect(await a().mailboxes.listInTenant('tnt_b', {}, { limit: 10 })).toEqual([]);
    expect(await a().aliases.listInTenant('tnt_b', {}, { limit: 10 })).toEqual([]);
    expect(await a().mailboxes.listInDomain('dom_b', { limit: 10 })).toEqual([]);
    expect(await a().recycleBin.domainAliasesOf('dom_b')).toEqual([]);
  });

  it('appliance-wide facts stay facts: an address taken elsewhere is taken, a hosted domain is hosted', async () => {
    expect(await a().mailboxes.addressTaken('ann@b.example')).toBe(true);
    expect(await a().mailboxes.hostedDomain('b.example')).toEqual({ tenantId: 'tnt_b', primaryName: 'b.example' });
  });

  it('writes: another tenant’s rows are untouched and an insert for it is refused', async () => {
    expect(await a().mailboxes.setStatus('mbx_b', 'active', 'suspended', now + 1)).toBe(false);
    expect(await a().mailboxes.softDelete('mbx_b', 'active', now + 1, now + 2, null)).toBe(false);
    expect(await a().mailboxes.updateSettings('mbx_b', now, { display_name: 'x' }, now + 1, true)).toBe(false);
    await a().aliases.update('als_b', { targets: ['evil@x.example'] }, now + 1);
    await a().aliases.delete('als_b');
    const revoked = await revokeMailboxAccess(a(), 'mbx_b', now + 1, { appPasswords: true });
    expect(revoked).toEqual({ appPasswordsRevoked: 0, consoleSessionsRevoked: 0 });
    const b = await repos(db, tenantScope('tnt_b')).mailboxes.get('mbx_b');
    expect(b).toMatchObject({ status: 'active', display_name: null, credential_version: 1, updated_at: now });
    expect(await repos(db, tenantScope('tnt_b')).aliases.get('als_b')).toMatchObject({ targets: JSON.stringify(['ann@b.example']) });
    await expect(
      a().aliases.insert({ id: 'als_x', tenant_id: 'tnt_b', domain_id: 'dom_b', local_part: 'x', address: 'x@b.example', targets: ['ann@b.example'], created_by: null, created_at: now }),
    ).rejects.toBeInstanceOf(AppError);
  });

  it('the platform scope sees every tenant, and a transaction keeps the scope', async () => {
    const all = repos(db, PLATFORM_SCOPE);
    expect((await all.mailboxes.get('mbx_b')).tenant_id).toBe('tnt_b');
    await inTransaction(db, tenantScope('tnt_a'), async (t) => {
      expect(t.scope.tenantId).toBe('tnt_a');
      await expect(t.mailboxes.get('mbx_b')).rejects.toEqual(notFound);
      expect(await t.mailboxes.setStatus('mbx_a', 'active', 'suspended', now + 5)).toBe(true);
      await revokeMailboxAccess(t, 'mbx_a', now + 5, { appPasswords: false });
    });
    expect(await all.mailboxes.get('mbx_a')).toMatchObject({ status: 'suspended', credential_version: 2 });
  });
});

describe('the lifecycle table', () => {
  const cases: Array<[LifecycleEvent, { status: string; password_hash?: string | null; status_before_delete?: string | null; status_before_offboard?: string | null } | null, string]> = [
    ['create', null, 'pending'],
    ['activate', { status: 'pending' }, 'active'],
    ['suspend', { status: 'active' }, 'suspended'],
    ['suspend', { status: 'pending' }, 'suspended'],
    ['resume', { status: 'suspended', password_hash: 'h' }, 'active'],
    ['resume', { status: 'suspended', password_hash: null }, 'pending'],
    ['offboard', { status: 'suspended' }, 'offboarded'],
    ['share', { status: 'offboarded' }, 'active'],
    ['reinstate', { status: 'offboarded', status_before_offboard: 'suspended' }, 'suspended'],
    ['reinstate', { status: 'active', status_before_offboard: 'pending' }, 'pending'],
    ['soft-delete', { status: 'offboarded' }, 'deleted'],
    ['restore', { status: 'deleted', status_before_delete: 'suspended' }, 'suspended'],
    ['restore', { status: 'deleted', status_before_delete: null, password_hash: 'h' }, 'active'],
    ['restore', { status: 'deleted', status_before_delete: null, password_hash: null }, 'pending'],
    ['purge', { status: 'deleted' }, 'gone'],
  ];
  it.each(cases)('%s from %j leads to %s', (event, m, to) => {
    expect(planTransition(event, m).to).toBe(to);
  });

  const refused: Array<[LifecycleEvent, string, string]> = [
    ['suspend', 'offboarded', 'a offboarded mailbox cannot be suspended'],
    ['resume', 'active', 'a active mailbox cannot be resumed'],
    ['restore', 'active', 'a active mailbox cannot be restored'],
    ['purge', 'active', 'a active mailbox cannot be purged'],
    ['soft-delete', 'deleted', 'a deleted mailbox cannot be deleted'],
    ['share', 'active', 'a active mailbox cannot be shared'],
    ['reinstate', 'suspended', 'a suspended mailbox cannot be reinstated'],
  ];
  it.each(refused)('%s of a %s mailbox is a Conflict', (event, status, message) => {
    expect(() => planTransition(event, { status })).toThrow(message);
  });

  it('create of an existing mailbox conflicts; other events of a missing one are NotFound; done moves are recognised', () => {
    expect(() => planTransition('create', { status: 'active' })).toThrow('the mailbox already exists');
    expect(() => planTransition('suspend', null)).toThrow('mailbox not found');
    expect(alreadyDone('suspend', { status: 'suspended' })).toBe(true);
    expect(alreadyDone('resume', { status: 'pending' })).toBe(true);
    expect(alreadyDone('suspend', { status: 'active' })).toBe(false);
    expect(() => planTransition('reinstate', { status: 'offboarded', status_before_offboard: null })).toThrow('the status before the offboarding is not recorded');
  });
});
