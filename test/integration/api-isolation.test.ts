/**
 * Tenant isolation, enforced in one place: every route declares a permission, and every route
 * addressing an object answers another tenant's token with 404 and changes nothing. The session
 * routes (console and self-service, authorized by the session cookie in one hook) are walked
 * too: no session is a 401, another tenant's owner session on tenant A's objects a 404.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermission, type Permission, PERMISSIONS } from '../../appliance/core/kernel/authz.js';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { createLogger } from '../../appliance/logger.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestApp, OWNER, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: {
  tenantId: string;
  domainId: string;
  token: string;
  mailboxId: string;
  aliasId: string;
  tokenId: string;
  forwardId: string;
  grantId: string;
  keyId: string;
  principalId: string;
  batchId: string;
  templateId: string;
  appPasswordId: string;
  resetId: string;
  spamListId: string;
  migrationBatchId: string;
  migrationId: string;
  /** A shared-mailbox grant (issue 19): tenant A's info@ shared with alice. */
  accessGrantId: string;
  sharedMailboxId: string;
};
let b: { tenantId: string; domainId: string; token: string };
/** A mailbox of tenant B (the cross-tenant member of a grant). */
let bMailboxId: string;
/** Console sessions: tenant A's and tenant B's mailbox owners, tenant B's admin (cookie + CSRF headers). */
let sessions: { aOwner: Record<string, string>; bOwner: Record<string, string>; bAdmin: Record<string, string> };
const PASSWORD = 'Correct-Horse-42-Battery';

/** The cookie and CSRF headers of a login answer. */
function sessionHeaders(r: { body: { csrfToken: string }; headers: Record<string, unknown> }): Record<string, string> {
  const cookie = ([] as string[])
    .concat(r.headers['set-cookie'] as string[])
    .map((c) => c.split(';')[0])
    .join('; ');
  return { cookie, 'x-csrf-token': r.body.csrfToken };
}

async function ownerSession(domainId: string, localPart: string, token: string) {
  const mb = await provisionMailbox(t, domainId, localPart, {}, token);
  await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: PASSWORD } });
  const r = await t.call('POST', '/api/v1/self/login', { token: null, body: { address: mb.address, password: PASSWORD } });
  if (r.status !== 200) throw new Error(`owner login: ${r.status} ${JSON.stringify(r.body)}`);
  return sessionHeaders(r);
}

async function principalSession(tenantId: string, email: string, token: string) {
  const p = await t.call('POST', `/api/v1/tenants/${tenantId}/principals`, { token, body: { name: 'Admin', email } });
  await t.call('POST', `/api/v1/principal-setup/${p.body.setup.token}`, { token: null, body: { password: PASSWORD } });
  const r = await t.call('POST', '/api/v1/auth/login', { token: null, body: { email, password: PASSWORD } });
  if (r.status !== 200) throw new Error(`principal login: ${r.status} ${JSON.stringify(r.body)}`);
  return sessionHeaders(r);
}

