/**
 * A domain follows its template at run time: the template's password policy, external-forwarding
 * and catch-all policies and outbound limits apply; domains without a template keep the defaults.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainOutboundLimits } from '../../appliance/core/templates/domain-policy.js';
import { SendLimiter } from '../../appliance/core/sending/limits.js';
import { createLogger } from '../../appliance/logger.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

describe('template enforcement', () => {
  let t: TestApp;
  let a: { tenantId: string; domainId: string; token: string };
  let plainDomain: string;

  beforeAll(async () => {
    t = await createTestApp();
    a = await provisionTenant(t, 'Strict Ltd', 'strict.example');
    plainDomain = (await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: a.token, body: { name: 'plain.example' } })).body.id;
    await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { externalForwarding: true, reason: 'the tenant allows it' } });
    const tpl = await t.call('POST', `/api/v1/tenants/${a.tenantId}/templates`, {
      token: a.token,
      body: { name: 'Strict', settings: { passwordPolicy: { minLength: 20 }, externalForwarding: 'off', catchAll: 'off', outboundLimits: { messagesPerHour: 2, recipientsPerHour: 10 } } },
    });
    expect(tpl.status, JSON.stringify(tpl.body)).toBe(201);
    const applied = await t.call('POST', `/api/v1/domains/${a.domainId}/template`, { token: a.token, body: { templateId: tpl.body.id, reason: 'client standard' } });
    expect(applied.status, JSON.stringify(applied.body)).toBeLessThan(300);
  });
  afterAll(async () => t?.close());

  it("applies the template's password policy to setup links", async () => {
    const m = await provisionMailbox(t, a.domainId, 'pat', {}, a.token);
    const short = await t.call('POST', `/api/v1/setup/${m.setup.token}`, { token: null, body: { password: 'Sturdy-Passw0rd!' } });
    expect(short.status).toBe(400);
    expect(short.body.error.message).toMatch(/at least 20 characters/);
    expect((await t.call('POST', `/api/v1/setup/${m.setup.token}`, { token: null, body: { password: 'A-much-longer-Passw0rd-here' } })).status).toBe(204);
    const plain = await provisionMailbox(t, plainDomain, 'pia', {}, a.token);
    expect((await t.call('POST', `/api/v1/setup/${plain.setup.token}`, { token: null, body: { password: 'Sturdy-Passw0rd!' } })).status).toBe(204);
  });

  it('refuses external forwards and a catch-all where the template has them off, even when the tenant allows forwarding', async () => {
    const m = await provisionMailbox(t, a.domainId, 'fay', {}, a.token);
    const fwd = await t.call('POST', `/api/v1/mailboxes/${m.id}/forwards`, { token: a.token, body: { target: 'fay@home.example', reason: 'reads at home' } });
    expect(fwd.status).toBe(403);
    expect(fwd.body.error.message).toMatch(/template/);
    const internal = await t.call('POST', `/api/v1/mailboxes/${m.id}/forwards`, { token: a.token, body: { target: 'pat@strict.example' } });
    expect(internal.status).toBe(201);
    expect((await t.call('PUT', `/api/v1/domains/${a.domainId}/catch-all`, { token: a.token, body: { target: 'pat@strict.example' } })).status).toBe(403);
    const plain = await provisionMailbox(t, plainDomain, 'pol', {}, a.token);
    expect((await t.call('POST', `/api/v1/mailboxes/${plain.id}/forwards`, { token: a.token, body: { target: 'pol@home.example', reason: 'reads at home' } })).status).toBe(201);
  });

  it('limits outbound mail per mailbox by the template, below the appliance defaults', async () => {
    const m = await provisionMailbox(t, a.domainId, 'sam', {}, a.token);
    const limiter = new SendLimiter(t.core.db, createLogger('silent', { pretty: false }), { ...t.config.sendLimits });
    limiter.domainLimits = (domainId) => domainOutboundLimits(t.core.db, t.config, domainId);
    expect(await limiter.admit(m.id, a.tenantId, 1)).toEqual({ ok: true });
    expect(await limiter.admit(m.id, a.tenantId, 1)).toEqual({ ok: true });
    expect(await limiter.admit(m.id, a.tenantId, 1)).toMatchObject({ ok: false, reason: 'mailbox-rate' });
    const plain = await provisionMailbox(t, plainDomain, 'pam', {}, a.token);
    for (let i = 0; i < 5; i++) expect(await limiter.admit(plain.id, a.tenantId, 1)).toEqual({ ok: true });
  });
});
