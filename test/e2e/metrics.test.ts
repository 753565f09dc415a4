/**
 * Monitoring, end to end: GET /metrics on the running appliance (Haraka child included) is
 * accepted by promtool, a real Prometheus scrapes it (up == 1) and sees the delivery counter move
 * after a swaks delivery; the bearer token and the network allow-list keep other readers out.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { type Prometheus, promtoolCheckMetrics, startPrometheus } from '../helpers/prometheus.js';
import { swaks } from '../helpers/swaks.js';

const TOKEN = 'metrics-token-0123456789abcdef';
const ADDRESS = 'watched@metrics.test';
const PASSWORD = 'Sturdy-Passw0rd!';

/** Every metric family the appliance promises (issue 9), by name. */
const FAMILIES = [
  'postern_smtp_connections_total',
  'postern_smtp_sessions',
  'postern_smtp_messages_accepted_total',
  'postern_smtp_rejections_total',
  'postern_smtp_local_deliveries_total',
  'postern_outbound_results_total',
  'postern_outbound_queue_messages',
  'postern_outbound_queue_oldest_age_seconds',
  'postern_dkim_signatures_total',
  'postern_inbound_auth_results_total',
  'postern_imap_connections_total',
  'postern_imap_sessions',
  'postern_imap_commands_total',
  'postern_imap_command_duration_seconds',
  'postern_auth_attempts_total',
  'postern_send_limit_refusals_total',
  'postern_send_blocks_total',
  'postern_mailstore_used_bytes',
  'postern_mailstore_messages',
  'postern_ingest_commit_duration_seconds',
  'postern_ingest_copies_total',
  'postern_http_request_duration_seconds',
  'postern_dns_check_status',
  'postern_audit_chain_ok',
  'postern_audit_chain_events',
  'postern_audit_chain_verified_timestamp_seconds',
  'postern_mta_up',
  'postern_mta_restarts_total',
  'postern_mta_resident_memory_bytes',
  'postern_mta_heap_used_bytes',
  'postern_mta_cpu_seconds_total',
  'postern_mta_event_loop_lag_seconds',
  'process_resident_memory_bytes',
  'process_cpu_seconds_total',
  'nodejs_eventloop_lag_seconds',
];

