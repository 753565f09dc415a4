/**
 * DNS watched like production, against a real DNS server (dnsmasq on loopback, authoritative
 * for the test zones): correct records verify the domain and become last-known-good; drifted
 * records (a second SPF, a foreign MX, a wrong DMARC and DKIM key) and missing records are
 * reported per record; the good→bad change is an audit event; last-known-good is kept and can
 * be gone back to; the schedule checks by itself; MTA-STS is served for mta-sts.<domain>.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onDnsTransition, startDnsScheduler, type DnsTransition } from '../../appliance/core/templates/dns-check.service.js';
import { createResolver } from '../../appliance/net/resolver.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';
import { type DnsRecord, type DnsServer, startDnsServer } from '../helpers/dns.js';

const DOMAIN = 'client-dns.example';
let t: TestApp;
let dns: DnsServer;
let a: { tenantId: string; domainId: string; token: string };
const HOSTS: DnsRecord[] = [
  { type: 'A', name: 'mx.postern.test', value: '127.0.0.1' },
  { type: 'A', name: 'console.postern.test', value: '127.0.0.1' },
];
const transitions: DnsTransition[] = [];
let unsubscribe: () => void;

interface Expected {
  type: string;
  name: string;
  value: string;
  purpose: string;
  required: boolean;
}

function toDnsmasq(records: Expected[]): DnsRecord[] {
  return records.map((r): DnsRecord => {
    if (r.type === 'MX') {
      const [prio, host] = r.value.split(' ');
      return { type: 'MX', name: r.name, value: host!, priority: Number(prio) };
    }
    if (r.type === 'SRV') {
      const [priority, weight, port, target] = r.value.split(' ');
      return { type: 'SRV', name: r.name, value: target!, port: Number(port), priority: Number(priority), weight: Number(weight) };
    }
    if (r.type === 'CNAME') return { type: 'CNAME', name: r.name, value: r.value };
    return { type: 'TXT', name: r.name, value: r.value };
  });
}

let expected: Expected[];
const check = async () => {
  const res = await t.call('POST', `/api/v1/domains/${a.domainId}/dns/check`, { token: a.token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};
const byName = (body: { records: Array<{ type: string; name: string; purpose: string; status: string; found: string[] }> }, purpose: string, name?: string) =>
  body.records.find((r) => r.purpose === purpose && (name === undefined || r.name === name))!;

beforeAll(async () => {
  dns = await startDnsServer([DOMAIN, 'postern.test'], HOSTS);
  t = await createTestApp({ env: { POSTERN_DNS_RESOLVER: dns.address } });
  a = await provisionTenant(t, 'DNS Client', DOMAIN);
  unsubscribe = onDnsTransition((x) => transitions.push(x));
  const tpl = await t.call('POST', `/api/v1/tenants/${a.tenantId}/templates`, { token: a.token, body: { name: 'Standard', note: 'quarantine, testing MTA-STS' } });
  expect((await t.call('POST', `/api/v1/domains/${a.domainId}/template`, { token: a.token, body: { templateId: tpl.body.id } })).status).toBe(200);
  const exp = await t.call('GET', `/api/v1/domains/${a.domainId}/dns/expected`, { token: a.token });
  expected = exp.body.records;
}, 60_000);
afterAll(async () => {
  unsubscribe?.();
  await t?.close();
  await dns?.stop();
});

describe('expected records', () => {
  it('lists MX, SPF, DKIM of every live selector, DMARC, MTA-STS, TLS-RPT, autoconfig/autodiscover and SRV', () => {
    const purposes = expected.map((r) => r.purpose);
    for (const p of ['mx', 'spf', 'dkim', 'dmarc', 'mta-sts', 'tls-rpt', 'autoconfig', 'autodiscover', 'srv']) expect(purposes).toContain(p);
    expect(expected.filter((r) => r.purpose === 'dkim')).toHaveLength(2);
    expect(expected.find((r) => r.purpose === 'dmarc')!.value).toBe(`v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${DOMAIN}`);
    expect(expected.find((r) => r.purpose === 'mx')).toMatchObject({ value: '10 mx.postern.test', required: true });
  });

  it('exports a BIND zone snippet', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/domains/${a.domainId}/dns/zone`, headers: { authorization: `Bearer ${a.token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toContain(`${DOMAIN}. 3600 IN MX 10 mx.postern.test.`);
    expect(res.body).toContain(`_dmarc.${DOMAIN}. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${DOMAIN}"`);
    expect(res.body).toMatch(/_domainkey\.client-dns\.example\. 3600 IN TXT \( "v=DKIM1; k=rsa; p=[^"]+" "[^"]+" \)/);
    expect(res.body).toContain(`_imaps._tcp.${DOMAIN}. 3600 IN SRV 0 1 ${t.config.publicPorts.imaps} mx.postern.test.`);
  });
});

describe('DNS check against a real DNS server', () => {
  let goodSnapshot: number;

  it('missing records: failing, each required record missing, the domain stays unverified', async () => {
    const body = await check();
    expect(body.status).toBe('failing');
    for (const r of body.records) expect(r.status, `${r.type} ${r.name}`).toBe('missing');
    expect(body.verification).toBe('pending');
    expect(body.lastKnownGood).toBeNull();
  });

  it('correct records: ok everywhere, the domain becomes verified, the snapshot is last-known-good', async () => {
    await dns.setRecords([...HOSTS, ...toDnsmasq(expected)]);
    const body = await check();
    for (const r of body.records) expect(r.status, `${r.type} ${r.name}: ${JSON.stringify(r.found)}`).toBe('ok');
    expect(body.status).toBe('ok');
    expect(body.verification).toBe('verified');
    expect(body.lastKnownGood.snapshotId).toBe(body.snapshotId);
    goodSnapshot = body.snapshotId;
    expect(body.transition).toBeNull(); // from failing to ok after never having been good: not a restoration
    const dom = await t.call('GET', `/api/v1/domains/${a.domainId}`, { token: a.token });
    expect(dom.body.verification).toBe('verified');
  });

  it('drifted records: a second SPF and a foreign MX conflict, DMARC and DKIM are wrong; good→bad is an audit event', async () => {
    const dkim = expected.find((r) => r.purpose === 'dkim' && r.value.includes('k=rsa'))!;
    const drifted = toDnsmasq(
      expected.map((r) => {
        if (r.purpose === 'dmarc') return { ...r, value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${DOMAIN}` };
        if (r === dkim) return { ...r, value: 'v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong' };
        return r;
      }),
    );
    drifted.push({ type: 'TXT', name: DOMAIN, value: 'v=spf1 include:spf.other-provider.example ~all' });
    drifted.push({ type: 'MX', name: DOMAIN, value: 'mx.other-provider.example', priority: 5 });
    await dns.setRecords([...HOSTS, ...drifted]);
    const body = await check();
    expect(body.status).toBe('failing');
    expect(byName(body, 'spf')).toMatchObject({ status: 'conflict' });
    expect(byName(body, 'spf').found).toHaveLength(2);
    expect(byName(body, 'mx')).toMatchObject({ status: 'conflict' });
    expect(byName(body, 'mx').found).toEqual(expect.arrayContaining(['5 mx.other-provider.example', '10 mx.postern.test']));
    expect(byName(body, 'dmarc')).toMatchObject({ status: 'wrong', found: [`v=DMARC1; p=none; rua=mailto:dmarc-reports@${DOMAIN}`] });
    expect(byName(body, 'dkim', dkim.name)).toMatchObject({ status: 'wrong' });
    expect(byName(body, 'tls-rpt')).toMatchObject({ status: 'ok' });
    expect(body.transition).toBe('broke');
    expect(body.lastKnownGood.snapshotId).toBe(goodSnapshot);
    const ev = await t.call('GET', `/api/v1/audit/events?action=domain.dns`, { token: a.token });
    expect(ev.status).toBe(200);
    const broke = await t.core.db.selectFrom('audit_events').select(['action', 'after']).where('target_id', '=', a.domainId).where('action', '=', 'domain.dns.broke').execute();
    expect(broke).toHaveLength(1);
    expect(transitions.map((x) => x.kind)).toEqual(['broke']);
  });

  it('missing again: reported per record; last-known-good is kept; history shows every snapshot', async () => {
    await dns.setRecords(HOSTS);
    const body = await check();
    expect(body.status).toBe('failing');
    expect(body.transition).toBeNull();
    expect(body.lastKnownGood.snapshotId).toBe(goodSnapshot);
    const hist = await t.call('GET', `/api/v1/domains/${a.domainId}/dns/history`, { token: a.token });
    expect(hist.status).toBe(200);
    expect(hist.body.snapshots.map((s: { status: string }) => s.status)).toEqual(['failing', 'failing', 'ok', 'failing']);
    expect(hist.body.lastKnownGood.id).toBe(goodSnapshot);
    expect(hist.body.lastKnownGood.records.every((r: { status: string }) => r.status === 'ok')).toBe(true);
  });

  it('back to last-known-good: the template version of the good snapshot is re-applied, its records returned', async () => {
    // A template change after the good snapshot: DMARC p=reject.
    const status = await t.call('GET', `/api/v1/domains/${a.domainId}/template`, { token: a.token });
    const tplId = status.body.template.id;
    const v2 = await t.call('POST', `/api/v1/templates/${tplId}/versions`, { token: a.token, body: { settings: { dmarc: { policy: 'reject' } }, note: 'stricter' } });
    expect(v2.status).toBe(201);
    await t.call('POST', `/api/v1/domains/${a.domainId}/template`, { token: a.token, body: { templateId: tplId } });
    const now = await t.call('GET', `/api/v1/domains/${a.domainId}/dns/expected`, { token: a.token });
    expect(now.body.records.find((r: Expected) => r.purpose === 'dmarc').value).toMatch(/p=reject/);

    const res = await t.call('POST', `/api/v1/domains/${a.domainId}/dns/last-known-good`, { token: a.token, body: { reason: 'outage at 2 AM' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.snapshot.id).toBe(goodSnapshot);
    expect(res.body.template.template).toEqual({ id: tplId, version: 1 });
    expect(res.body.zone).toContain('p=quarantine');
    const after = await t.call('GET', `/api/v1/domains/${a.domainId}/dns/expected`, { token: a.token });
    expect(after.body.template).toEqual({ id: tplId, version: 1 });
    expect(after.body.records.find((r: Expected) => r.purpose === 'dmarc').value).toMatch(/p=quarantine/);

    // Records put back: ok again, and the transition bad→good is recorded.
    await dns.setRecords([...HOSTS, ...toDnsmasq(res.body.records)]);
    const body = await check();
    expect(body.status).toBe('ok');
    expect(body.transition).toBe('restored');
  });

  it('the timeline merges DNS snapshots, template changes and events', async () => {
    const res = await t.call('GET', `/api/v1/domains/${a.domainId}/timeline`, { token: a.token });
    expect(res.status).toBe(200);
    const kinds = new Set(res.body.entries.map((e: { kind: string }) => e.kind));
    expect([...kinds].sort()).toEqual(['dns', 'event', 'template']);
    const summaries = res.body.entries.map((e: { summary: string }) => e.summary).join('\n');
    expect(summaries).toMatch(/domain\.dns\.broke/);
    expect(summaries).toMatch(/domain\.template\.apply: tpl_\w+ v1/);
    expect(summaries).toMatch(/DNS failing: .*conflict/);
    const ats = res.body.entries.map((e: { at: string }) => e.at);
    expect([...ats].sort().reverse()).toEqual(ats);
  });

  it('the scheduler checks domains by itself once they are due', async () => {
    const sched = startDnsScheduler(t.core, { resolve: createResolver({ host: '127.0.0.1', port: dns.port }), intervalMs: 60_000 });
    try {
      expect(await sched.tick()).toBeNull(); // just checked
      t.advance(61_000);
      expect(await sched.tick()).toBe(a.domainId);
      expect(await sched.tick()).toBeNull();
    } finally {
      await sched.stop();
    }
    const hist = await t.call('GET', `/api/v1/domains/${a.domainId}/dns/history?limit=1`, { token: a.token });
    expect(hist.body.snapshots[0].status).toBe('ok');
  });
});

describe('MTA-STS policy', () => {
  it('is served for Host mta-sts.<domain> only', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/.well-known/mta-sts.txt', headers: { host: `mta-sts.${DOMAIN}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('version: STSv1\r\nmode: testing\r\nmx: mx.postern.test\r\nmax_age: 604800\r\n');
    const other = await t.app.inject({ method: 'GET', url: '/.well-known/mta-sts.txt', headers: { host: 'mta-sts.not-hosted.example' } });
    expect(other.statusCode).toBe(404);
    const plain = await t.app.inject({ method: 'GET', url: '/.well-known/mta-sts.txt', headers: { host: 'console.postern.test' } });
    expect(plain.statusCode).toBe(404);
  });
});
