/**
 * Safe deletion: two steps (intent, then confirm by the same principal) into a recycle bin;
 * a deleted mailbox is unknown to SMTP routing and cannot log in; restore brings it back with
 * its mail; purge after the retention releases its messages (shared ones survive).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { purgeRecycleBin } from '../../appliance/core/mailboxes/recycle-bin.service.js';
import { RecipientRouter } from '../../appliance/core/delivery/routing.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
let store: SqlMailStore;
let router: RecipientRouter;

const raw = (subject: string) => Buffer.from(`From: x@example.org\r\nTo: y@bin.example\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\nbody\r\n`);

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Bin Co', 'bin.example');
  const blobs = await FileBlobStore.open(path.join(t.dir, 'blobs'));
  store = new SqlMailStore({ db: t.core.db, blobs, maxMessageBytes: 10_000_000 });
  router = new RecipientRouter(t.core.db);
});
afterAll(async () => {
  await store.queue.drain();
  await t.close();
});

const del = (id: string, confirm?: string, token = a.token) => t.call('DELETE', `/api/v1/mailboxes/${id}${confirm ? `?confirm=${confirm}&reason=left` : ''}`, { token });

describe('two-step mailbox deletion and the recycle bin', () => {
  it('DELETE without confirm answers 202 with an intent and the impact, and changes nothing', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'impact', {}, a.token);
    await t.call('POST', `/api/v1/domains/${a.domainId}/aliases`, { token: a.token, body: { localPart: 'to-impact', targets: [mb.address] } });
    const r = await del(mb.id);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({
      intent: { id: expect.stringMatching(/^del_/), expiresAt: expect.any(String) },
      target: { type: 'mailbox', id: mb.id, name: mb.address },
      impact: { address: mb.address, aliasesTargetingIt: ['to-impact@bin.example'], messages: 0 },
    });
    expect(r.body.confirm).toBe(`DELETE /api/v1/mailboxes/${mb.id}?confirm=${r.body.intent.id}`);
    expect((await t.call('GET', `/api/v1/mailboxes/${mb.id}`, { token: a.token })).body.status).toBe('pending');
  });

  it('confirms only with a live intent of the same principal, once', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'confirmme', {}, a.token);
    expect((await del(mb.id, 'del_nope')).status).toBe(400);
    const intent = (await del(mb.id)).body.intent.id as string;
    const other = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'second admin' } });
    expect((await del(mb.id, intent, other.body.token)).status).toBe(403);
    t.advance(16 * 60_000);
    try {
      expect((await del(mb.id, intent)).status).toBe(410);
    } finally {
      t.advance(-16 * 60_000);
    }
    const fresh = (await del(mb.id)).body.intent.id as string;
    const ok = await del(mb.id, fresh);
    expect(ok.status).toBe(200);
    expect(Date.parse(ok.body.purgeAfter) - Date.parse(ok.body.deletedAt)).toBe(7 * 86_400_000);
    expect((await t.call('GET', `/api/v1/mailboxes/${mb.id}`, { token: a.token })).status).toBe(404);
  });

  it('a deleted mailbox is unknown to SMTP (even with a catch-all), revoked, listed in the bin, and restored with its mail', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'keepmail', {}, a.token);
    const sink = await provisionMailbox(t, a.domainId, 'sink', {}, a.token);
    expect((await t.call('PUT', `/api/v1/domains/${a.domainId}/catch-all`, { token: a.token, body: { target: sink.address } })).status).toBe(200);
    await store.ingest.ingest(raw('kept'), [{ mailboxId: mb.id, folder: 'INBOX', prefix: '' }], { enforceQuota: false });
    t.revocations.length = 0;
    const intent = (await del(mb.id)).body.intent.id;
    expect((await del(mb.id, intent)).status).toBe(200);
    expect(t.revocations).toEqual([{ mailboxId: mb.id, reason: 'mailbox deleted' }]);
    expect(await router.resolve(mb.address, 100)).toEqual({ ok: false, refusal: 'unknown' });
    expect((await router.resolve('nobody@bin.example', 100)).ok).toBe(true); // the catch-all still serves unknown names

    const bin = await t.call('GET', `/api/v1/tenants/${a.tenantId}/recycle-bin`, { token: a.token });
    expect(bin.body.mailboxes.find((m: { id: string }) => m.id === mb.id)).toMatchObject({ address: mb.address, statusBeforeDelete: 'pending', messageCount: 1 });
    // The address stays reserved while restorable.
    expect(
      (await t.call('POST', `/api/v1/domains/${a.domainId}/mailboxes`, { token: a.token, body: { localPart: 'keepmail', owner: { name: 'X', email: 'x@home.example' }, credentialDelivery: 'link' } }))
        .status,
    ).toBe(409);

    const restored = await t.call('POST', `/api/v1/mailboxes/${mb.id}/restore`, { token: a.token, body: { reason: 'mistake' } });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ status: 'pending', messageCount: 1 });
    expect((await router.resolve(mb.address, 100)).ok).toBe(true);
    const inbox = (await store.getFolder(mb.id, 'INBOX'))!;
    expect(await store.listMessages(inbox.id)).toHaveLength(1);
    const actions = (await t.call('GET', `/api/v1/audit/events?targetId=${mb.id}`, { token: a.token })).body.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['mailbox.create', 'mailbox.delete', 'mailbox.restore']);
  });

  it('purges after the retention: mail rows go, shared messages survive with one reference fewer', async () => {
    const gone = await provisionMailbox(t, a.domainId, 'purged', {}, a.token);
    const stays = await provisionMailbox(t, a.domainId, 'survivor', {}, a.token);
    await store.ingest.ingest(
      raw('shared'),
      [
        { mailboxId: gone.id, folder: 'INBOX', prefix: '' },
        { mailboxId: stays.id, folder: 'INBOX', prefix: '' },
      ],
      { enforceQuota: false },
    );
    await store.ingest.ingest(raw('alone'), [{ mailboxId: gone.id, folder: 'INBOX', prefix: '' }], { enforceQuota: false });
    const shared = await t.core.db.selectFrom('messages').select(['id', 'refs']).where('meta', 'like', '%shared%').executeTakeFirstOrThrow();
    expect(shared.refs).toBe(2);
    await del(gone.id, (await del(gone.id)).body.intent.id);

    expect(await purgeRecycleBin(systemActor('purge'), t.core)).toEqual({ mailboxes: [], domains: [] }); // not yet due
    t.advance(7 * 86_400_000 + 1000);
    try {
      const r = await purgeRecycleBin(systemActor('purge'), t.core);
      expect(r.mailboxes).toContain(gone.id);
    } finally {
      t.advance(-(7 * 86_400_000 + 1000));
    }
    expect(await t.core.db.selectFrom('mailboxes').select('id').where('id', '=', gone.id).executeTakeFirst()).toBeUndefined();
    expect(await t.core.db.selectFrom('folders').select('id').where('mailbox_id', '=', gone.id).execute()).toEqual([]);
    expect((await t.core.db.selectFrom('messages').select('refs').where('id', '=', shared.id).executeTakeFirstOrThrow()).refs).toBe(1);
    expect(await t.core.db.selectFrom('messages').select('id').where('meta', 'like', '%alone%').executeTakeFirst()).toBeUndefined();
    expect(await store.sweepOrphanBlobs(0)).toBe(1); // the 'alone' blob; the shared one is still referenced
    expect((await t.call('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
    const purge = await t.core.db.selectFrom('audit_events').selectAll().where('action', '=', 'mailbox.purge').where('target_id', '=', gone.id).executeTakeFirstOrThrow();
    expect(JSON.parse(purge.after!)).toEqual({ purgedMessages: 2 });
  });

  it('a tenant token cannot purge, and other tenants cannot delete or restore (404)', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'guarded', {}, a.token);
    const b = await provisionTenant(t, 'Bin Other', 'bin-other.example');
    expect((await del(mb.id, undefined, b.token)).status).toBe(404);
    const intent = (await del(mb.id)).body.intent.id;
    expect((await del(mb.id, intent, b.token)).status).toBe(404);
    await del(mb.id, intent);
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/restore`, { token: b.token })).status).toBe(404);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/recycle-bin`, { token: b.token })).status).toBe(404);
  });
});

describe('two-step domain deletion', () => {
  it('takes its mailboxes and aliases to the bin and brings them back', async () => {
    const dom = await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: a.token, body: { name: 'gone-domain.example' } });
    const mb = await provisionMailbox(t, dom.body.id, 'inside', {}, a.token);
    await t.call('POST', `/api/v1/domains/${dom.body.id}/aliases`, { token: a.token, body: { localPart: 'all', targets: [mb.address] } });
    const intent = await t.call('DELETE', `/api/v1/domains/${dom.body.id}`, { token: a.token });
    expect(intent.status).toBe(202);
    expect(intent.body.impact).toMatchObject({ mailboxes: [mb.address], aliases: expect.arrayContaining(['all@gone-domain.example', 'postmaster@gone-domain.example']) });
    t.revocations.length = 0;
    const done = await t.call('DELETE', `/api/v1/domains/${dom.body.id}?confirm=${intent.body.intent.id}`, { token: a.token });
    expect(done.status).toBe(200);
    expect(t.revocations.map((r) => r.mailboxId)).toEqual([mb.id]);
    expect(await router.resolve(mb.address, 10)).toEqual({ ok: false, refusal: 'not-hosted' });
    expect((await t.call('GET', `/api/v1/domains/${dom.body.id}`, { token: a.token })).status).toBe(404);
    // A mailbox deleted with its domain is restored with the domain.
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/restore`, { token: a.token })).status).toBe(409);
    const bin = await t.call('GET', `/api/v1/tenants/${a.tenantId}/recycle-bin`, { token: a.token });
    expect(bin.body.domains).toEqual([expect.objectContaining({ id: dom.body.id, mailboxes: 1 })]);
    const back = await t.call('POST', `/api/v1/domains/${dom.body.id}/restore`, { token: a.token });
    expect(back.status).toBe(200);
    expect((await router.resolve('all@gone-domain.example', 10)).ok).toBe(true);
    expect((await t.call('GET', `/api/v1/mailboxes/${mb.id}`, { token: a.token })).body.status).toBe('pending');
  });
});
