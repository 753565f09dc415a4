import { createPrivateKey, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let tenantId: string;
beforeAll(async () => {
  t = await createTestApp();
  tenantId = (await t.call('POST', '/api/v1/tenants', { body: { name: 'Domains Inc' } })).body.id;
});
afterAll(async () => t.close());

describe('POST /api/v1/tenants/{tenantId}/domains', () => {
  it('creates a domain: 201 {id, name}, lower-cased', async () => {
    const r = await t.call('POST', `/api/v1/tenants/${tenantId}/domains`, { body: { name: 'Example-Client.COM.' } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: expect.stringMatching(/^dom_/), name: 'example-client.com' });
    const row = await t.core.db.selectFrom('domains').selectAll().where('id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ tenant_id: tenantId, name: 'example-client.com', status: 'active', catch_all: null });
  });

  it('generates RSA-2048 and Ed25519 DKIM keys whose DNS p= matches the private key', async () => {
    const r = await t.call('POST', `/api/v1/tenants/${tenantId}/domains`, { body: { name: 'dkim.example' } });
    const keys = await t.core.db.selectFrom('dkim_keys').selectAll().where('domain_id', '=', r.body.id).orderBy('algorithm').execute();
    expect(keys.map((k) => k.algorithm)).toEqual(['ed25519-sha256', 'rsa-sha256']);
    const ym = new Date().toISOString().slice(0, 7).replace('-', '');
    for (const k of keys) {
      expect(k.private_key).toMatch(/^-----BEGIN (PRIVATE) KEY-----/); // PKCS8 PEM
      const pub = createPublicKey(createPrivateKey(k.private_key)).export({ type: 'spki', format: 'der' });
      if (k.algorithm === 'rsa-sha256') {
        expect(k.selector).toBe(`ps${ym}r`);
        expect(k.public_key).toBe(pub.toString('base64'));
        expect(createPrivateKey(k.private_key).asymmetricKeyDetails?.modulusLength).toBe(2048);
      } else {
        expect(k.selector).toBe(`ps${ym}e`);
        expect(k.public_key).toBe(pub.subarray(pub.length - 32).toString('base64'));
        expect(Buffer.from(k.public_key, 'base64')).toHaveLength(32);
      }
    }
  });

  it('GET /domains/{id}/dns returns MX, SPF, both DKIM selectors and DMARC', async () => {
    const d = await t.call('POST', `/api/v1/tenants/${tenantId}/domains`, { body: { name: 'records.example' } });
    const r = await t.call('GET', `/api/v1/domains/${d.body.id}/dns`);
    expect(r.status).toBe(200);
    const ym = new Date().toISOString().slice(0, 7).replace('-', '');
    const byName = (n: string) => r.body.filter((x: { name: string }) => x.name === n);
    expect(byName('records.example')).toEqual([
      { type: 'MX', name: 'records.example', value: 'mx.postern.test', priority: 10, unpublishable: expect.stringContaining('reserved .test domain') },
      { type: 'TXT', name: 'records.example', value: 'v=spf1 mx -all' },
    ]);
    expect(byName(`ps${ym}r._domainkey.records.example`)[0]).toMatchObject({ type: 'TXT', value: expect.stringMatching(/^v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]+$/) });
    expect(byName(`ps${ym}e._domainkey.records.example`)[0]).toMatchObject({ type: 'TXT', value: expect.stringMatching(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/) });
    expect(byName('_dmarc.records.example')).toEqual([{ type: 'TXT', name: '_dmarc.records.example', value: 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@records.example' }]);
    for (const rec of r.body)
      expect(
        Object.keys(rec)
          .filter((k) => k !== 'unpublishable')
          .sort(),
      ).toEqual(rec.type === 'MX' ? ['name', 'priority', 'type', 'value'] : ['name', 'type', 'value']);
  });

  it('409 when the domain is already hosted (by any tenant)', async () => {
    const other = (await t.call('POST', '/api/v1/tenants', { body: { name: 'Other Domains' } })).body.id;
    await t.call('POST', `/api/v1/tenants/${tenantId}/domains`, { body: { name: 'taken.example' } });
    const r = await t.call('POST', `/api/v1/tenants/${other}/domains`, { body: { name: 'TAKEN.example' } });
    expect(r.status).toBe(409);
  });

  it.each([['not a domain'], ['localhost'], ['-bad-.example'], ['1.2.3.4'], ['a..b.example']])('400 on invalid name %s', async (name) => {
    const r = await t.call('POST', `/api/v1/tenants/${tenantId}/domains`, { body: { name } });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/not a valid domain name/);
  });

  it('404 for an unknown tenant, and the domain list and read work', async () => {
    const r = await t.call('POST', `/api/v1/tenants/tnt_000000000000000000000000/domains`, { body: { name: 'orphan.example' } });
    expect(r.status).toBe(404);
    const list = await t.call('GET', `/api/v1/tenants/${tenantId}/domains`);
    expect(list.status).toBe(200);
    expect(list.body.map((d: { name: string }) => d.name)).toContain('records.example');
    const one = await t.call('GET', `/api/v1/domains/${list.body[0].id}`);
    expect(one.body).toMatchObject({ id: list.body[0].id, tenantId, verification: 'pending' });
  });

  it('never serializes private keys', async () => {
    const d = await t.call('POST', `/api/v1/tenants/${tenantId}/domains`, { body: { name: 'secret-free.example' } });
    const all = JSON.stringify([await t.call('GET', `/api/v1/domains/${d.body.id}`), await t.call('GET', `/api/v1/domains/${d.body.id}/dns`), await t.call('GET', '/api/v1/audit/events?limit=500')]);
    expect(all).not.toMatch(/PRIVATE KEY/);
  });
});
