/**
 * DKIM keys rotate on the template's cadence: publish a successor, activate it only once DNS
 * (a real dnsmasq, checked through the DNS check) has its record, retire the old key after the
 * overlap. Time moves with the test app's clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { rotateDueDkimKeys } from '../../appliance/core/templates/dkim-rotation.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';
import { type DnsServer, startDnsServer } from '../helpers/dns.js';

const DAY = 86_400_000;

describe('DKIM rotation cadence', () => {
  let dns: DnsServer;
  let t: TestApp;
  let a: { tenantId: string; domainId: string; token: string };

  beforeAll(async () => {
    dns = await startDnsServer(['example'], []);
    t = await createTestApp({ env: { POSTERN_DNS_RESOLVER: dns.address } });
    a = await provisionTenant(t, 'Rotating Ltd', 'rotate.example');
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  const keys = async () => (await t.call('GET', `/api/v1/domains/${a.domainId}/dkim`, { token: a.token })).body as Array<{ id: string; selector: string; algorithm: string; status: string }>;
  const rotate = () => rotateDueDkimKeys(systemActor('dkim-rotation'), t.core);

  it('publishes successors at the cadence, activates them once DNS has them, retires the old keys after the overlap', async () => {
    const first = await keys();
    expect(first.map((k) => k.status).sort()).toEqual(['active', 'active']);
    expect(await rotate()).toEqual([]);

    t.advance(181 * DAY); // the platform default cadence is 180 days
    const published = await rotate();
    expect(published.map((s) => s.step)).toEqual(['published', 'published']);
    expect(await rotate()).toEqual([]); // a successor exists: nothing more until DNS has it

    t.advance(3 * DAY);
    expect(await rotate()).toEqual([]); // propagated in time, but no DNS check has seen it
    const expected = (await t.call('GET', `/api/v1/domains/${a.domainId}/dns`, { token: a.token })).body as Array<{ type: string; name: string; value: string }>;
    await dns.setRecords(expected.filter((r) => r.type === 'TXT').map((r) => ({ type: 'TXT' as const, name: r.name, value: r.value })));
    const check = await t.call('POST', `/api/v1/domains/${a.domainId}/dns/check`, { token: a.token });
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    const activated = await rotate();
    expect(activated.map((s) => s.step)).toEqual(['activated', 'activated']);
    const now = await keys();
    const newSelectors = published.map((s) => s.selector).sort();
    expect(
      now
        .filter((k) => k.status === 'active')
        .map((k) => k.selector)
        .sort(),
    ).toEqual(newSelectors);
    expect(
      now
        .filter((k) => k.status === 'published')
        .map((k) => k.selector)
        .sort(),
    ).toEqual(first.map((k) => k.selector).sort());

    t.advance(6 * DAY);
    expect(await rotate()).toEqual([]); // still in the overlap
    t.advance(2 * DAY);
    const retired = await rotate();
    expect(retired.map((s) => [s.step, s.selector]).sort()).toEqual(first.map((k) => ['retired', k.selector]).sort());
    expect(
      (await keys())
        .filter((k) => k.status !== 'retired')
        .map((k) => k.selector)
        .sort(),
    ).toEqual(newSelectors);
    const events = await t.call('GET', '/api/v1/audit/events?limit=500', { token: a.token });
    const actions = events.body.map((e: { action: string }) => e.action);
    for (const action of ['dkim.rotate', 'dkim.activate', 'dkim.retire']) expect(actions).toContain(action);
  });
});
