/**
 * The outbound queue view and the mail-flow figures: queue files written in Haraka's format
 * (4-byte length, the JSON todo, the message) are listed oldest first with age, attempts, next
 * attempt and the last deferral; a tenant admin sees only what its domains sent; the rolling
 * counter answers last hour, last day and 24 hourly buckets.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPaths } from '../../appliance/config.js';
import { mailStats } from '../../appliance/metrics-rolling.js';
import { outboundQueueStats, readOutboundQueue, recordOutboundEvent } from '../../appliance/mta/outbound-queue.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
let b: { tenantId: string; domainId: string; token: string };
let queueDir: string;

const addr = (s: string) => (s ? { original: `<${s}>`, host: s.split('@')[1], user: s.split('@')[0] } : { original: '<>', host: '', user: '' });

/** A queue file as Haraka's outbound/index.js build_todo writes it. */
function queueFile(o: { arrival: number; next: number; attempts: number; uid: string; sender: string; rcpts: string[]; uuid: string }): string {
  const domain = o.rcpts[0]!.split('@')[1]!;
  const todo = `\n${JSON.stringify({ queue_time: o.arrival, domain, rcpt_to: o.rcpts.map(addr), mail_from: addr(o.sender), notes: {}, uuid: o.uuid, force_tls: false }, null, '\t')}\n`;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(Buffer.byteLength(todo), 0);
  const name = `${o.arrival}_${o.next}_${o.attempts}_4242_${o.uid}_${o.attempts + 1}_mx.postern.test`;
  writeFileSync(path.join(queueDir, name), Buffer.concat([len, Buffer.from(todo), Buffer.from('Subject: hi\r\n\r\nbody\r\n')]));
  return name;
}

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Flow A', 'flow-a.example');
  b = await provisionTenant(t, 'Flow B', 'flow-b.example');
  queueDir = dataPaths(t.config).queue;
  mkdirSync(queueDir, { recursive: true });
  const now = Date.now();
  queueFile({ arrival: now - 3600_000, next: now + 600_000, attempts: 3, uid: 'AAAaaa', sender: 'alice@flow-a.example', rcpts: ['x@remote.test', 'y@remote.test'], uuid: 'U-A1' });
  queueFile({ arrival: now - 60_000, next: now + 60_000, attempts: 1, uid: 'BBBbbb', sender: 'bob@flow-b.example', rcpts: ['z@other.test'], uuid: 'U-B1' });
  queueFile({ arrival: now - 120_000, next: now + 60_000, attempts: 0, uid: 'CCCccc', sender: '', rcpts: ['gone@remote.test'], uuid: 'U-BOUNCE' });
  // Not queue entries: Haraka's temporary and error files.
  writeFileSync(path.join(queueDir, `__tmp__.${now}_${now}_0_1_DDDddd_9_host`), 'partial');
  writeFileSync(path.join(queueDir, `error.${now}_${now}_0_1_EEEeee_9_host`), 'broken');
  recordOutboundEvent({ kind: 'deferred', queueId: 'U-A1', domain: 'remote.test', detail: 'retry in 600 s: connect ECONNREFUSED 127.0.0.1:9' });
});
afterAll(async () => t?.close());

describe('GET /outbound-queue', () => {
  it('operators see every message, oldest first, with age, attempts, next attempt and the last error', async () => {
    const r = await t.call('GET', '/api/v1/outbound-queue');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.map((e: { sender: string }) => e.sender)).toEqual(['alice@flow-a.example', '', 'bob@flow-b.example']);
    const first = r.body[0];
    expect(first).toMatchObject({ tenantId: a.tenantId, domain: 'remote.test', recipients: ['x@remote.test', 'y@remote.test'], attempts: 3, lastError: expect.stringContaining('ECONNREFUSED') });
    expect(first.ageSeconds).toBeGreaterThanOrEqual(3590);
    expect(first.id).toMatch(/^\d+\.AAAaaa$/);
    expect(Date.parse(first.nextAttemptAt)).toBeGreaterThan(Date.now());
    expect(r.body[1]).toMatchObject({ tenantId: null, lastError: null });
    // Paging and filters.
    const p2 = await t.call('GET', `/api/v1/outbound-queue?limit=1&after=${first.id}`);
    expect(p2.body.map((e: { sender: string }) => e.sender)).toEqual(['']);
    expect((await t.call('GET', '/api/v1/outbound-queue?domain=other.test')).body).toHaveLength(1);
    expect((await t.call('GET', `/api/v1/outbound-queue?tenantId=${b.tenantId}`)).body.map((e: { sender: string }) => e.sender)).toEqual(['bob@flow-b.example']);
    // The metrics read the same directory through the same module.
    expect((await outboundQueueStats(queueDir)).messages).toBe(3);
    expect(await readOutboundQueue(path.join(queueDir, 'missing'))).toEqual([]);
  });

  it('a tenant admin sees only what its domains sent; another tenant’s id is 404', async () => {
    const r = await t.call('GET', '/api/v1/outbound-queue', { token: a.token });
    expect(r.status).toBe(200);
    expect(r.body.map((e: { sender: string }) => e.sender)).toEqual(['alice@flow-a.example']);
    expect((await t.call('GET', `/api/v1/outbound-queue?tenantId=${b.tenantId}`, { token: a.token })).status).toBe(404);
    const helpdesk = (await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'hd', role: 'helpdesk' } })).body.token;
    expect((await t.call('GET', '/api/v1/outbound-queue', { token: helpdesk })).status).toBe(403);
  });
});

describe('GET /stats/mail', () => {
  it('counts the last hour and day and 24 hourly buckets; a tenant sees its own deliveries only', async () => {
    mailStats.reset();
    mailStats.add('delivered', 3);
    mailStats.add('bounced', 1);
    mailStats.add('rejected', 2);
    mailStats.add('local', 4, a.tenantId);
    mailStats.add('local', 5, b.tenantId);
    const r = await t.call('GET', '/api/v1/stats/mail');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ scope: 'platform', lastHour: { delivered: 3, bounced: 1, rejected: 2, local: 9, deferred: 0, authFailed: 0 }, lastDay: { delivered: 3, local: 9 } });
    expect(r.body.hours).toHaveLength(24);
    expect(r.body.hours[23].counts.delivered).toBe(3);
    expect(r.body.hours[0].counts.delivered).toBe(0);
    expect((await t.call('GET', '/api/v1/stats/mail?hours=48')).body.hours).toHaveLength(48);

    const ta = await t.call('GET', '/api/v1/stats/mail', { token: a.token });
    expect(ta.body).toMatchObject({ scope: 'tenant', tenantId: a.tenantId, series: ['local'], lastHour: { local: 4 } });
    expect(ta.body.lastHour.delivered).toBeUndefined();
    expect((await t.call('GET', `/api/v1/stats/mail?tenantId=${a.tenantId}`, { token: b.token })).status).toBe(404);
  });
});
