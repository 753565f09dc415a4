/**
 * Fuzzes the JSON bodies of every control-plane route: a real app (buildApp with the production
 * options over a migrated SQLite database in a temporary data dir), an operator token, real
 * tenant/domain/mailbox ids in the paths; bodies shaped by each route's schema with arbitrary
 * values, plus raw bytes. A crash is a 5xx or an exception; a hang an answer slower than 5 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { dataPaths, loadConfig } from '../../appliance/config.js';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { bootstrapOperator } from '../../appliance/core/access/bootstrap.js';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { createCoreDeps } from '../../appliance/core/deps.js';
import { openSqlite } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { repos } from '../../appliance/db/repos/index.js';
import { PLATFORM_SCOPE } from '../../appliance/core/kernel/scope.js';
import { createLogger } from '../../appliance/logger.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { buildApp } from '../../control/app.js';
import { type FuzzOptions, type FuzzResult, runFuzz } from './harness.js';
import { bodyFor, type JsonSchema } from './json-arb.js';

const TOKEN = 'fuzz-operator-token-0123456789abcdef';

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-fuzz-http-'));
  const config = loadConfig({ POSTERN_DATA_DIR: dir, POSTERN_LOG_LEVEL: 'silent', POSTERN_HOSTNAME: 'mx.postern.test', POSTERN_HTTP_TLS: 'false', POSTERN_BOOTSTRAP_TOKEN: TOKEN });
  const { db, close } = openSqlite(dataPaths(config).database);
  await migrateToLatest(db);
  const logger = createLogger('silent', { pretty: false });
  const credentials = new CredentialService(db, logger);
  // One core, as main.ts builds it: the control plane receives it (no database of its own).
  const core = createCoreDeps(db, config, Date.now, { revoker: credentials, credentials });
  await bootstrapOperator(systemActor('boot'), core);
  const health = async () => ({
    database: await repos(db, PLATFORM_SCOPE)
      .health.probe()
      .then(() => ({ ok: true })),
  });
  // The real mail store (exports and point-in-time restores read and write through it).
  const mailStore = new SqlMailStore({ db, blobs: await FileBlobStore.open(dataPaths(config).blobs), maxMessageBytes: config.maxMessageBytes });
  const app = await buildApp({ core, config, logger, health, tls: { key: '', cert: '' }, mailStore });
  const call = async (method: string, url: string, payload?: string) => {
    const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${TOKEN}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, payload });
    return { status: res.statusCode, body: res.body };
  };
  try {
    const tenant = JSON.parse((await call('POST', '/api/v1/tenants', JSON.stringify({ name: 'Fuzz' }))).body) as { id: string };
    const domain = JSON.parse((await call('POST', `/api/v1/tenants/${tenant.id}/domains`, JSON.stringify({ name: 'fuzz.example' }))).body) as { id: string };
    const mailbox = JSON.parse(
      (await call('POST', `/api/v1/domains/${domain.id}/mailboxes`, JSON.stringify({ localPart: 'fuzz', owner: { name: 'F', email: 'f@owner.example' }, credentialDelivery: 'link' }))).body,
    ) as { id: string };
    const ids: Record<string, string> = { tenantId: tenant.id, domainId: domain.id, mailboxId: mailbox.id };
    const spec = app.swagger() as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>> };
    const targets: Array<{ method: string; url: string; schema: JsonSchema }> = [];
    for (const [p, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (schema) targets.push({ method: method.toUpperCase(), url: p.replace(/\{(\w+)\}/g, (_m, n: string) => ids[n] ?? `${n}_nonexistent`), schema });
      }
    }
    opts.log(`http-json: ${targets.length} routes with JSON bodies`);
    const arb = fc
      .integer({ min: 0, max: targets.length - 1 })
      .chain((i) =>
        fc.oneof(
          { weight: 5, arbitrary: bodyFor(targets[i]!.schema, 3).map((b) => ({ i, payload: JSON.stringify(b) ?? 'null' })) },
          { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((payload) => ({ i, payload })) },
        ),
      );
    return await runFuzz(
      'http-json',
      arb,
      async ({ i, payload }) => {
        const t = targets[i]!;
        let timer: NodeJS.Timeout | undefined;
        const res = await Promise.race([call(t.method, t.url, payload), new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error('no answer in 5 s')), 5000)))]).finally(() =>
          clearTimeout(timer),
        );
        if (res.status >= 500) throw new Error(`${t.method} ${t.url} → ${res.status} ${res.body.slice(0, 120)}`);
      },
      opts,
      5000,
    );
  } finally {
    await app.close();
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}
