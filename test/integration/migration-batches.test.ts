/**
 * Bulk IMAP migration batches (issue 20) against a real, private Dovecot (the bench's source
 * Dovecot: Maildir++ written on disk, five folders, IMAPS on loopback with a certificate made
 * here): the CSV plan test-logs-in to every source — a good row, a wrong password, an address
 * with no mailbox here, a bad TLS mode — and reports each with the source's folder sizes; no
 * password comes back in any answer; another tenant sees nothing (404).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import {
  applyMigrationBatch,
  cancelMigrationBatch,
  createMigrationBatch,
  getMigrationBatch,
  waitForMigrationBatch,
  waitForMigrationPlan,
} from '../../appliance/core/portfolio/migration-batch.service.js';
import { MigrationRunner } from '../../appliance/core/migration/index.js';
import { createLogger } from '../../appliance/logger.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { migrationRowsFromCsv } from '../../appliance/core/portfolio/migration-batch-input.js';
import { SourceDovecot, sourceCertificate, type SourceCorpus } from '../../scripts/bench/source-dovecot.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

const USER = 'old.user@old-provider.test';
const PASSWORD = 'Old-Provider-Passw0rd';

describe('migration batches: the plan checks every source', () => {
  let dir: string;
  let source: SourceDovecot;
  let corpus: SourceCorpus;
  let t: TestApp;
  let ca: Buffer;
  let tenant: { tenantId: string; domainId: string; token: string };
  let other: { tenantId: string; domainId: string; token: string };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postern-migbatch-'));
    chmodSync(dir, 0o755); // Dovecot's auth and mail users walk through it
    const { certFile: cert, keyFile: key } = sourceCertificate(dir);
    ca = readFileSync(cert);
    ({ source, corpus } = await SourceDovecot.start({ workDir: path.join(dir, 'source'), user: USER, password: PASSWORD, certFile: cert, keyFile: key, messages: 40 }));
    t = await createTestApp();
    tenant = await provisionTenant(t, 'Agency client', 'client.test');
    other = await provisionTenant(t, 'Other client', 'other.test');
    for (const lp of ['anna', 'bert']) {
      const mb = await provisionMailbox(t, tenant.domainId, lp);
      expect((await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: 'Mailbox-Passw0rd-2026' } })).status).toBe(204); // active
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await source?.stop();
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('reports bad credentials, missing mailboxes, bad rows and the sizes of good sources, and never echoes a password', async () => {
    const port = source.ports.imaps;
    const csv = [
      'address,source_host,source_port,tls,user,password',
      `anna@client.test,127.0.0.1,${port},implicit,${USER},${PASSWORD}`,
      `bert@client.test,127.0.0.1,${port},implicit,${USER},wrong-password-123`,
      `nobody@client.test,127.0.0.1,${port},implicit,${USER},${PASSWORD}`,
      `anna@client.test,127.0.0.1,${port},ssl3,${USER},${PASSWORD}`,
    ].join('\r\n');
    const rows = migrationRowsFromCsv(csv);
    const actor = systemActor('test');
    const created = await createMigrationBatch(actor, { ...t.core, migrationSourceTls: { ca } }, tenant.tenantId, { rows, name: 'ACME onboarding' });
    expect(created.state).toBe('planning');
    await waitForMigrationPlan(created.id);
    const b = await getMigrationBatch(actor, t.core, created.id);
    expect(b.state).toBe('planned');
    expect(b.plan).toMatchObject({ total: 4, checked: 4, ok: 1, badCredentials: 1, noMailbox: 1, invalid: 1, messages: corpus.messages });
    const [good, bad, missing, invalid] = b.items;
    expect(good!.check.state).toBe('ok');
    expect(good!.check.messages).toBe(corpus.messages);
    // the sizes are the source's (RFC822.SIZE sums): the corpus's bytes, folder by folder
    expect(good!.check.bytes).toBe(corpus.bytes);
    expect(Object.fromEntries(good!.check.folders.filter((f) => f.messages > 0).map((f) => [f.name, f.messages]))).toEqual(corpus.perFolder);
    expect(bad!.check).toMatchObject({ state: 'bad-credentials', messages: null, bytes: null, folders: [] });
    expect(bad!.status).toBe('skipped');
    expect(missing!.check.state).toBe('no-mailbox');
    expect(invalid!.check.state).toBe('invalid');
    expect(invalid!.check.error).toMatch(/tls/);

    // over the API: the same batch, no password anywhere, another tenant gets 404
    const res = await t.call('GET', `/api/v1/migration-batches/${b.id}`, { token: tenant.token });
    expect(res.status).toBe(200);
    expect(res.body.plan.badCredentials).toBe(1);
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
    expect(JSON.stringify(res.body)).not.toContain('wrong-password-123');
    const list = await t.call('GET', `/api/v1/tenants/${tenant.tenantId}/migration-batches`, { token: tenant.token });
    expect(list.body.map((x: { name: string }) => x.name)).toEqual(['ACME onboarding']);
    expect((await t.call('GET', `/api/v1/migration-batches/${b.id}`, { token: other.token })).status).toBe(404);
    expect((await t.call('POST', `/api/v1/migration-batches/${b.id}/apply`, { token: other.token, body: {} })).status).toBe(404);
    expect((await t.call('GET', `/api/v1/tenants/${tenant.tenantId}/migration-batches`, { token: other.token })).status).toBe(404);
    // the sealed passwords in the database are not the passwords
    const stored = await t.core.db.selectFrom('migration_batch_items').select(['row_no', 'source_secret']).where('batch_id', '=', b.id).orderBy('row_no').execute();
    expect(stored[0]!.source_secret).toMatch(/^enc:v1:/);
    expect(stored.slice(1).every((s) => s.source_secret === null)).toBe(true); // refused rows keep nothing
  }, 60_000);

  it('takes the CSV over HTTP and refuses a CSV without the expected columns', async () => {
    const ok = await t.call('POST', `/api/v1/tenants/${tenant.tenantId}/migration-batches?name=Via%20HTTP`, {
      token: tenant.token,
      raw: `address,source_host,source_port,tls,user,password\nanna@client.test,127.0.0.1,1,implicit,${USER},${PASSWORD}\n`,
      headers: { 'content-type': 'text/csv' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.name).toBe('Via HTTP');
    expect(JSON.stringify(ok.body)).not.toContain(PASSWORD);
    await waitForMigrationPlan(ok.body.id);
    const after = await t.call('GET', `/api/v1/migration-batches/${ok.body.id}`, { token: tenant.token });
    expect(after.body.items[0].check.state).toBe('unreachable'); // nothing listens on port 1
    const bad = await t.call('POST', `/api/v1/tenants/${tenant.tenantId}/migration-batches`, { token: tenant.token, raw: 'email,server\nx,y\n', headers: { 'content-type': 'text/csv' } });
    expect(bad.status).toBe(400);
  }, 30_000);

  it('applies with bounded concurrency: one job per good source, never more at once than asked, each mailbox gets the whole corpus', async () => {
    const store = new SqlMailStore({ db: t.core.db, blobs: await FileBlobStore.open(path.join(dir, 'blobs')), maxMessageBytes: t.config.maxMessageBytes });
    const runner = new MigrationRunner(t.core, { store, logger: createLogger('silent', { pretty: false }), source: { tls: { ca }, maxMessageBytes: t.config.maxMessageBytes } });
    const deps = { ...t.core, migrations: runner, migrationSourceTls: { ca } };
    const actor = systemActor('test');
    const port = source.ports.imaps;
    const rows = migrationRowsFromCsv(
      [
        'address,source_host,source_port,tls,user,password',
        `anna@client.test,127.0.0.1,${port},implicit,${USER},${PASSWORD}`,
        `bert@client.test,127.0.0.1,${port},implicit,${USER},${PASSWORD}`,
        `bert@client.test,127.0.0.1,${port},implicit,${USER},not-the-password`,
      ].join('\n'),
    );
    const created = await createMigrationBatch(actor, deps, tenant.tenantId, { rows, name: 'Apply test', concurrency: 1 });
    await waitForMigrationPlan(created.id);
    const planned = await getMigrationBatch(actor, deps, created.id);
    expect(planned.plan).toMatchObject({ ok: 2, badCredentials: 0, noMailbox: 1 }); // bert listed twice: the second row is refused
    await applyMigrationBatch(actor, deps, created.id);
    let most = 0;
    for (let i = 0; i < 600; i++) {
      const b = await getMigrationBatch(actor, deps, created.id);
      most = Math.max(most, b.items.filter((it) => it.migration && (it.migration.state === 'queued' || it.migration.state === 'running')).length);
      if (b.state === 'applied') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitForMigrationBatch(created.id);
    const b = await getMigrationBatch(actor, deps, created.id);
    expect(b.state).toBe('applied');
    expect(most).toBe(1);
    expect(b.report).toMatchObject({ done: 2, failed: 0, skipped: 1, messages: 2 * corpus.messages });
    expect(b.progress.percent).toBe(100);
    for (const it of b.items.slice(0, 2)) {
      expect(it.migration!.state).toBe('done');
      const folders = Object.fromEntries(it.migration!.progress.folders.filter((f) => f.total > 0).map((f) => [f.source, f.copied]));
      expect(folders).toEqual(corpus.perFolder);
      expect((await store.listFolders(it.mailboxId!)).length).toBeGreaterThanOrEqual(Object.keys(corpus.perFolder).length);
    }
    // the batch holds no secret any more; cancelling an applied batch is refused
    const secrets = await t.core.db.selectFrom('migration_batch_items').select('source_secret').where('batch_id', '=', b.id).execute();
    expect(secrets.every((x) => x.source_secret === null)).toBe(true);
    await expect(cancelMigrationBatch(actor, deps, b.id)).rejects.toThrow(/ended/);
    await runner.stop();
  }, 120_000);
});
