/**
 * Migration 0019 gives domains created before the required addresses existed their
 * postmaster@, abuse@ and report address: to the tenant's contact, else the operator; an
 * address a mailbox or alias already holds is left alone; a domain alias gets none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { reconcileRequiredAddresses } from '../../appliance/core/mailboxes/role-addresses.js';
import { up as backfill } from '../../appliance/db/migrations/0019_role_address_backfill.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const targetsOf = async (address: string) => {
  const row = await t.core.db.selectFrom('aliases').select('targets').where('address', '=', address).where('status', '=', 'active').executeTakeFirst();
  return row ? (JSON.parse(row.targets) as string[]) : null;
};

describe('migration 0019', () => {
  it('backfills the required addresses of older domains', async () => {
    const a = await provisionTenant(t, 'Older', 'older.example');
    const b = await provisionTenant(t, 'No contact', 'nocontact.example');
    const alias = await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { body: { name: 'older-alias.example', aliasOf: a.domainId } });
    expect(alias.status).toBe(201);
    await t.call('POST', `/api/v1/tenants/${a.tenantId}/principals`, { body: { name: 'Contact', email: 'contact@older-home.example' } });
    // As before the feature: no required aliases; one domain has a real abuse@ mailbox.
    await t.core.db.deleteFrom('aliases').where('local_part', 'in', ['postmaster', 'abuse', 'dmarc-reports']).execute();
    await provisionMailbox(t, a.domainId, 'abuse');

    await backfill(t.core.db);
    expect(await targetsOf('postmaster@older.example')).toEqual(['contact@older-home.example']);
    expect(await targetsOf('dmarc-reports@older.example')).toEqual(['contact@older-home.example']);
    expect(await targetsOf('abuse@older.example')).toBeNull(); // the mailbox answers for it
    expect(await targetsOf('postmaster@older-alias.example')).toBeNull();
    // No contact and no operator with an address: left for the next template apply.
    expect(await targetsOf('postmaster@nocontact.example')).toBeNull();

    await t.call('POST', '/api/v1/principals', { body: { name: 'Operator', email: 'ops@platform.example' } });
    await backfill(t.core.db);
    expect(await targetsOf('postmaster@nocontact.example')).toEqual(['ops@platform.example']);
    expect(await targetsOf('postmaster@older.example')).toEqual(['contact@older-home.example']);
    const d = await t.call('GET', `/api/v1/domains/${b.domainId}`);
    expect(d.body.requiredAddresses.map((r: { kind: string }) => r.kind)).toEqual(['alias', 'alias', 'alias']);
  });

  it('what the migration made is audited at the next boot, once, by the system actor', async () => {
    const made = await t.core.db.selectFrom('aliases').select(['id', 'address']).where('created_by', '=', 'system:migration').execute();
    expect(made.length).toBeGreaterThan(0);
    const first = await reconcileRequiredAddresses(systemActor('boot'), t.core);
    expect(first.auditedBackfill).toBe(made.length);
    for (const a of made) {
      const events = await t.core.db.selectFrom('audit_events').select(['action', 'actor_type', 'actor_id', 'after', 'reason']).where('target_id', '=', a.id).execute();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ action: 'alias.create', actor_type: 'system', actor_id: 'boot' });
      expect(JSON.parse(events[0]!.after!)).toMatchObject({ address: a.address, required: true, createdBy: 'migration 0019_role_address_backfill' });
    }
    expect((await reconcileRequiredAddresses(systemActor('boot'), t.core)).auditedBackfill).toBe(0);
    const chain = await t.call('GET', '/api/v1/audit/verify');
    expect(chain.body.ok).toBe(true);
  });
});