beforeAll(async () => {
  t = await createTestApp({
    credentials: (db) => new CredentialService(db, createLogger('silent', { pretty: false })),
    // The real mail store: exports must stream for the owner tenant (200) and be 404 for the other.
    mailStore: async (db, dir) => new SqlMailStore({ db, blobs: await FileBlobStore.open(path.join(dir, 'blobs')), maxMessageBytes: 1_000_000 }),
  });
  const ta = await provisionTenant(t, 'Tenant A', 'tenant-a.example');
  b = await provisionTenant(t, 'Tenant B', 'tenant-b.example');
  const mb = await provisionMailbox(t, ta.domainId, 'alice', {}, ta.token);
  const al = await t.call('POST', `/api/v1/domains/${ta.domainId}/aliases`, { token: ta.token, body: { localPart: 'team', targets: [mb.address] } });
  const tok = await t.call('POST', `/api/v1/tenants/${ta.tenantId}/tokens`, { token: ta.token, body: { name: 'helpdesk', role: 'helpdesk' } });
  // Access objects of tenant A: external forwarding allowed by policy, an app password, a pending emergency reset.
  await t.call('PUT', `/api/v1/tenants/${ta.tenantId}/access-policy`, { token: ta.token, body: { externalForwarding: true } });
  await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: 'Correct-Horse-42-Battery' } });
  const app = await t.call('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: ta.token, body: { name: 'Phone', scopes: ['imap'] } });
  const rst = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, {
    token: ta.token,
    body: { kind: 'emergency', reason: 'lost phone', verification: { method: 'video-call', evidence: 'checked the passport on a call' }, newResetDestination: 'alice.new@home.example' },
  });
  // Sending objects of tenant A: a forward, a send-as grant, smarthost routes and its DKIM keys.
  const fwd = await t.call('POST', `/api/v1/mailboxes/${mb.id}/forwards`, { token: ta.token, body: { target: 'alice@elsewhere.example', reason: 'travelling' } });
  const grant = await t.call('POST', `/api/v1/mailboxes/${mb.id}/send-as`, { token: ta.token, body: { address: 'sales@tenant-a.example' } });
  await t.call('PUT', `/api/v1/domains/${ta.domainId}/outbound-route`, { token: ta.token, body: { host: 'relay.tenant-a.example', port: 587 } });
  await t.call('PUT', `/api/v1/tenants/${ta.tenantId}/outbound-route`, { token: ta.token, body: { host: 'relay.tenant-a.example', port: 587 } });
  const keys = await t.call('GET', `/api/v1/domains/${ta.domainId}/dkim`, { token: ta.token });
  const admin = await t.call('POST', `/api/v1/tenants/${ta.tenantId}/principals`, { token: ta.token, body: { name: 'Admin A', email: 'admin@tenant-a.example' } });
  // Portfolio objects of tenant A: a planned batch and a domain template.
  const batch = await t.call('POST', `/api/v1/tenants/${ta.tenantId}/batches`, {
    token: ta.token,
    body: { requestId: 'iso-1', rows: [{ localPart: 'bulk.one', domain: 'tenant-a.example', ownerName: 'Bulk One', ownerEmail: 'bulk.one@client-home.example' }] },
  });
  const tpl = await t.call('POST', `/api/v1/tenants/${ta.tenantId}/templates`, { token: ta.token, body: { name: 'Tenant A standard' } });
  // A migration batch of tenant A (issue 20): its one source is unreachable (nothing listens on port 1).
  const mgb = await t.call('POST', `/api/v1/tenants/${ta.tenantId}/migration-batches`, {
    token: ta.token,
    body: { rows: [{ address: mb.address, sourceHost: '127.0.0.1', sourcePort: 1, tls: 'implicit', user: 'alice', password: 'old-secret' }] },
  });
  // Spam objects of tenant A: a domain override and a mailbox list entry.
  await t.call('PUT', `/api/v1/domains/${ta.domainId}/spam-policy`, { token: ta.token, body: { junkScore: 5, rejectScore: 12, greylisting: false, failMode: 'tempfail' } });
  const spl = await t.call('POST', `/api/v1/mailboxes/${mb.id}/spam-lists`, { token: ta.token, body: { kind: 'block', value: 'pest@spam.example', reason: 'pest' } });
  // An IMAP migration job of tenant A (no runner in this app: it stays queued).
  const mig = await t.call('POST', `/api/v1/mailboxes/${mb.id}/migrations`, {
    token: ta.token,
    body: { source: { host: 'imap.old-provider.example', port: 993, tls: 'implicit', user: 'alice', password: 'source-pass' } },
  });
  // A shared mailbox of tenant A (issue 19): info@ with alice as a member.
  const info = await provisionMailbox(t, ta.domainId, 'info', {}, ta.token);
  const access = await t.call('POST', `/api/v1/mailboxes/${info.id}/access`, { token: ta.token, body: { memberMailboxId: mb.id, rights: ['read', 'seen'], reason: 'team inbox' } });
  if (access.status !== 201) throw new Error(`grant: ${access.status} ${JSON.stringify(access.body)}`);
  bMailboxId = (await provisionMailbox(t, b.domainId, 'bea', {}, b.token)).id;
  sessions = {
    aOwner: await ownerSession(ta.domainId, 'anna', ta.token),
    bOwner: await ownerSession(b.domainId, 'bob', b.token),
    bAdmin: await principalSession(b.tenantId, 'admin@tenant-b.example', b.token),
  };
  a = {
    ...ta,
    spamListId: spl.body.id,
    migrationId: mig.body.id,
    mailboxId: mb.id,
    aliasId: al.body.id,
    tokenId: tok.body.id,
    forwardId: fwd.body.id,
    grantId: grant.body.id,
    keyId: keys.body[0].id,
    principalId: admin.body.id,
    batchId: batch.body.id,
    templateId: tpl.body.id,
    appPasswordId: app.body.id,
    resetId: rst.body.id,
    migrationBatchId: mgb.body.id,
    accessGrantId: access.body.id,
    sharedMailboxId: info.id,
  };
});
afterAll(async () => t.close());