/** The value of one sample in an exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('GET /metrics on the running appliance', () => {
  let app: Appliance;
  let prom: Prometheus | null = null;

  const scrape = async (token: string | null = TOKEN) => {
    const res = await fetch(`${app.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };

  beforeAll(async () => {
    app = await Appliance.start({ env: { POSTERN_METRICS_TOKEN: TOKEN } });
    await app.provisionMailbox(ADDRESS, PASSWORD);
  });
  afterAll(async () => {
    await prom?.stop();
    await app?.stop();
  });

  it('answers 401 without the configured bearer token, or with another one', async () => {
    expect((await scrape(null)).status).toBe(401);
    const wrong = await scrape('not-the-metrics-token-at-all');
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text).error.code).toBe('Unauthorized');
    expect(wrong.text).not.toContain('postern_');
  });

  it('serves every metric family in the Prometheus text format, accepted by promtool', async () => {
    const r = await scrape();
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of FAMILIES) expect(r.text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    const check = await promtoolCheckMetrics(r.text);
    expect(check.code, check.output).toBe(0);
    expect(sample(r.text, 'postern_mta_up')).toBe(1);
    // Every hosted domain has exactly one current DNS status: 'unknown' until the scheduler (which
    // checks never-checked domains first) or an operator has checked it, then the check's result.
    const statuses = ['unknown', 'ok', 'degraded', 'failing'].filter((status) => sample(r.text, 'postern_dns_check_status', { domain: 'metrics.test', status }) === 1);
    expect(statuses).toHaveLength(1);
    expect(sample(r.text, 'postern_audit_chain_ok')).toBe(1);
    expect(sample(r.text, 'postern_audit_chain_events')).toBeGreaterThanOrEqual(0);
    // The Haraka child reports its own process figures over RPC.
    const rss = await until(async () => sample((await scrape()).text, 'postern_mta_resident_memory_bytes') || undefined, 5_000, 'MTA memory');
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('is scraped by a real Prometheus (up == 1) that sees the delivery counters move after a delivery', async () => {
    prom = await startPrometheus({ target: `127.0.0.1:${app.ports.http}`, bearerToken: TOKEN });
    await prom.waitFor('up{job="postern"}', (v) => v === 1);
    const deliveries = 'postern_smtp_local_deliveries_total{job="postern"}';
    const accepted = 'postern_smtp_messages_accepted_total{job="postern",listener="mx"}';
    const before = await prom.waitFor(deliveries, (v) => v >= 0);
    const acceptedBefore = Number((await prom.query(accepted))[0]?.value[1] ?? 0);

    const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'someone@elsewhere.test', '--to', ADDRESS, '--header', 'Subject: counted']);
    expect(r.exitCode, r.output).toBe(0);

    expect(await prom.waitFor(deliveries, (v) => v >= before + 1)).toBe(before + 1);
    await prom.waitFor(accepted, (v) => v >= acceptedBefore + 1);
    await prom.waitFor('postern_mailstore_messages{job="postern"}', (v) => v >= 1, 30_000);
    await prom.waitFor('sum(postern_smtp_connections_total{job="postern",listener="mx"})', (v) => v >= 1);
    await prom.waitFor('sum(postern_inbound_auth_results_total{job="postern",check="spf"})', (v) => v >= 1);
    await prom.waitFor('sum(postern_http_request_duration_seconds_count{job="postern",route="/metrics"})', (v) => v >= 1);
  });

  it('the Grafana dashboard queries only metrics we expose, and Prometheus accepts every one of them', async () => {
    expect(prom, 'runs after the Prometheus test').not.toBeNull();
    const dashboard = JSON.parse(readFileSync(path.resolve(__dirname, '../../scripts/monitoring/grafana-dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(30);
    const exposed = (await scrape()).text;
    for (const { panel, expr } of exprs) {
      for (const name of expr.match(/\b(postern|process|nodejs)_\w+/g) ?? []) {
        const family = name.replace(/_(bucket|count|sum)$/, '');
        expect(exposed, `${panel}: ${name}`).toMatch(new RegExp(`^# TYPE ${family} `, 'm'));
      }
      const concrete = expr.replace(/\$__rate_interval/g, '1m').replace(/\$(job|instance)/g, '.*');
      await expect(prom!.query(concrete), `${panel}: ${expr}`).resolves.toBeDefined();
    }
  });

  it('counts refusals by stage and reply code, IMAP commands with latency, and logins by protocol', async () => {
    const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'someone@elsewhere.test', '--to', 'nobody@metrics.test', '--quit-after', 'RCPT']);
    expect(r.output).toMatch(/550 5\.1\.1/);
    const c = new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user: ADDRESS, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
    await c.connect();
    await c.mailboxOpen('INBOX');
    await c.logout();
    const bad = new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user: ADDRESS, pass: 'wrong-password' }, tls: { rejectUnauthorized: false }, logger: false });
    await expect(bad.connect()).rejects.toThrow();

    const text = await until(
      async () => {
        const t = (await scrape()).text;
        return sample(t, 'postern_smtp_rejections_total', { listener: 'mx', stage: 'rcpt', code: '550 5.1.1' }) ? t : undefined;
      },
      5_000,
      'the RCPT refusal to be counted',
    );
    expect(sample(text, 'postern_smtp_rejections_total', { listener: 'mx', stage: 'rcpt', code: '550 5.1.1' })).toBe(1);
    expect(sample(text, 'postern_imap_commands_total', { command: 'SELECT', status: 'OK' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'postern_imap_command_duration_seconds_count', { command: 'SELECT' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'postern_imap_connections_total', { listener: 'imaps' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'postern_auth_attempts_total', { protocol: 'imap', result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'postern_auth_attempts_total', { protocol: 'imap', result: 'invalid' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'postern_ingest_commit_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    // Labels never carry addresses.
    expect(text).not.toContain('@');
  });
});

describe('GET /metrics access settings', () => {
  const cases: Array<{ name: string; env: Record<string, string>; remote: string; auth?: string; status: number }> = [
    { name: 'open by default', env: {}, remote: '203.0.113.9', status: 200 },
    { name: 'allow-list: address inside a listed network', env: { POSTERN_METRICS_ALLOW: '10.0.0.0/8, 192.0.2.7' }, remote: '10.20.30.40', status: 200 },
    { name: 'allow-list: a listed single address', env: { POSTERN_METRICS_ALLOW: '10.0.0.0/8, 192.0.2.7' }, remote: '192.0.2.7', status: 200 },
    { name: 'allow-list: IPv4-mapped IPv6 form of a listed address', env: { POSTERN_METRICS_ALLOW: '10.0.0.0/8' }, remote: '::ffff:10.0.0.1', status: 200 },
    { name: 'allow-list: IPv6 network', env: { POSTERN_METRICS_ALLOW: '2001:db8::/32' }, remote: '2001:db8::42', status: 200 },
    { name: 'allow-list: address outside', env: { POSTERN_METRICS_ALLOW: '10.0.0.0/8, 192.0.2.7' }, remote: '192.0.2.8', status: 403 },
    { name: 'token and allow-list: both hold', env: { POSTERN_METRICS_ALLOW: '127.0.0.1', POSTERN_METRICS_TOKEN: TOKEN }, remote: '127.0.0.1', auth: `Bearer ${TOKEN}`, status: 200 },
    { name: 'token and allow-list: token missing', env: { POSTERN_METRICS_ALLOW: '127.0.0.1', POSTERN_METRICS_TOKEN: TOKEN }, remote: '127.0.0.1', status: 401 },
    { name: 'token and allow-list: wrong network', env: { POSTERN_METRICS_ALLOW: '127.0.0.1', POSTERN_METRICS_TOKEN: TOKEN }, remote: '10.0.0.1', auth: `Bearer ${TOKEN}`, status: 403 },
    { name: 'token: the API operator token is not the metrics token', env: { POSTERN_METRICS_TOKEN: TOKEN }, remote: '127.0.0.1', auth: 'operator', status: 401 },
  ];
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close();
  });

  it.each(cases)('$name → $status', async ({ env, remote, auth, status }) => {
    const t = await createTestApp({ env });
    apps.push(t);
    const authorization = auth === 'operator' ? `Bearer ${t.operatorToken}` : auth;
    const res = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: remote, headers: authorization ? { authorization } : {} });
    expect(res.statusCode, res.body).toBe(status);
    if (status === 200) expect(res.body).toMatch(/^# HELP /m);
  });
});
