/**
 * Bulk creation as a pipeline: the plan names every bad row with its reasons, apply creates the
 * valid (and approved) rows with setup links delivered to a real SMTP sink through the Mailer,
 * the links work once, verify tests delivery through the store, and rollback disables first and
 * then moves everything to the recycle bin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { Mailer } from '../../appliance/core/delivery/mailer.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';
import { startSink, type Sink } from '../helpers/sink.js';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { DB } from '../../appliance/db/schema.js';

let t: TestApp;
let sink: Sink;
let a: { tenantId: string; domainId: string; token: string };
let b: { tenantId: string; domainId: string; token: string };
let unverifiedId: string;
let aliasDomainId: string;

function sinkMailer(port: number): Mailer {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  return {
    async send(from, to, subject, text) {
      await transport.sendMail({ from, to, subject, text });
    },
  };
}

async function settle(batchId: string, token?: string) {
  for (let i = 0; i < 600; i++) {
    const r = await t.call('GET', `/api/v1/batches/${batchId}`, { token });
    if (r.body.state !== 'applying' && r.body.state !== 'rolling-back') return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('batch did not settle');
}

beforeAll(async () => {
  // flaky@… refuses the first delivery attempt (a mail outage), accepts later ones.
  sink = await startSink({ policy: (rcpt, n) => (rcpt === 'flaky@client-home.example' && n === 1 ? { code: 550, message: '5.2.1 try later' } : null) });
  t = await createTestApp({
    mailer: sinkMailer(sink.port),
    mailIngest: (db, dir) => lazyStore(db, dir),
  });
  a = await provisionTenant(t, 'Agency Client', 'client-a.example');
  b = await provisionTenant(t, 'Other Client', 'client-b.example');
  // client-a.example is verified (as a DNS check would do); a second domain is not; a third is an alias.
  await t.core.db.updateTable('domains').set({ verification: 'verified' }).where('id', 'in', [a.domainId, b.domainId]).execute();
  unverifiedId = (await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: a.token, body: { name: 'pending-a.example' } })).body.id;
  aliasDomainId = (await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: a.token, body: { name: 'alias-a.example', aliasOf: a.domainId } })).body.id;
  expect(unverifiedId && aliasDomainId).toBeTruthy();
  await provisionMailbox(t, a.domainId, 'carol.jones', {}, a.token);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** The store is opened on the test database lazily (its blob store needs an async open). */
function lazyStore(db: Kysely<DB>, dir: string) {
  let store: Promise<SqlMailStore> | null = null;
  const get = () => (store ??= FileBlobStore.open(path.join(dir, 'blobs')).then((blobs) => new SqlMailStore({ db, blobs, maxMessageBytes: 1 << 20 })));
  return { ingest: async (raw: Buffer, targets: Array<{ mailboxId: string; folder: string }>, opts: { enforceQuota: boolean }) => (await get()).ingest.ingest(raw, targets, opts) };
}

