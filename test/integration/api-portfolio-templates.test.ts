/**
 * Domain templates: versioned per tenant (and platform), applied to one domain or every domain
 * of a tenant (creating what is missing and recording the version), drift reported field by
 * field after manual changes, and fixed by re-applying; all audited; tenants isolated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
let b: { tenantId: string; domainId: string; token: string };
let second: string;
let templateId: string;

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Template Client', 'tpl-one.example');
  b = await provisionTenant(t, 'Other Tenant', 'tpl-other.example');
  second = (await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: a.token, body: { name: 'tpl-two.example' } })).body.id;
  await provisionMailbox(t, a.domainId, 'ops.desk', {}, a.token);
});
afterAll(async () => t?.close());

const status = async (domainId: string) => (await t.call('GET', `/api/v1/domains/${domainId}/template`, { token: a.token })).body;

describe('templates', () => {
  it('a domain without a template runs with the platform default (quarantine, catch-all off)', async () => {
    const s = await status(a.domainId);
    expect(s.template).toBeNull();
    expect(s.settings).toMatchObject({ catchAll: 'off', externalForwarding: 'off', dmarc: { policy: 'quarantine' }, dkim: { algorithms: ['ed25519-sha256', 'rsa-sha256'] } });
    const list = await t.call('GET', `/api/v1/tenants/${a.tenantId}/templates`, { token: a.token });
    expect(list.body[0]).toMatchObject({ id: 'tpl_platform_default', tenantId: null, latestVersion: 1 });
  });

  it('creates a versioned tenant template; invalid settings are refused', async () => {
    const bad = await t.call('POST', `/api/v1/tenants/${a.tenantId}/templates`, { token: a.token, body: { name: 'Bad', settings: { passwordPolicy: { minLength: 3 } } } });
    expect(bad.status).toBe(400);
    const res = await t.call('POST', `/api/v1/tenants/${a.tenantId}/templates`, {
      token: a.token,
      body: {
        name: 'Agency standard',
        settings: { defaultAliases: { target: 'ops.desk@tpl-one.example' }, defaultQuotaBytes: 2 * 1024 ** 3, namingPolicy: { style: 'first.last' } },
        note: 'onboarding 2026',
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    templateId = res.body.id;
    expect(res.body).toMatchObject({ tenantId: a.tenantId, latestVersion: 1, versions: [{ version: 1, note: 'onboarding 2026' }] });
    expect(res.body.versions[0].settings).toMatchObject({
      defaultQuotaBytes: 2 * 1024 ** 3,
      dmarc: { policy: 'quarantine', reportLocalPart: 'dmarc-reports' },
      defaultAliases: { localParts: ['postmaster', 'abuse', 'dmarc-reports'] },
    });
  });

  it('applies to every domain of the tenant: creates the default aliases, records the version, no drift', async () => {
    const res = await t.call('POST', `/api/v1/tenants/${a.tenantId}/template`, { token: a.token, body: { templateId, reason: 'onboarding' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toHaveLength(2);
    for (const r of res.body) {
      expect(r.template).toEqual({ id: templateId, version: 1 });
      expect(r.created.filter((c: string) => c.startsWith('alias '))).toHaveLength(3);
    }
    const alias = await t.core.db.selectFrom('aliases').select(['targets', 'status']).where('address', '=', 'postmaster@tpl-two.example').executeTakeFirstOrThrow();
    expect(alias).toEqual({ targets: JSON.stringify(['ops.desk@tpl-one.example']), status: 'active' });
    for (const d of [a.domainId, second]) {
      const s = await status(d);
      expect(s.template).toEqual({ id: templateId, version: 1 });
      expect(s.drift).toEqual([]);
    }
    const audit = await t.core.db.selectFrom('audit_events').select(['target_id']).where('action', '=', 'domain.template.apply').execute();
    expect(audit.map((e) => e.target_id).sort()).toEqual([a.domainId, second].sort());
  });

  it('reports drift field by field after manual changes, only for the changed domain', async () => {
    const patched = await t.call('PATCH', `/api/v1/domains/${a.domainId}/settings`, {
      token: a.token,
      body: { settings: { dmarc: { policy: 'none' }, externalForwarding: 'allowed', catchAll: 'allowed' }, reason: 'client asked' },
    });
    // The template has catch-alls off: setting one needs the domain's setting changed first (itself drift).
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((await t.call('PUT', `/api/v1/domains/${a.domainId}/catch-all`, { token: a.token, body: { target: 'ops.desk@tpl-one.example' } })).status).toBe(200);
    const pm = await t.core.db.selectFrom('aliases').select('id').where('address', '=', 'postmaster@tpl-one.example').executeTakeFirstOrThrow();
    const del = await t.call('DELETE', `/api/v1/aliases/${pm.id}`, { token: a.token });
    expect(del.status).toBe(204);

    const s = await status(a.domainId);
    const fields = Object.fromEntries(s.drift.map((d: { field: string; expected: unknown; actual: unknown }) => [d.field, [d.expected, d.actual]]));
    expect(fields).toEqual({
      'dmarc.policy': ['quarantine', 'none'],
      externalForwarding: ['off', 'allowed'],
      catchAll: ['off', 'allowed'],
      'catchAll.target': [null, 'ops.desk@tpl-one.example'],
      'aliases.postmaster': [['ops.desk@tpl-one.example'], null],
    });
    const report = await t.call('GET', `/api/v1/tenants/${a.tenantId}/template-drift?onlyDrifted=true`, { token: a.token });
    expect(report.body.map((r: { domainId: string }) => r.domainId)).toEqual([a.domainId]);
    // The DNS records follow the domain's settings: DMARC p=none now.
    const exp = await t.call('GET', `/api/v1/domains/${a.domainId}/dns/expected`, { token: a.token });
    expect(exp.body.records.find((r: { purpose: string }) => r.purpose === 'dmarc').value).toMatch(/p=none/);
  });

  it('re-applying fixes the drift, audited', async () => {
    const res = await t.call('POST', `/api/v1/domains/${a.domainId}/template`, { token: a.token, body: { templateId, reason: 'fix drift' } });
    expect(res.status).toBe(200);
    expect(res.body.fixed.map((f: { field: string }) => f.field).sort()).toEqual(['aliases.postmaster', 'catchAll', 'catchAll.target', 'dmarc.policy', 'externalForwarding']);
    expect(res.body.created).toEqual(expect.arrayContaining(['catch-all switched off']));
    expect((await status(a.domainId)).drift).toEqual([]);
    const dom = await t.call('GET', `/api/v1/domains/${a.domainId}`, { token: a.token });
    expect(dom.body.catchAll).toBeNull();
    const ev = await t.core.db
      .selectFrom('audit_events')
      .select(['before', 'reason'])
      .where('action', '=', 'domain.template.apply')
      .where('target_id', '=', a.domainId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(ev.reason).toBe('fix drift');
    expect(JSON.parse(ev.before!).drift).toHaveLength(5);
  });

  it('a new version is drift until applied; an older version can be restored by basing a version on it', async () => {
    const v2 = await t.call('POST', `/api/v1/templates/${templateId}/versions`, { token: a.token, body: { settings: { dmarc: { policy: 'reject' } }, note: 'stricter' } });
    expect(v2.status).toBe(201);
    expect(v2.body.latestVersion).toBe(2);
    expect((await status(a.domainId)).template).toEqual({ id: templateId, version: 1 });
    const applied = await t.call('POST', `/api/v1/domains/${a.domainId}/template`, { token: a.token, body: { templateId } });
    expect(applied.body.template).toEqual({ id: templateId, version: 2 });
    expect(applied.body.fixed).toEqual([{ field: 'dmarc.policy', expected: 'reject', actual: 'quarantine' }]);
    const v3 = await t.call('POST', `/api/v1/templates/${templateId}/versions`, { token: a.token, body: { basedOn: 1, note: 'back to v1' } });
    expect(v3.body.versions[2].settings.dmarc.policy).toBe('quarantine');
  });

  it('a missing DKIM algorithm is drift; re-applying publishes a key', async () => {
    await t.core.db.updateTable('dkim_keys').set({ status: 'retired' }).where('domain_id', '=', second).where('algorithm', '=', 'ed25519-sha256').execute();
    const s = await status(second);
    expect(s.drift).toEqual([{ field: 'dkim.keys.ed25519-sha256', expected: 'live', actual: 'missing' }]);
    const res = await t.call('POST', `/api/v1/domains/${second}/template`, { token: a.token, body: { templateId, version: 1 } });
    expect(res.body.created.some((c: string) => /^DKIM ed25519-sha256 \S+ \(published\)$/.test(c))).toBe(true);
    expect((await status(second)).drift).toEqual([]);
  });

  it('tenants are isolated; platform templates are made by operators and seen by every tenant', async () => {
    expect((await t.call('GET', `/api/v1/templates/${templateId}`, { token: b.token })).status).toBe(404);
    expect((await t.call('POST', `/api/v1/domains/${b.domainId}/template`, { token: b.token, body: { templateId } })).status).toBe(404);
    expect((await t.call('POST', '/api/v1/templates', { token: a.token, body: { name: 'mine' } })).status).toBe(403);
    const platform = await t.call('POST', '/api/v1/templates', { body: { name: 'Platform strict', settings: { dmarc: { policy: 'reject' } } } });
    expect(platform.status).toBe(201);
    const seen = await t.call('GET', `/api/v1/tenants/${b.tenantId}/templates`, { token: b.token });
    expect(seen.body.map((x: { id: string }) => x.id)).toEqual(['tpl_platform_default', platform.body.id]);
    expect((await t.call('POST', `/api/v1/templates/${platform.body.id}/versions`, { token: b.token, body: { note: 'x' } })).status).toBe(403);
    const applied = await t.call('POST', `/api/v1/domains/${b.domainId}/template`, { token: b.token, body: { templateId: platform.body.id } });
    expect(applied.status).toBe(200);
  });
});
