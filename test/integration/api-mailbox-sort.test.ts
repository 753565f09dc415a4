/** Issue 18: the mailbox lists' sort orders, paged with `after` (the last id of the previous page). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let tenantId: string;
let domainId: string;
const parts = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];

beforeAll(async () => {
  t = await createTestApp();
  ({ tenantId, domainId } = await provisionTenant(t, 'Sorted', 'sorted.example'));
  for (const p of parts) await provisionMailbox(t, domainId, p); // created in this order
});
afterAll(async () => t.close());

type Row = { id: string; address: string };

/** Every page of a list of two, following `after`. */
async function pages(base: string): Promise<string[]> {
  const out: string[] = [];
  let after = '';
  for (;;) {
    const res = await t.call<Row[]>('GET', `${base}${base.includes('?') ? '&' : '?'}limit=2${after ? `&after=${after}` : ''}`);
    expect(res.status).toBe(200);
    out.push(...res.body.map((m) => m.address.split('@')[0]!));
    if (res.body.length < 2) return out;
    after = res.body[res.body.length - 1]!.id;
  }
}

describe('mailbox list sort', () => {
  it('sorts by address both ways, page by page', async () => {
    expect(await pages(`/api/v1/tenants/${tenantId}/mailboxes?sort=address`)).toEqual([...parts].sort());
    expect(await pages(`/api/v1/tenants/${tenantId}/mailboxes?sort=-address`)).toEqual([...parts].sort().reverse());
    expect(await pages(`/api/v1/domains/${domainId}/mailboxes?sort=address`)).toEqual([...parts].sort());
  });

  it('sorts by creation time both ways, page by page', async () => {
    expect(await pages(`/api/v1/tenants/${tenantId}/mailboxes?sort=createdAt`)).toEqual(parts);
    expect(await pages(`/api/v1/tenants/${tenantId}/mailboxes?sort=-createdAt`)).toEqual([...parts].reverse());
  });

  it('combines with the filters, and refuses an unknown order', async () => {
    expect(await pages(`/api/v1/tenants/${tenantId}/mailboxes?sort=-address&q=ha`)).toEqual(['charlie', 'alpha']);
    expect((await t.call('GET', `/api/v1/tenants/${tenantId}/mailboxes?sort=password`)).status).toBe(400);
  });
});