const PUBLIC_ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'POST /api/v1/setup/:token',
  // What a setup link is for (address, expiry, password rules): the secret in the path is the authority.
  'GET /api/v1/setup/:token',
  'GET /api/v1/principal-setup/:token',
  'POST /api/v1/operator-setup/:token',
  'GET /api/v1/openapi.json',
  // MTA-STS policies for Host: mta-sts.<domain> (public by nature).
  'GET /.well-known/mta-sts.txt',
  'GET /api/v1/docs',
  'GET /api/v1/docs/docs.js',
  // The web console's static files and SPA fallback (the console calls the API like any client).
  'GET /*',
  // Console login: these authorize by password and TOTP, a setup link's secret or a recovery code.
  'POST /api/v1/auth/login',
  'POST /api/v1/principal-setup/:token',
  'POST /api/v1/self/login',
  'POST /api/v1/self/password/recover',
  'POST /api/v1/self/password/reset-link',
  // Mail client self-configuration (clients ask before any login).
  'GET /.well-known/autoconfig/mail/config-v1.1.xml',
  'GET /mail/config-v1.1.xml',
  'POST /autodiscover/autodiscover.xml',
  'GET /autodiscover/autodiscover.json/v1.0/:email',
];

/** A valid body per route, so that only the tenant scope can refuse the call. */
function bodyFor(method: string, url: string): unknown {
  const key = `${method} ${url}`;
  const bodies: Record<string, unknown> = {
    'POST /api/v1/tenants': { name: 'Intruder' },
    'POST /api/v1/tenants/:tenantId/domains': { name: 'intruder.example' },
    'POST /api/v1/domains/:domainId/mailboxes': { localPart: 'intruder', owner: OWNER, credentialDelivery: 'link' },
    'POST /api/v1/domains/:domainId/aliases': { localPart: 'intruder', targets: ['x@outside.example'] },
    'PUT /api/v1/domains/:domainId/catch-all': { target: null },
    'POST /api/v1/tenants/:tenantId/tokens': { name: 'intruder' },
    'POST /api/v1/tokens': { name: 'intruder' },
    'POST /api/v1/mailboxes/:mailboxId/suspend': { reason: 'intrusion' },
    'POST /api/v1/mailboxes/:mailboxId/resume': { reason: 'intrusion' },
    'PATCH /api/v1/tenants/:tenantId': { quotaBytes: 1 },
    'PATCH /api/v1/mailboxes/:mailboxId': { quotaBytes: 1, displayName: 'Owned' },
    'POST /api/v1/mailboxes/:mailboxId/restore': { reason: 'intrusion' },
    'POST /api/v1/mailboxes/:mailboxId/ownership/transfer': {
      newOwner: { name: 'Mallory', email: 'mallory@evil.example' },
      approvedBy: { name: 'Eve', email: 'eve@evil.example' },
      reason: 'takeover',
    },
    'POST /api/v1/mailboxes/:mailboxId/rollback': { eventId: 1 },
    'PATCH /api/v1/domains/:domainId': { aliasOf: null },
    'POST /api/v1/domains/:domainId/restore': { reason: 'intrusion' },
    'PATCH /api/v1/aliases/:aliasId': { targets: ['x@outside.example'] },
    'POST /api/v1/tenants/:tenantId/principals': { name: 'Intruder', email: 'intruder@evil.example', permissions: ['mailboxes.read'] },
    'POST /api/v1/principals': { name: 'Intruder', email: 'intruder@evil.example' },
    'PATCH /api/v1/principals/:principalId': { status: 'disabled' },
    'POST /api/v1/principals/:principalId/reset': { reason: 'intrusion' },
    'POST /api/v1/mailboxes/:mailboxId/forwards': { target: 'loot@outside.example', reason: 'intrusion' },
    'POST /api/v1/mailboxes/:mailboxId/send-as': { address: 'ceo@tenant-a.example' },
    'PUT /api/v1/domains/:domainId/outbound-route': { host: 'evil.example', port: 25 },
    'PUT /api/v1/tenants/:tenantId/outbound-route': { host: 'evil.example', port: 25 },
    'PUT /api/v1/outbound-route': { host: 'evil.example', port: 25 },
    'POST /api/v1/domains/:domainId/dkim/rotate': {},
    'POST /api/v1/domains/:domainId/dkim/:keyId/activate': undefined,
    'POST /api/v1/domains/:domainId/dkim/:keyId/retire': undefined,
    'PUT /api/v1/mailboxes/:mailboxId/send-limits': { messagesPerHour: 1, recipientsPerHour: 1 },
    'POST /api/v1/mailboxes/:mailboxId/send-block/lift': { reason: 'intrusion' },
    'POST /api/v1/mailboxes/:mailboxId/resets': { kind: 'admin', reason: 'intrusion' },
    'POST /api/v1/resets/:resetId/approve': { note: 'intrusion' },
    'POST /api/v1/resets/:resetId/cancel': { reason: 'intrusion' },
    'PUT /api/v1/tenants/:tenantId/access-policy': { resetLinkToCaller: true, externalForwarding: true },
    'PUT /api/v1/tenants/:tenantId/required-addresses': { target: 'loot@outside.example' },
    'PUT /api/v1/mailboxes/:mailboxId/high-value': { highValue: false },
    'POST /api/v1/mailboxes/:mailboxId/app-passwords': { name: 'Intruder', scopes: ['imap', 'smtp'] },
    'POST /api/v1/mailboxes/:mailboxId/offboarding/plan': {},
    'POST /api/v1/mailboxes/:mailboxId/offboarding/apply': { reason: 'intrusion', convertTo: 'disabled' },
    'POST /api/v1/mailboxes/:mailboxId/offboarding/verify': undefined,
    'POST /api/v1/mailboxes/:mailboxId/offboarding/undo': { reason: 'intrusion' },
    'POST /api/v1/mailboxes/:mailboxId/restore-from-backup': { from: '/nonexistent/backup' },
    'POST /api/v1/tenants/:tenantId/batches': { requestId: 'intrusion-1', rows: [{ localPart: 'intruder', domain: 'tenant-a.example', ownerName: 'Mallory', ownerEmail: 'mallory@evil.example' }] },
    'POST /api/v1/batches/:batchId/apply': { mode: 'valid-rows' },
    'POST /api/v1/batches/:batchId/rollback': { reason: 'intrusion' },
    'POST /api/v1/batches/:batchId/verify': { sample: 1 },
    'POST /api/v1/tenants/:tenantId/migration-batches': { rows: [{ address: 'alice@tenant-a.example', sourceHost: '127.0.0.1', sourcePort: 1, tls: 'implicit', user: 'x', password: 'intrusion' }] },
    'POST /api/v1/migration-batches/:migrationBatchId/apply': {},
    'POST /api/v1/migration-batches/:migrationBatchId/cancel': undefined,
    'POST /api/v1/tenants/:tenantId/templates': { name: 'intruder' },
    'POST /api/v1/templates/:templateId/versions': { note: 'intrusion' },
    'POST /api/v1/domains/:domainId/template': { templateId: 'tpl_platform_default' },
    'POST /api/v1/tenants/:tenantId/template': { templateId: 'tpl_platform_default' },
    'PATCH /api/v1/domains/:domainId/settings': { settings: { catchAll: 'allowed' } },
    'POST /api/v1/domains/:domainId/dns/check': undefined,
    'POST /api/v1/domains/:domainId/dns/last-known-good': { reason: 'intrusion' },
    'POST /api/v1/mailboxes/:mailboxId/owner-totp/reset': { reason: 'intrusion' },
    'PUT /api/v1/tenants/:tenantId/spam-policy': { junkScore: 1, rejectScore: 2, greylisting: true, failMode: 'accept' },
    'PUT /api/v1/domains/:domainId/spam-policy': { junkScore: 1, rejectScore: 2, greylisting: true, failMode: 'accept' },
    'POST /api/v1/tenants/:tenantId/spam-lists': { kind: 'allow', value: 'evil.example' },
    'POST /api/v1/mailboxes/:mailboxId/spam-lists': { kind: 'allow', value: 'evil.example' },
    'POST /api/v1/mailboxes/:mailboxId/migrations': { source: { host: 'imap.evil.example', port: 993, tls: 'implicit', user: 'x', password: 'y' } },
    'POST /api/v1/migrations/:migrationId/run': { password: 'stolen' },
    'POST /api/v1/migrations/:migrationId/cancel': undefined,
    'POST /api/v1/mailboxes/:mailboxId/access': { memberMailboxId: 'mbx_000000000000000000000000', rights: ['read'], reason: 'intrusion' },
    'POST /api/v1/mailboxes/:mailboxId/access/rollback': { eventId: 1 },
    'PATCH /api/v1/access/:grantId': { rights: ['read', 'seen', 'write', 'insert', 'delete', 'create', 'send'] },
    // Session routes (console and self-service).
    'POST /api/v1/auth/logout': undefined,
    'POST /api/v1/auth/totp/enrol': undefined,
    'POST /api/v1/auth/totp/confirm': { code: '123456' },
    'POST /api/v1/self/app-passwords': { name: 'Intruder', scopes: ['imap'] },
    'POST /api/v1/self/password': { currentPassword: 'Not-The-Passw0rd!', newPassword: 'Intruder-Passw0rd-42' },
    'POST /api/v1/self/recovery-codes': { currentPassword: 'Not-The-Passw0rd!' },
    'POST /api/v1/self/totp/enrol': undefined,
    'POST /api/v1/self/totp/confirm': { code: '123456' },
    'POST /api/v1/self/totp/disable': { currentPassword: 'Not-The-Passw0rd!', code: '123456' },
    'POST /api/v1/self/forwards': { target: 'loot@outside.example', reason: 'intrusion' },
    'POST /api/v1/self/spam-lists': { kind: 'allow', value: 'evil.example' },
  };
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    if (!(key in bodies)) throw new Error(`matrix test needs a sample body for ${key}`);
    return bodies[key];
  }
  return undefined;
}

