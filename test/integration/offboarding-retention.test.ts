/** The retention date of an offboarding: past it, the mailbox goes to the recycle bin (audited). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { enforceRetention } from '../../appliance/core/mailboxes/retention.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

describe('offboarding retention', () => {
  let t: TestApp;
  let tenant: { tenantId: string; domainId: string; token: string };

  beforeAll(async () => {
    t = await createTestApp();
    tenant = await provisionTenant(t, 'Retention Ltd', 'retention.example');
  });
  afterAll(async () => t?.close());

  it('keeps the mailbox until the retention date, then moves it to the recycle bin', async () => {
    const leaver = await provisionMailbox(t, tenant.domainId, 'leaver', {}, tenant.token);
    const keeper = await provisionMailbox(t, tenant.domainId, 'keeper', {}, tenant.token);
    const retainUntil = new Date(Date.now() + 3 * 86_400_000).toISOString();
    for (const m of [leaver, keeper]) {
      const res = await t.call('POST', `/api/v1/mailboxes/${m.id}/offboarding/apply`, {
        token: tenant.token,
        body: { reason: 'left', convertTo: 'disabled', ...(m === leaver ? { retainUntil } : {}) },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    expect(await enforceRetention(systemActor('retention'), t.core)).toEqual([]);
    t.advance(3 * 86_400_000 + 60_000);
    expect(await enforceRetention(systemActor('retention'), t.core)).toEqual([leaver.id]);
    expect((await t.call('GET', `/api/v1/mailboxes/${leaver.id}`, { token: tenant.token })).status).toBe(404);
    const bin = await t.call('GET', `/api/v1/tenants/${tenant.tenantId}/recycle-bin`, { token: tenant.token });
    expect(bin.body.mailboxes.map((m: { id: string }) => m.id)).toContain(leaver.id);
    expect((await t.call('GET', `/api/v1/mailboxes/${keeper.id}`, { token: tenant.token })).body.status).toBe('offboarded');
    const events = await t.call('GET', '/api/v1/audit/events?limit=500', { token: tenant.token });
    expect(events.body.some((e: { action: string; reason: string | null }) => e.action === 'mailbox.delete' && e.reason === 'offboarding retention period ended')).toBe(true);
    expect(await enforceRetention(systemActor('retention'), t.core)).toEqual([]);
  });
});
