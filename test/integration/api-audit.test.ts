import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
  const a = await provisionTenant(t, 'Audited', 'audited.example');
  await provisionMailbox(t, a.domainId, 'alice', {}, a.token);
  await t.call('PUT', `/api/v1/domains/${a.domainId}/catch-all`, { token: a.token, body: { target: 'alice@audited.example' } });
});
afterEach(async () => t.close());

const verify = () => t.call('GET', '/api/v1/audit/verify');

describe('audit log', () => {
  it('records every change with actor, target and request context, in order', async () => {
    const events = await t.call('GET', '/api/v1/audit/events?limit=500');
    expect(events.status).toBe(200);
    expect(events.body.map((e: { action: string }) => e.action)).toEqual([
      'token.create', // bootstrap operator token
      'tenant.create',
      'domain.create',
      'token.create',
      'mailbox.create',
      'domain.catch_all.set',
    ]);
    const mailboxCreate = events.body[4];
    expect(mailboxCreate).toMatchObject({
      actor: { type: 'token', id: expect.stringMatching(/^tok_/), tokenId: expect.stringMatching(/^tok_/) },
      target: { type: 'mailbox', id: expect.stringMatching(/^mbx_/) },
      requestId: expect.any(String),
      sourceIp: '127.0.0.1',
      userAgent: 'lightMyRequest',
    });
    expect(mailboxCreate.after).toMatchObject({ address: 'alice@audited.example', resetDestination: expect.any(String), credentialDelivery: 'link' });
    expect(events.body[0].actor).toEqual({ type: 'system', id: 'boot', tokenId: null });
  });

  it('never stores secrets', async () => {
    const rows = await t.core.db.selectFrom('audit_events').selectAll().execute();
    const text = JSON.stringify(rows);
    expect(text).not.toMatch(/psu_|pst_|PRIVATE KEY|scrypt\$/);
    expect(text).not.toContain(t.operatorToken);
  });

  it('GET /audit/verify: the chain verifies', async () => {
    const r = await verify();
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true, events: 6 });
  });

  it('detects an edited row at that event', async () => {
    await t.core.db.updateTable('audit_events').set({ after: '{"address":"mallory@audited.example"}' }).where('id', '=', 5).execute();
    expect((await verify()).body).toEqual({ ok: false, events: 4, firstBadEventId: 5 });
  });

  it('detects an edited row even when its hash is recomputed naively (the next link breaks)', async () => {
    const { auditHash } = await import('../../appliance/core/audit/audit.js');
    const row = await t.core.db.selectFrom('audit_events').selectAll().where('id', '=', 3).executeTakeFirstOrThrow();
    const { hash: _old, ...rest } = row;
    const forged = { ...rest, actor_id: 'someone-else' };
    await t.core.db
      .updateTable('audit_events')
      .set({ actor_id: 'someone-else', hash: auditHash(row.prev_hash, forged) })
      .where('id', '=', 3)
      .execute();
    expect((await verify()).body).toEqual({ ok: false, events: 3, firstBadEventId: 4 });
  });

  it('detects a deleted row in the middle', async () => {
    await t.core.db.deleteFrom('audit_events').where('id', '=', 2).execute();
    expect((await verify()).body).toMatchObject({ ok: false, firstBadEventId: 2 });
  });

  it('detects a deleted last row through the chain head', async () => {
    await t.core.db.deleteFrom('audit_events').where('id', '=', 6).execute();
    expect((await verify()).body).toEqual({ ok: false, events: 5, firstBadEventId: 6 });
  });

  it('an event rolls back with its change (head included): the chain still verifies', async () => {
    const { appendAudit } = await import('../../appliance/core/audit/audit.js');
    const { systemActor } = await import('../../appliance/core/kernel/authz.js');
    await expect(
      t.core.db.transaction().execute(async (trx) => {
        await trx.insertInto('tenants').values({ id: 'tnt_rollback', name: 'Rolled back', created_at: 1, updated_at: 1 }).execute();
        await appendAudit(trx, systemActor(), { action: 'tenant.create', targetType: 'tenant', targetId: 'tnt_rollback', tenantId: 'tnt_rollback' }, 1);
        throw new Error('later step failed');
      }),
    ).rejects.toThrow('later step failed');
    expect(await t.core.db.selectFrom('tenants').select('id').where('id', '=', 'tnt_rollback').executeTakeFirst()).toBeUndefined();
    expect((await verify()).body).toEqual({ ok: true, events: 6 });
    await sql`select 1`.execute(t.core.db);
  });

  it('stays one unbroken chain under concurrent writers', async () => {
    const tenantId = (await t.call('GET', '/api/v1/tenants')).body[0].id;
    const domainId = (await t.call('GET', `/api/v1/tenants/${tenantId}/domains`)).body[0].id;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.call('POST', `/api/v1/domains/${domainId}/mailboxes`, { body: { localPart: `burst${i}`, owner: { name: 'Owner', email: `owner${i}@home.example` }, credentialDelivery: 'link' } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect((await verify()).body).toEqual({ ok: true, events: 26 });
  });
});