function fill(url: string): string | null {
  const ids: Record<string, string> = {
    tenantId: a.tenantId,
    domainId: a.domainId,
    mailboxId: a.mailboxId,
    principalId: a.principalId,
    aliasId: a.aliasId,
    tokenId: a.tokenId,
    forwardId: a.forwardId,
    grantId: a.grantId,
    keyId: a.keyId,
    batchId: a.batchId,
    templateId: a.templateId,
    appPasswordId: a.appPasswordId,
    resetId: a.resetId,
    spamListId: a.spamListId,
    migrationBatchId: a.migrationBatchId,
    migrationId: a.migrationId,
  };
  // /access/:grantId names a shared-mailbox grant; /send-as/:grantId a send-as grant.
  if (url.startsWith('/api/v1/access/')) ids.grantId = a.accessGrantId;
  let addressed = false;
  const out = url.replace(/:(\w+)/g, (_m, name: string) => {
    if (!(name in ids)) throw new Error(`matrix test does not know param :${name} of ${url}`);
    addressed = true;
    return ids[name]!;
  });
  return addressed ? out : null;
}

async function snapshot() {
  const db = t.core.db;
  type Counted =
    | 'tenants'
    | 'domains'
    | 'mailboxes'
    | 'aliases'
    | 'api_tokens'
    | 'setup_tokens'
    | 'audit_events'
    | 'forwards'
    | 'send_as_grants'
    | 'outbound_routes'
    | 'dkim_keys'
    | 'spam_policies'
    | 'spam_lists'
    | 'imap_migrations'
    | 'mailbox_grants';
  const count = async (table: Counted) =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const tables: Counted[] = [
    'tenants',
    'domains',
    'mailboxes',
    'aliases',
    'api_tokens',
    'setup_tokens',
    'audit_events',
    'forwards',
    'send_as_grants',
    'outbound_routes',
    'dkim_keys',
    'spam_policies',
    'spam_lists',
    'imap_migrations',
    'mailbox_grants',
  ];
  return {
    counts: await Promise.all(tables.map(count)),
    forwards: await db.selectFrom('forwards').select(['id', 'status']).execute(),
    routes: await db.selectFrom('outbound_routes').selectAll().execute(),
    keys: await db.selectFrom('dkim_keys').select(['id', 'status']).execute(),
    spamPolicies: await db.selectFrom('spam_policies').selectAll().execute(),
    domain: await db.selectFrom('domains').selectAll().where('id', '=', a.domainId).executeTakeFirst(),
    mailbox: await db.selectFrom('mailboxes').selectAll().where('id', '=', a.mailboxId).executeTakeFirst(),
    token: await db.selectFrom('api_tokens').select(['id', 'revoked_at']).where('id', '=', a.tokenId).executeTakeFirst(),
    principal: await db.selectFrom('principals').selectAll().where('id', '=', a.principalId).executeTakeFirst(),
    migration: await db.selectFrom('imap_migrations').selectAll().where('id', '=', a.migrationId).executeTakeFirst(),
    grants: await db.selectFrom('mailbox_grants').selectAll().orderBy('id').execute(),
  };
}

