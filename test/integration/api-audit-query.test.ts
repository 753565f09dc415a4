/**
 * Audit queries and exports: filters by tenant, actor, target, action (or prefix) and time
 * range; JSON lines and CSV exports carry the chain hashes; tenant actors see their tenant only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
let b: { tenantId: string; domainId: string; token: string };
let mailboxId: string;
let t0: number;
let t1: number;

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Query A', 'query-a.example');
  b = await provisionTenant(t, 'Query B', 'query-b.example');
  t0 = t.core.now();
  t.advance(60_000);
  mailboxId = (await provisionMailbox(t, a.domainId, 'queried', {}, a.token)).id;
  await t.call('POST', `/api/v1/mailboxes/${mailboxId}/suspend`, { token: a.token, body: { reason: 'query, "quoted", =cmd' } });
  t1 = t.core.now();
  t.advance(60_000);
  await t.call('POST', `/api/v1/mailboxes/${mailboxId}/resume`, { token: a.token });
  await provisionMailbox(t, b.domainId, 'other', {}, b.token);
});
afterAll(async () => t.close());

const events = async (q: string, token?: string) => (await t.call('GET', `/api/v1/audit/events${q}`, { token })).body as Array<{ id: number; action: string; tenantId: string; actor: { id: string } }>;

describe('GET /api/v1/audit/events filters', () => {
  it('filters by action, action prefix, target, actor and time range', async () => {
    expect((await events(`?action=mailbox.suspend`)).map((e) => e.action)).toEqual(['mailbox.suspend']);
    expect((await events(`?action=mailbox.*&tenantId=${a.tenantId}`)).map((e) => e.action)).toEqual(['mailbox.create', 'mailbox.suspend', 'mailbox.resume']);
    expect((await events(`?targetType=mailbox&targetId=${mailboxId}`)).length).toBe(3);
    const tokenId = (await events(`?action=mailbox.suspend`))[0]!.actor.id;
    expect((await events(`?actorId=${tokenId}`)).every((e) => e.actor.id === tokenId)).toBe(true);
    expect((await events(`?actorType=system`)).map((e) => e.action)).toEqual(['token.create']);
    const window = await events(`?since=${new Date(t0 + 1).toISOString()}&until=${new Date(t1 + 1).toISOString()}&tenantId=${a.tenantId}`);
    expect(window.map((e) => e.action)).toEqual(['mailbox.create', 'mailbox.suspend']);
    expect((await t.call('GET', '/api/v1/audit/events?since=yesterday')).status).toBe(400);
  });

  it('a tenant actor sees only its tenant, whatever it asks for', async () => {
    const mine = await events('?action=mailbox.*', b.token);
    expect(mine.map((e) => e.tenantId)).toEqual([b.tenantId]);
    expect(await events(`?tenantId=${a.tenantId}`, b.token)).toEqual([]);
  });
});

describe('GET /api/v1/audit/export', () => {
  it('exports JSON lines with the chain hashes', async () => {
    const r = await t.app.inject({ method: 'GET', url: `/api/v1/audit/export?tenantId=${a.tenantId}`, headers: { authorization: `Bearer ${t.operatorToken}` } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/x-ndjson/);
    expect(r.headers['content-disposition']).toMatch(/attachment; filename="postern-audit-.*\.jsonl"/);
    const lines = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(Number(r.headers['x-audit-events'])).toBe(lines.length);
    expect(lines.every((l) => l.tenantId === a.tenantId && /^[0-9a-f]{64}$/.test(l.hash) && /^[0-9a-f]{64}$/.test(l.prevHash))).toBe(true);
    expect(lines.map((l) => l.action)).toContain('mailbox.suspend');
  });

  it('exports CSV with quoting and neutralized formulas, and a tenant token gets its tenant only', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/v1/audit/export?format=csv&action=mailbox.suspend', headers: { authorization: `Bearer ${a.token}` } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/csv/);
    const [header, row, ...rest] = r.body.trim().split('\n');
    expect(rest).toEqual([]);
    expect(header).toBe('id,at,tenant_id,actor_type,actor_id,token_id,source_ip,user_agent,action,target_type,target_id,before,after,reason,request_id,approval_id,prev_hash,hash');
    expect(row).toContain('mailbox.suspend');
    expect(row).toContain('"query, ""quoted"", =cmd"');
    const other = await t.app.inject({ method: 'GET', url: `/api/v1/audit/export?format=csv&tenantId=${a.tenantId}`, headers: { authorization: `Bearer ${b.token}` } });
    expect(other.body.trim().split('\n')).toHaveLength(1); // the header only
  });

  it('the exported chain can be checked link by link', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/v1/audit/export', headers: { authorization: `Bearer ${t.operatorToken}` } });
    const lines = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (let i = 1; i < lines.length; i++) expect(lines[i].prevHash).toBe(lines[i - 1].hash);
    expect(lines[0].prevHash).toBe('0'.repeat(64));
  });
});
