import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('health', () => {
  it('GET /healthz is 200 without a token', async () => {
    t = await createTestApp();
    const r = await t.call('GET', '/healthz', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 when every component is ok (real database check)', async () => {
    t = await createTestApp();
    const r = await t.call('GET', '/readyz', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ready', failing: [], components: { database: { ok: true } } });
  });

  it('GET /readyz is 503 naming the failing components', async () => {
    let mtaUp = false;
    t = await createTestApp({
      health: () => async () => ({ database: { ok: true }, mta: mtaUp ? { ok: true } : { ok: false, detail: 'no listener on 127.0.0.1:2525' }, store: { ok: true } }),
    });
    const down = await t.call('GET', '/readyz', { token: null });
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', failing: ['mta'], components: { mta: { ok: false, detail: 'no listener on 127.0.0.1:2525' } } });
    mtaUp = true;
    expect((await t.call('GET', '/readyz', { token: null })).status).toBe(200);
  });

  it('GET /readyz is 503 when the health check itself throws', async () => {
    t = await createTestApp({
      health: () => async () => {
        throw new Error('boom');
      },
    });
    const r = await t.call('GET', '/readyz', { token: null });
    expect(r.status).toBe(503);
    expect(r.body.failing).toEqual(['health']);
  });
});