describe('route table', () => {
  it('every route declares a permission; public routes are exactly the known ones', () => {
    const routes = t.app.controlRoutes;
    expect(routes.length).toBeGreaterThan(15);
    for (const r of routes) {
      expect(r.permission, `${r.method} ${r.url}`).toBeDefined();
      expect(r.permission === 'public' || r.permission === 'session' || isPermission(r.permission!), `${r.method} ${r.url}: ${r.permission}`).toBe(true);
    }
    const pub = routes.filter((r) => r.permission === 'public').map((r) => `${r.method} ${r.url}`);
    expect(pub.sort()).toEqual([...PUBLIC_ROUTES].sort());
    // Session routes declare the kind of session they accept (the hook enforces it).
    const session = routes.filter((r) => r.permission === 'session');
    expect(session.length).toBeGreaterThanOrEqual(23);
    for (const r of session) expect(['owner', 'principal', 'either'], `${r.method} ${r.url}`).toContain(r.session);
  });

  it('refuses to register a session route without a session kind', async () => {
    const { default: Fastify } = await import('fastify');
    const { installSessionAuth } = await import('../../control/plugins/session-auth.js');
    const app = Fastify();
    const boot = async () => {
      await app.register(async (scope) => {
        installSessionAuth(scope, t.core);
        scope.get('/oops', { config: { permission: 'session' } }, async () => 'x');
      });
      await app.ready();
    };
    await expect(boot()).rejects.toThrow(/must declare config.permission 'session' and config.session/);
    await app.close();
  });

  it('refuses to register a protected route without a permission', async () => {
    const { default: Fastify } = await import('fastify');
    const { installAuthentication } = await import('../../control/plugins/authn.js');
    const app = Fastify();
    const boot = async () => {
      await app.register(async (scope) => {
        installAuthentication(scope, t.core);
        scope.get('/oops', async () => 'x');
      });
      await app.ready();
    };
    await expect(boot()).rejects.toThrow(/must declare config.permission/);
    await app.close();
  });
});