const HEADER = 'local_part,domain,display_name,owner_name,owner_email,reset_destination,quota,role,aliases';
const CSV_ROWS = [
  /* 1 ok            */ 'alice.smith,client-a.example,Alice Smith,Alice Smith,alice@client-home.example,,1G,,alice',
  /* 2 missing owner */ 'dave.brown,client-a.example,,Dave Brown,,,,,',
  /* 3 bad local     */ 'bad..dots,client-a.example,,Bad Dots,bad@client-home.example,,,,',
  /* 4 not hosted    */ 'erin.white,elsewhere.example,,Erin White,erin@client-home.example,,,,',
  /* 5 other tenant  */ 'frank.green,client-b.example,,Frank Green,frank@client-home.example,,,,',
  /* 6 unverified    */ 'gina.black,pending-a.example,,Gina Black,gina@client-home.example,,,,',
  /* 7 alias domain  */ 'hank.gray,alias-a.example,,Hank Gray,hank@client-home.example,,,,',
  /* 8 dup in file   */ 'alice.smith,client-a.example,,Alice Again,alice2@client-home.example,,,,',
  /* 9 exists        */ 'carol.jones,client-a.example,,Carol Jones,carol@client-home.example,,,,',
  /* 10 role         */ 'info,client-a.example,Info,Ivy Info,ivy@client-home.example,,,,',
  /* 11 reset=self   */ 'jack.hill,client-a.example,,Jack Hill,jack@client-home.example,jack.hill@client-a.example,,,',
  /* 12 reset=role   */ 'kate.moss,client-a.example,,Kate Moss,kate@client-home.example,support@client-home.example,,,',
  /* 13 bad quota    */ 'liam.neal,client-a.example,,Liam Neal,liam@client-home.example,,lots,,',
  /* 14 pool         */ 'mia.ford,client-a.example,,Mia Ford,mia@client-home.example,,900G,,',
  /* 15 alias taken  */ 'nina.lee,client-a.example,,Nina Lee,nina@client-home.example,,,,carol.jones',
  /* 16 naming       */ 'Oscar,client-a.example,,Oscar Wild,oscar@client-home.example,,,,',
];

