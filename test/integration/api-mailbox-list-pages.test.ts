/**
 * Mailbox list pages are kept between requests (issue 18: core/mailboxes/list-pages.ts), and
 * every write to a mailbox or a tenant ends them at once: a new mailbox, a suspension, a
 * delivery's usage, raw SQL, a deleted tenant. A page kept for one tenant's request is never
 * answered to another tenant (404 as before), and each query keeps its own page. On PostgreSQL
 * (other nodes write too) nothing is kept.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dialectOf } from '../../appliance/db/dialect.js';
import { MailboxesRepo } from '../../appliance/db/repos/mailboxes.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: Awaited<ReturnType<typeof provisionTenant>>;
let b: Awaited<ReturnType<typeof provisionTenant>>;
let keeps: boolean;

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Pages A', 'pages-a.example');
  b = await provisionTenant(t, 'Pages B', 'pages-b.example');
  for (const local of ['alice', 'bob', 'carol']) await provisionMailbox(t, a.domainId, local);
  await provisionMailbox(t, b.domainId, 'dave');
  keeps = dialectOf(t.core.db) === 'sqlite';
}, 60_000);

afterAll(async () => {
  await t?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

interface View {
  id: string;
  address: string;
  status: string;
  usedBytes: number;
  messageCount: number;
}

const list = (tenantId: string, query = '', token?: string) => t.call<View[]>('GET', `/api/v1/tenants/${tenantId}/mailboxes${query}`, { token });

/** Page reads (the repository's list query) during `fn`. */
async function pageReads(fn: () => Promise<unknown>): Promise<number> {
  const spy = vi.spyOn(MailboxesRepo.prototype, 'viewsInTenant');
  try {
    await fn();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('kept mailbox list pages', () => {
  it('are read once and answered again, byte for byte, while nothing writes', async () => {
    const first = await list(a.tenantId);
    expect(first.status).toBe(200);
    expect(first.body.map((m) => m.address).sort()).toEqual(['alice@pages-a.example', 'bob@pages-a.example', 'carol@pages-a.example']);
    const again: string[] = [];
    const reads = await pageReads(async () => {
      for (let i = 0; i < 4; i++) {
        const r = await t.app.inject({ method: 'GET', url: `/api/v1/tenants/${a.tenantId}/mailboxes`, headers: { authorization: `Bearer ${t.operatorToken}` } });
        again.push(r.body);
      }
    });
    expect(reads).toBe(keeps ? 0 : 4);
    for (const body of again) expect(JSON.parse(body)).toEqual(first.body);
    // concurrent requests of one query share one read
    const shared = await pageReads(() => Promise.all([list(a.tenantId, '?limit=2'), list(a.tenantId, '?limit=2'), list(a.tenantId, '?limit=2')]));
    expect(shared).toBe(keeps ? 1 : 3);
  });

  it('answer the same bytes and headers as a page serialized as usual, and end with a write', async () => {
    const raw = () => t.app.inject({ method: 'GET', url: `/api/v1/tenants/${a.tenantId}/mailboxes?sort=address`, headers: { authorization: `Bearer ${t.operatorToken}` } });
    // the first answer of a kept page is serialized as usual, the later ones send its kept JSON text
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await raw());
    for (const r of answers) {
      expect(r.statusCode).toBe(200);
      expect(r.body).toBe(answers[0]!.body);
      expect(r.headers['content-type']).toBe(answers[0]!.headers['content-type']);
      expect(r.headers['content-length']).toBe(answers[0]!.headers['content-length']);
    }
    const alice = (JSON.parse(answers[0]!.body) as View[]).find((m) => m.address === 'alice@pages-a.example')!;
    await t.core.db.updateTable('mailboxes').set({ display_name: 'Alice Again' }).where('id', '=', alice.id).execute();
    for (let i = 0; i < 3; i++) expect((JSON.parse((await raw()).body) as Array<View & { displayName: string }>).find((m) => m.id === alice.id)?.displayName).toBe('Alice Again');
  });

  it('keep each query apart (filters, sort, page)', async () => {
    const all = (await list(a.tenantId)).body;
    const byAddress = (await list(a.tenantId, '?sort=-address')).body.map((m) => m.address);
    expect(byAddress).toEqual([...all.map((m) => m.address)].sort().reverse());
    expect((await list(a.tenantId, '?limit=1')).body).toHaveLength(1);
    expect((await list(a.tenantId, '?status=suspended')).body).toEqual([]);
    expect((await list(a.tenantId, '?q=carol')).body.map((m) => m.address)).toEqual(['carol@pages-a.example']);
    expect((await list(a.tenantId)).body).toEqual(all);
  });

  it('are never answered to another tenant', async () => {
    // tenant A's page kept (its own token, then the operator's); tenant B asks for it
    expect((await list(a.tenantId, '', a.token)).status).toBe(200);
    expect((await list(a.tenantId)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await list(a.tenantId, '', b.token)).status).toBe(404);
    const own = await list(b.tenantId, '', b.token);
    expect(own.body.map((m) => m.address)).toEqual(['dave@pages-b.example']);
    expect((await list(b.tenantId, '', a.token)).status).toBe(404);
  });

  it('end at once with a new mailbox, a suspension, a delivery and raw SQL', async () => {
    const before = (await list(a.tenantId)).body;
    const erin = await provisionMailbox(t, a.domainId, 'erin');
    const withErin = (await list(a.tenantId)).body;
    expect(withErin.map((m) => m.id)).toContain(erin.id);
    expect(withErin).toHaveLength(before.length + 1);

    expect((await list(a.tenantId, '?status=suspended')).body).toEqual([]);
    expect((await t.call('POST', `/api/v1/mailboxes/${erin.id}/suspend`, { body: { reason: 'list pages' } })).status).toBe(200);
    expect((await list(a.tenantId, '?status=suspended')).body.map((m) => m.id)).toEqual([erin.id]);
    expect((await list(a.tenantId)).body.find((m) => m.id === erin.id)?.status).toBe('suspended');

    // a delivery's usage, as the store writes it (an update of the row's counters)
    await t.core.db
      .updateTable('mailboxes')
      .set((eb) => ({ used_bytes: eb('used_bytes', '+', 4096), message_count: eb('message_count', '+', 1) }))
      .where('id', '=', erin.id)
      .execute();
    const delivered = (await list(a.tenantId)).body.find((m) => m.id === erin.id)!;
    expect([delivered.usedBytes, delivered.messageCount]).toEqual([4096, 1]);

    await sql`update mailboxes set display_name = ${'Raw Name'} where id = ${erin.id}`.execute(t.core.db);
    expect((await list(a.tenantId)).body.find((m) => m.id === erin.id)).toMatchObject({ displayName: 'Raw Name' });
  });

  it('end at once when the tenant is deleted', async () => {
    const doomed = await provisionTenant(t, 'Pages doomed', 'pages-doomed.example');
    await provisionMailbox(t, doomed.domainId, 'zed');
    for (let i = 0; i < 2; i++) expect((await list(doomed.tenantId)).status).toBe(200);
    await t.core.db.updateTable('tenants').set({ status: 'deleted' }).where('id', '=', doomed.tenantId).execute();
    expect((await list(doomed.tenantId)).status).toBe(404);
  });

  it('are not kept across a write committed while they are read', async () => {
    const carol = (await list(a.tenantId)).body.find((m) => m.address === 'carol@pages-a.example')!;
    // the write is issued while the page's reads are in flight (same turn of the event loop)
    const [during] = await Promise.all([list(a.tenantId), t.core.db.updateTable('mailboxes').set({ display_name: 'During' }).where('id', '=', carol.id).execute()]);
    expect(during.status).toBe(200);
    expect((await list(a.tenantId)).body.find((m) => m.id === carol.id)).toMatchObject({ displayName: 'During' });
  });
});