describe('cross-tenant matrix', () => {
  it("answers 404 to tenant B's token on every route addressing tenant A's objects, and changes nothing", async () => {
    const before = await snapshot();
    const tried: string[] = [];
    for (const r of t.app.controlRoutes) {
      if (r.permission === 'public' || r.permission === 'session') continue;
      const url = fill(r.url);
      if (url === null) continue;
      const res = await t.call(r.method as 'GET', url, { token: b.token, body: bodyFor(r.method, r.url) });
      if (PERMISSIONS[r.permission as Permission].scope === 'platform') {
        // Platform routes (tenants.manage…) are closed to every tenant actor before any lookup.
        expect(res.status, `${r.method} ${url} → ${JSON.stringify(res.body)}`).toBe(403);
        continue;
      }
      expect(res.status, `${r.method} ${url} → ${JSON.stringify(res.body)}`).toBe(404);
      expect(res.body.error.code).toBe('NotFound');
      tried.push(`${r.method} ${r.url}`);
    }
    expect(tried.length).toBeGreaterThanOrEqual(12);
    expect(await snapshot()).toEqual(before);
  });

  it("the same calls with tenant A's own token are not 404 (the matrix is meaningful)", async () => {
    for (const r of t.app.controlRoutes) {
      if (r.permission === 'public' || r.permission === 'session' || r.method !== 'GET') continue;
      const url = fill(r.url);
      if (url === null) continue;
      const res = await t.call('GET', url, { token: a.token });
      expect(res.status, `${r.method} ${url}`).toBe(200);
    }
  });

  it("a shared mailbox never reaches across tenants: another tenant's mailbox as member, or granting on it, is 404", async () => {
    const before = await snapshot();
    // Tenant B grants its own mailbox to tenant A's alice: the member is not found.
    const asMember = await t.call('POST', `/api/v1/mailboxes/${bMailboxId}/access`, { token: b.token, body: { memberMailboxId: a.mailboxId, rights: ['read'], reason: 'intrusion' } });
    expect(asMember.status, JSON.stringify(asMember.body)).toBe(404);
    // An operator (every tenant in scope) cannot join two tenants' mailboxes either, in either position.
    for (const [shared, member] of [
      [bMailboxId, a.mailboxId],
      [a.sharedMailboxId, bMailboxId],
    ]) {
      const op = await t.call('POST', `/api/v1/mailboxes/${shared}/access`, { token: t.operatorToken, body: { memberMailboxId: member, rights: ['read'], reason: 'intrusion' } });
      expect(op.status, JSON.stringify(op.body)).toBe(404);
    }
    // Tenant B cannot see who reaches tenant A's mailboxes, nor which shared mailboxes alice reaches.
    expect((await t.call('GET', `/api/v1/mailboxes/${a.mailboxId}/shared-access`, { token: b.token })).status).toBe(404);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/reports/sharing`, { token: b.token })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it('unaddressed reads show only the caller tenant', async () => {
    const tenants = await t.call('GET', '/api/v1/tenants', { token: b.token });
    expect(tenants.body.map((x: { id: string }) => x.id)).toEqual([b.tenantId]);
    const events = await t.call('GET', '/api/v1/audit/events?limit=500', { token: b.token });
    expect(events.status).toBe(200);
    expect(events.body.length).toBeGreaterThan(0);
    expect(events.body.every((e: { tenantId: string }) => e.tenantId === b.tenantId)).toBe(true);
    const filtered = await t.call('GET', `/api/v1/audit/events?tenantId=${a.tenantId}`, { token: b.token });
    expect(filtered.body).toEqual([]);
  });

  it('a tenant token cannot reach platform routes (403) nor grant itself more', async () => {
    expect((await t.call('POST', '/api/v1/tenants', { token: b.token, body: { name: 'X' } })).status).toBe(403);
    expect((await t.call('GET', '/api/v1/audit/verify', { token: b.token })).status).toBe(403);
    expect((await t.call('POST', '/api/v1/tokens', { token: b.token, body: { name: 'op' } })).status).toBe(403);
    const grant = await t.call('POST', `/api/v1/tenants/${b.tenantId}/tokens`, { token: b.token, body: { name: 'root', permissions: ['tenants.manage'] } });
    expect(grant.status).toBe(403);
  });
});

describe('session routes', () => {
  const sessionRoutes = () => t.app.controlRoutes.filter((r) => r.permission === 'session');

  it('answer 401 to every call without a session', async () => {
    for (const r of sessionRoutes()) {
      const url = fill(r.url) ?? r.url;
      const res = await t.call(r.method as 'GET', url, { token: null, body: bodyFor(r.method, r.url) });
      expect(res.status, `${r.method} ${url} → ${JSON.stringify(res.body)}`).toBe(401);
      expect(res.body.error.code).toBe('Unauthorized');
    }
  });

  it("answer 404 to tenant B's owner session on every route addressing tenant A's objects, and change nothing", async () => {
    const before = await snapshot();
    const appPasswords = await t.call('GET', `/api/v1/mailboxes/${a.mailboxId}/app-passwords`, { token: a.token });
    const tried: string[] = [];
    for (const r of sessionRoutes()) {
      const url = fill(r.url);
      if (url === null) continue;
      const res = await t.call(r.method as 'GET', url, { token: null, headers: sessions.bOwner, body: bodyFor(r.method, r.url) });
      expect(res.status, `${r.method} ${url} → ${JSON.stringify(res.body)}`).toBe(404);
      expect(res.body.error.code).toBe('NotFound');
      tried.push(`${r.method} ${r.url}`);
    }
    expect(tried.length).toBeGreaterThanOrEqual(3);
    expect(await snapshot()).toEqual(before);
    expect((await t.call('GET', `/api/v1/mailboxes/${a.mailboxId}/app-passwords`, { token: a.token })).body).toEqual(appPasswords.body);
    // The same session reaches its own area (the 404s above are about the objects, not the session).
    expect((await t.call('GET', '/api/v1/self/app-passwords', { token: null, headers: sessions.bOwner })).status).toBe(200);
  });

  it('accept only the declared kind of session: a principal on owner routes and an owner on principal routes are 403', async () => {
    for (const r of sessionRoutes()) {
      if (r.session === 'either' || fill(r.url) !== null) continue;
      const headers = r.session === 'owner' ? sessions.bAdmin : sessions.aOwner;
      const res = await t.call(r.method as 'GET', r.url, { token: null, headers, body: bodyFor(r.method, r.url) });
      expect(res.status, `${r.method} ${r.url} → ${JSON.stringify(res.body)}`).toBe(403);
    }
    // Both kinds reach the 'either' routes.
    for (const headers of [sessions.aOwner, sessions.bAdmin]) expect((await t.call('GET', '/api/v1/auth/session', { token: null, headers })).status).toBe(200);
  });

  it('state-changing session calls need the CSRF token', async () => {
    const { 'x-csrf-token': _csrf, ...cookieOnly } = sessions.bOwner;
    const res = await t.call('POST', '/api/v1/self/spam-lists', { token: null, headers: cookieOnly, body: bodyFor('POST', '/api/v1/self/spam-lists') });
    expect(res.status).toBe(403);
  });
});