describe('bulk plan', () => {
  let batchId: string;

  it('refuses a request without a request id and unknown CSV columns', async () => {
    const noId = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches`, { token: a.token, body: { rows: [{ localPart: 'x', domain: 'client-a.example' }] } });
    expect(noId.status).toBe(400);
    const bad = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches?requestId=r0`, { token: a.token, raw: 'local_part,shoe_size\nx,42\n', headers: { 'content-type': 'text/csv' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/shoe_size|shoesize/);
  });

  it('names every bad row with its reasons, flags role accounts, writes nothing but the batch', async () => {
    // The naming policy comes from the domain's template: first.last.
    const tpl = await t.call('POST', `/api/v1/tenants/${a.tenantId}/templates`, { token: a.token, body: { name: 'Client A', settings: { namingPolicy: { style: 'first.last' } } } });
    expect(tpl.status).toBe(201);
    expect((await t.call('POST', `/api/v1/domains/${a.domainId}/template`, { token: a.token, body: { templateId: tpl.body.id } })).status).toBe(200);
    // A pool that fits ordinary quotas but not 900G.
    expect((await t.call('PATCH', `/api/v1/tenants/${a.tenantId}`, { body: { quotaBytes: 100 * 1024 ** 3 } })).status).toBe(200);
    const mailboxesBefore = await t.core.db.selectFrom('mailboxes').select('id').execute();

    const res = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches`, {
      token: a.token,
      raw: [HEADER, ...CSV_ROWS].join('\r\n'),
      headers: { 'content-type': 'text/csv', 'idempotency-key': 'onboarding-2026-11-a' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    batchId = res.body.id;
    const plan = res.body.plan;
    const reasons = new Map<number, string[]>(plan.refused.map((r: { row: number; reasons: Array<{ code: string }> }) => [r.row, r.reasons.map((x) => x.code)]));
    const expected: Array<[number, string]> = [
      [2, 'missing-field'],
      [3, 'invalid-local-part'],
      [4, 'domain-not-hosted'],
      [5, 'domain-not-hosted'],
      [6, 'domain-not-verified'],
      [7, 'domain-is-alias'],
      [8, 'duplicate-in-file'],
      [9, 'address-taken'],
      [11, 'reset-destination-refused'],
      [12, 'reset-destination-refused'],
      [13, 'quota-invalid'],
      [14, 'quota-pool'],
      [15, 'address-taken'],
      [16, 'naming-policy'],
    ];
    for (const [row, code] of expected) expect(reasons.get(row), `row ${row}: ${JSON.stringify(plan.refused.find((r: { row: number }) => r.row === row))}`).toContain(code);
    expect(plan.create.map((c: { row: number }) => c.row)).toEqual([1]);
    expect(plan.create[0]).toMatchObject({ address: 'alice.smith@client-a.example', quotaBytes: 1024 ** 3, aliases: ['alice@client-a.example'] });
    expect(plan.needsApproval).toEqual([expect.objectContaining({ row: 10, address: 'info@client-a.example', reasons: [expect.objectContaining({ code: 'role-account' })] })]);
    expect(res.body.state).toBe('planned');
    expect(await t.core.db.selectFrom('mailboxes').select('id').execute()).toHaveLength(mailboxesBefore.length);
    // Messages name the row's problem plainly.
    const r11 = plan.refused.find((r: { row: number }) => r.row === 11).reasons[0].message;
    expect(r11).toMatch(/mailbox itself/);
  });

  it('is idempotent by request id; another tenant sees nothing', async () => {
    const again = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches?requestId=onboarding-2026-11-a`, {
      token: a.token,
      raw: [HEADER, ...CSV_ROWS].join('\r\n'),
      headers: { 'content-type': 'text/csv; charset=utf-8' },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(batchId);
    const other = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches?requestId=onboarding-2026-11-a`, {
      token: a.token,
      raw: [HEADER, CSV_ROWS[0]].join('\n'),
      headers: { 'content-type': 'text/csv' },
    });
    expect(other.status).toBe(409);
    expect((await t.call('GET', `/api/v1/batches/${batchId}`, { token: b.token })).status).toBe(404);
  });

  it('an operator can override the verified-domain rule; a tenant admin cannot', async () => {
    const rows = [{ localPart: 'gina.black', domain: 'pending-a.example', ownerName: 'Gina Black', ownerEmail: 'gina@client-home.example' }];
    const admin = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches`, { token: a.token, body: { rows, requestId: 'ovr-1', allowUnverifiedDomains: true } });
    expect(admin.status).toBe(403);
    const op = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches`, { body: { rows, requestId: 'ovr-1', allowUnverifiedDomains: true } });
    expect(op.status).toBe(201);
    expect(op.body.plan.create).toHaveLength(1);
  });

  it('all-or-nothing refuses a batch with refused or unapproved rows and creates nothing', async () => {
    const res = await t.call('POST', `/api/v1/batches/${batchId}/apply`, { token: a.token, body: { mode: 'all-or-nothing' } });
    expect(res.status).toBe(409);
    expect(res.body.error.details.needsApproval).toEqual([10]);
    expect((await t.call('GET', `/api/v1/batches/${batchId}`, { token: a.token })).body.state).toBe('planned');
    const approveWithoutRef = await t.call('POST', `/api/v1/batches/${batchId}/apply`, { token: a.token, body: { mode: 'valid-rows', approvedRows: [10] } });
    expect(approveWithoutRef.status).toBe(400);
    const approveWrong = await t.call('POST', `/api/v1/batches/${batchId}/apply`, { token: a.token, body: { mode: 'valid-rows', approvedRows: [1], approvalRef: 'TICKET-1' } });
    expect(approveWrong.status).toBe(400);
  });

  it('valid-rows creates the valid and approved rows, delivers one link each to the owner, never a password', async () => {
    const res = await t.call('POST', `/api/v1/batches/${batchId}/apply`, { token: a.token, body: { mode: 'valid-rows', approvedRows: [10], approvalRef: 'TICKET-4711 approved by Bea Boss' } });
    expect(res.status).toBe(202);
    const done = await settle(batchId, a.token);
    expect(done.state).toBe('applied');
    expect(done.report).toMatchObject({ created: 2, linksDelivered: 2, linksUsed: 0, pending: 2, failed: 0 });
    expect(JSON.stringify(done)).not.toMatch(/psu_|password/i);
    const alice = await t.core.db.selectFrom('mailboxes').selectAll().where('address', '=', 'alice.smith@client-a.example').executeTakeFirstOrThrow();
    expect(alice).toMatchObject({ status: 'pending', password_hash: null, reset_destination: 'alice@client-home.example', quota_bytes: 1024 ** 3 });
    const info = await t.core.db.selectFrom('mailboxes').selectAll().where('address', '=', 'info@client-a.example').executeTakeFirstOrThrow();
    expect(Number(info.is_role)).toBe(1);
    expect(await t.core.db.selectFrom('aliases').select('targets').where('address', '=', 'alice@client-a.example').executeTakeFirstOrThrow()).toEqual({
      targets: JSON.stringify(['alice.smith@client-a.example']),
    });
    const folders = await t.core.db.selectFrom('folders').select('name').where('mailbox_id', '=', alice.id).execute();
    expect(folders.map((f) => f.name).sort()).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    // Audited with the batch id.
    const ev = await t.core.db.selectFrom('audit_events').select(['after', 'approval_id']).where('target_id', '=', alice.id).where('action', '=', 'mailbox.create').executeTakeFirstOrThrow();
    expect(JSON.parse(ev.after!)).toMatchObject({ batchId, credentialDelivery: 'link-by-email' });
    const applied = await t.core.db.selectFrom('audit_events').select(['approval_id']).where('target_id', '=', batchId).where('action', '=', 'batch.apply').executeTakeFirstOrThrow();
    expect(applied.approval_id).toBe('TICKET-4711 approved by Bea Boss');
  });

  it('the setup link arrives at the owner and works exactly once', async () => {
    const msg = await sink.waitFor((m) => m.to.includes('alice@client-home.example'));
    const token = /\/setup\/(psu_[A-Za-z0-9_-]+)/.exec(msg.raw.replace(/=\r?\n/g, ''))?.[1];
    expect(token).toBeTruthy();
    expect(msg.raw).toMatch(/alice\.smith@client-a\.example/);
    const first = await t.call('POST', `/api/v1/setup/${token}`, { token: null, body: { password: 'correct horse battery staple 42' } });
    expect(first.status).toBe(204);
    const second = await t.call('POST', `/api/v1/setup/${token}`, { token: null, body: { password: 'another horse battery staple 43' } });
    expect(second.status).toBe(410);
    const report = (await t.call('GET', `/api/v1/batches/${batchId}`, { token: a.token })).body.report;
    expect(report).toMatchObject({ created: 2, linksUsed: 1, pending: 1 });
  });

  it('a second apply creates nothing', async () => {
    const before = await t.core.db.selectFrom('mailboxes').select('id').execute();
    const res = await t.call('POST', `/api/v1/batches/${batchId}/apply`, { token: a.token, body: { mode: 'valid-rows', approvedRows: [10], approvalRef: 'TICKET-4711' } });
    expect(res.status).toBe(202);
    expect(res.body.state).toBe('applied');
    expect(await t.core.db.selectFrom('mailboxes').select('id').execute()).toHaveLength(before.length);
    expect(sink.messages.filter((m) => m.to.includes('alice@client-home.example'))).toHaveLength(1);
  });

  it('verify reports and delivers a test message to a sample through the store', async () => {
    const res = await t.call('POST', `/api/v1/batches/${batchId}/verify`, { token: a.token, body: { sample: 5 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.deliveryTest.sampled).toBe(2);
    for (const r of res.body.deliveryTest.results) expect(r).toMatchObject({ routable: true, delivered: true });
    const alice = await t.core.db.selectFrom('mailboxes').select(['message_count']).where('address', '=', 'alice.smith@client-a.example').executeTakeFirstOrThrow();
    expect(Number(alice.message_count)).toBe(1);
  });

  it('rollback disables first, then moves everything to the recycle bin, audited with the batch id', async () => {
    const res = await t.call('POST', `/api/v1/batches/${batchId}/rollback`, { token: a.token, body: { reason: 'wrong client list' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.state).toBe('rolled-back');
    expect(res.body.report).toMatchObject({ created: 2, rolledBack: 2 });
    const rows = await t.core.db
      .selectFrom('mailboxes')
      .select(['id', 'address', 'status', 'status_before_delete', 'purge_after'])
      .where('address', 'in', ['alice.smith@client-a.example', 'info@client-a.example'])
      .execute();
    for (const m of rows) expect(m).toMatchObject({ status: 'deleted', status_before_delete: 'suspended' });
    expect(await t.core.db.selectFrom('aliases').select('status').where('address', '=', 'alice@client-a.example').executeTakeFirstOrThrow()).toEqual({ status: 'deleted' });
    const actions = await t.core.db
      .selectFrom('audit_events')
      .select(['action', 'target_id', 'after'])
      .where(
        'target_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('id')
      .execute();
    const forAlice = actions.filter((e) => e.target_id === rows.find((r) => r.address.startsWith('alice'))!.id).map((e) => e.action);
    expect(forAlice.slice(-2)).toEqual(['mailbox.suspend', 'mailbox.delete']);
    expect(JSON.parse(actions[actions.length - 1]!.after!).batchId).toBe(batchId);
    expect(t.revocations.map((r) => r.mailboxId)).toEqual(expect.arrayContaining(rows.map((r) => r.id)));
    // No login, no delivery: the recycle bin shows them, the tenant has no live mailbox of the batch.
    const bin = await t.call('GET', `/api/v1/tenants/${a.tenantId}/recycle-bin`, { token: a.token });
    expect(bin.body.mailboxes.map((m: { address: string }) => m.address)).toEqual(expect.arrayContaining(['alice.smith@client-a.example', 'info@client-a.example']));
    // The unused link of the role account no longer works.
    const again = await t.call('POST', `/api/v1/batches/${batchId}/apply`, { token: a.token, body: { mode: 'valid-rows' } });
    expect(again.status).toBe(409);
  });
});

describe('link delivery failures', () => {
  it('are reported, and applying again re-issues and sends the link (the first one no longer works)', async () => {
    const rows = [{ localPart: 'fay.flaky', domain: 'client-a.example', ownerName: 'Fay Flaky', ownerEmail: 'flaky@client-home.example' }];
    const plan = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches`, { token: a.token, body: { rows, requestId: 'flaky-1' } });
    expect(plan.status).toBe(201);
    expect((await t.call('POST', `/api/v1/batches/${plan.body.id}/apply`, { token: a.token, body: { mode: 'all-or-nothing' } })).status).toBe(202);
    const first = await settle(plan.body.id, a.token);
    expect(first.report).toMatchObject({ created: 1, linksDelivered: 0, deliveryFailed: 1 });
    const item = await t.core.db.selectFrom('batch_items').select(['setup_link_id', 'delivery_error']).where('batch_id', '=', plan.body.id).executeTakeFirstOrThrow();
    expect(item.delivery_error).toMatch(/550|try later/);

    const again = await t.call('POST', `/api/v1/batches/${plan.body.id}/apply`, { token: a.token, body: { mode: 'all-or-nothing' } });
    expect(again.body.state).toBe('applied');
    const report = (await t.call('GET', `/api/v1/batches/${plan.body.id}`, { token: a.token })).body.report;
    expect(report).toMatchObject({ created: 1, linksDelivered: 1, deliveryFailed: 0 });
    const old = await t.core.db.selectFrom('setup_tokens').select(['expires_at']).where('id', '=', item.setup_link_id!).executeTakeFirstOrThrow();
    expect(Number(old.expires_at)).toBeLessThanOrEqual(Date.now());
    const msg = await sink.waitFor((m) => m.to.includes('flaky@client-home.example'));
    const token = /\/setup\/(psu_[A-Za-z0-9_-]+)/.exec(msg.raw.replace(/=\r?\n/g, ''))?.[1];
    expect((await t.call('POST', `/api/v1/setup/${token}`, { token: null, body: { password: 'flaky but fine passphrase 7' } })).status).toBe(204);
    expect(await t.core.db.selectFrom('mailboxes').select('status').where('address', '=', 'fay.flaky@client-a.example').executeTakeFirstOrThrow()).toEqual({ status: 'active' });
  });
});
