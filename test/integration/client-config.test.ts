/**
 * What the appliance tells mail clients and DNS servers: autoconfig and autodiscover documents
 * (parsed by Python's xml.etree and checked for the published schemas' required elements),
 * with the public host name and ports; hosted domains only, and no mailbox enumeration; DNS
 * records that a DNS server accepts (the BIND snippet through named-checkzone), never an IP
 * address as CNAME/SRV target, SRV on the public ports.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

const XML_CHECK = path.join(__dirname, '..', 'helpers', 'xml_check.py');
const xmlCheck = (kind: string, doc: string): any => JSON.parse(execFileSync('python3', [XML_CHECK, kind], { input: doc, encoding: 'utf8' }));

const PUBLIC = {
  POSTERN_PUBLIC_HOSTNAME: 'mail.clients.example.net',
  POSTERN_PUBLIC_SMTP_PORT: '25',
  POSTERN_PUBLIC_SUBMISSION_PORT: '587',
  POSTERN_PUBLIC_SUBMISSIONS_PORT: '465',
  POSTERN_PUBLIC_IMAP_PORT: '143',
  POSTERN_PUBLIC_IMAPS_PORT: '993',
};

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };

beforeAll(async () => {
  t = await createTestApp({ env: { ...PUBLIC, POSTERN_HOSTNAME: 'mx.clients.example.net' } });
  a = await provisionTenant(t, 'Clients', 'clients.example.org');
  await provisionMailbox(t, a.domainId, 'alice', {}, a.token);
}, 60_000);
afterAll(async () => t?.close());

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await t.app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.body, headers: res.headers };
}

describe('Thunderbird autoconfig', () => {
  const want = {
    incoming: [
      { type: 'imap', hostname: 'mail.clients.example.net', port: '993', socketType: 'SSL', authentication: 'password-cleartext' },
      { type: 'imap', hostname: 'mail.clients.example.net', port: '143', socketType: 'STARTTLS', authentication: 'password-cleartext' },
    ],
    outgoing: [
      { type: 'smtp', hostname: 'mail.clients.example.net', port: '465', socketType: 'SSL', authentication: 'password-cleartext' },
      { type: 'smtp', hostname: 'mail.clients.example.net', port: '587', socketType: 'STARTTLS', authentication: 'password-cleartext' },
    ],
  };

  it.each([
    ['/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@clients.example.org', {}],
    ['/mail/config-v1.1.xml?emailaddress=alice%40clients.example.org', { host: 'autoconfig.clients.example.org' }],
  ])('%s: clientConfig 1.1 with the public host name and ports, the address as user name', async (url, headers) => {
    const res = await get(url, headers);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    const doc = xmlCheck('autoconfig', res.body);
    expect(doc).toMatchObject({ root: 'clientConfig', version: '1.1', id: 'clients.example.org', domains: ['clients.example.org'] });
    expect(doc.displayName).toBeTruthy();
    expect(doc.displayShortName).toBeTruthy();
    expect(doc.incoming).toEqual(want.incoming.map((s) => ({ ...s, username: 'alice@clients.example.org' })));
    expect(doc.outgoing).toEqual(want.outgoing.map((s) => ({ ...s, username: 'alice@clients.example.org' })));
  });

  it('by Host alone (autoconfig.<domain>): the %EMAILADDRESS% placeholder', async () => {
    const doc = xmlCheck('autoconfig', (await get('/mail/config-v1.1.xml', { host: 'autoconfig.clients.example.org' })).body);
    expect(doc.incoming[0].username).toBe('%EMAILADDRESS%');
  });

  it('enumerates nothing: an unknown local part gets the same document, with its address as user name', async () => {
    const known = (await get('/mail/config-v1.1.xml?emailaddress=alice@clients.example.org')).body;
    const unknown = (await get('/mail/config-v1.1.xml?emailaddress=nobody.here@clients.example.org')).body;
    expect(unknown.replaceAll('nobody.here@', 'alice@')).toBe(known);
  });

  it.each([
    ['/mail/config-v1.1.xml?emailaddress=alice@not-hosted.example', {}],
    ['/mail/config-v1.1.xml', { host: 'autoconfig.not-hosted.example' }],
    ['/.well-known/autoconfig/mail/config-v1.1.xml', { host: 'console.postern.test' }],
    ['/mail/config-v1.1.xml?emailaddress=not-an-address', {}],
  ])('404 for anything but a hosted domain: %s %j', async (url, headers) => {
    expect((await get(url, headers)).status).toBe(404);
  });
});

describe('Outlook autodiscover', () => {
  const pox = (address: string) =>
    `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
  const post = (body: string, type = 'text/xml') =>
    t.app.inject({ method: 'POST', url: '/autodiscover/autodiscover.xml', headers: { 'content-type': type, host: 'autodiscover.clients.example.org' }, payload: body });

  it('POX: IMAP and SMTP on the public host and ports, TLS from the first byte', async () => {
    const res = await post(pox('alice@clients.example.org'));
    expect(res.statusCode).toBe(200);
    const doc = xmlCheck('autodiscover', res.body);
    expect(doc).toMatchObject({ root: '{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}Autodiscover', accountType: 'email', action: 'settings' });
    expect(doc.protocols).toEqual([
      { Type: 'IMAP', Server: 'mail.clients.example.net', Port: '993', LoginName: 'alice@clients.example.org', SSL: 'on', Encryption: null, AuthRequired: 'on' },
      { Type: 'SMTP', Server: 'mail.clients.example.net', Port: '465', LoginName: 'alice@clients.example.org', SSL: 'on', Encryption: null, AuthRequired: 'on' },
    ]);
  });

  it('POX: 404 for an unknown domain, 400 without an address, 415 for other bodies', async () => {
    expect((await post(pox('alice@not-hosted.example'))).statusCode).toBe(404);
    expect((await post('<Autodiscover><Request/></Autodiscover>')).statusCode).toBe(400);
    expect((await post('{}', 'application/json')).statusCode).toBeGreaterThanOrEqual(400);
  });

  it('JSON v2: points AutodiscoverV1 at the POX endpoint; other protocols are refused', async () => {
    const ok = await get('/autodiscover/autodiscover.json/v1.0/alice@clients.example.org?Protocol=AutodiscoverV1');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ Protocol: 'AutodiscoverV1', Url: 'https://console.postern.test/autodiscover/autodiscover.xml' });
    expect((await get('/autodiscover/autodiscover.json/v1.0/alice@clients.example.org?Protocol=ActiveSync')).status).toBe(400);
    expect((await get('/autodiscover/autodiscover.json/v1.0/alice@not-hosted.example?Protocol=AutodiscoverV1')).status).toBe(404);
  });
});

function checkZone(domain: string, snippet: string): { code: number; out: string } {
  const file = path.join(t.dir, `${domain}.zone`);
  writeFileSync(
    file,
    `$TTL 3600\n${domain}. 3600 IN SOA ns1.${domain}. hostmaster.${domain}. 1 7200 900 1209600 3600\n${domain}. 3600 IN NS ns1.${domain}.\nns1.${domain}. 3600 IN A 192.0.2.53\n${snippet}`,
  );
  const r = spawnSync('/usr/bin/named-checkzone', ['-k', 'fail', '-n', 'fail', '-i', 'local', domain, file], { encoding: 'utf8' });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

describe('DNS records a DNS server accepts', () => {
  it('the BIND snippet loads with named-checkzone; SRV records name the public host and ports', async () => {
    const zone = (await t.app.inject({ method: 'GET', url: `/api/v1/domains/${a.domainId}/dns/zone`, headers: { authorization: `Bearer ${a.token}` } })).body;
    expect(zone).toContain('_imaps._tcp.clients.example.org. 3600 IN SRV 0 1 993 mail.clients.example.net.');
    expect(zone).toContain('_submission._tcp.clients.example.org. 3600 IN SRV 10 1 587 mail.clients.example.net.');
    expect(zone).toContain('_submissions._tcp.clients.example.org. 3600 IN SRV 0 1 465 mail.clients.example.net.');
    // console.postern.test (the public URL's host) is under .test: flagged next to its records.
    expect(zone).toMatch(/; WARNING: console\.postern\.test is under the reserved \.test domain[^\n]*\nautoconfig\.clients\.example\.org\. 3600 IN CNAME console\.postern\.test\./);
    const r = checkZone('clients.example.org', zone);
    expect(r.code, r.out).toBe(0);
  });

  it('with an IP address as public URL host: no CNAME or SRV names it, the records say why, and the zone still loads', async () => {
    const ip = await createTestApp({ env: { ...PUBLIC, POSTERN_PUBLIC_URL: 'http://127.0.0.1:8080' } });
    try {
      const b = await provisionTenant(ip, 'IP', 'ip-host.example.org');
      const list = (await ip.call('GET', `/api/v1/domains/${b.domainId}/dns`)).body as Array<{ type: string; name: string; value: string; unpublishable?: string }>;
      for (const rec of list.filter((x) => x.type === 'CNAME' || x.type === 'SRV')) expect(rec.value, rec.name).not.toMatch(/(^|\s)127\.0\.0\.1$/);
      const mtaSts = list.find((x) => x.name === 'mta-sts.ip-host.example.org')!;
      expect(mtaSts).toMatchObject({ type: 'CNAME', value: '', unpublishable: expect.stringContaining('127.0.0.1 is an IP address') });
      expect(mtaSts.unpublishable).toContain('POSTERN_PUBLIC_URL');
      const zone = (await ip.app.inject({ method: 'GET', url: `/api/v1/domains/${b.domainId}/dns/zone`, headers: { authorization: `Bearer ${b.token}` } })).body;
      expect(zone).not.toMatch(/^[^;].*IN (CNAME|SRV) .*127\.0\.0\.1\.?$/m);
      expect(zone).toMatch(/; NOT PUBLISHED: 127\.0\.0\.1 is an IP address[^\n]*\n; autoconfig\.ip-host\.example\.org\. 3600 IN CNAME 127\.0\.0\.1\./);
      const file = path.join(t.dir, 'ip.zone');
      writeFileSync(file, zone);
      const r = checkZone('ip-host.example.org', zone);
      expect(r.code, r.out).toBe(0);
      // The DNS check does not look for records no DNS server may carry.
      const expected = (await ip.call('GET', `/api/v1/domains/${b.domainId}/dns/expected`)).body.records as Array<{ name: string; broken?: boolean }>;
      expect(
        expected
          .filter((x) => x.broken)
          .map((x) => x.name)
          .sort(),
      ).toEqual(['_autodiscover._tcp.ip-host.example.org', 'autoconfig.ip-host.example.org', 'autodiscover.ip-host.example.org', 'mta-sts.ip-host.example.org']);
    } finally {
      await ip.close();
    }
  });
});

describe('required addresses of a domain', () => {
  it('are listed on the domain with where they deliver, and a domain alias has none of its own', async () => {
    const d = await t.call('GET', `/api/v1/domains/${a.domainId}`, { token: a.token });
    expect(d.body.requiredAddresses).toEqual([
      expect.objectContaining({ address: 'postmaster@clients.example.org', kind: 'alias', deliversTo: ['postmaster@mx.clients.example.net'] }),
      expect.objectContaining({ address: 'abuse@clients.example.org', kind: 'alias' }),
      expect.objectContaining({ address: 'dmarc-reports@clients.example.org', kind: 'alias' }),
    ]);
    // Once the tenant has a contact (its administrator), new domains deliver there.
    await t.call('POST', `/api/v1/tenants/${a.tenantId}/principals`, { token: a.token, body: { name: 'Client Admin', email: 'admin@client-home.example' } });
    const second = await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: a.token, body: { name: 'second.example.org' } });
    const d2 = await t.call('GET', `/api/v1/domains/${second.body.id}`, { token: a.token });
    for (const r of d2.body.requiredAddresses) expect(r.deliversTo).toEqual(['admin@client-home.example']);
    // Audited with the domain: domain.create lists the addresses it made and where they deliver.
    const events = await t.call('GET', `/api/v1/audit/events?action=domain.create&targetId=${second.body.id}`);
    expect(events.body[0].after.requiredAddresses).toEqual(
      ['postmaster', 'abuse', 'dmarc-reports'].map((l) => ({ address: `${l}@second.example.org`, targets: ['admin@client-home.example'], source: 'tenant-contact' })),
    );
    // The tenant chooses a mailbox: the required aliases still at the old destination follow.
    const before = await t.call('GET', `/api/v1/tenants/${a.tenantId}/required-addresses`, { token: a.token });
    expect(before.body).toEqual({ chosen: null, effective: 'admin@client-home.example', source: 'tenant-contact' });
    const abuse = (await t.call('GET', `/api/v1/tenants/${a.tenantId}/aliases?q=abuse@second`, { token: a.token })).body[0];
    await t.call('PATCH', `/api/v1/aliases/${abuse.id}`, { token: a.token, body: { targets: ['alice@clients.example.org'] } }); // re-pointed by hand: stays
    const chose = await t.call('PUT', `/api/v1/tenants/${a.tenantId}/required-addresses`, { token: a.token, body: { target: 'alice@clients.example.org', reason: 'reports go to Alice' } });
    expect(chose.status).toBe(200);
    expect(chose.body).toMatchObject({ chosen: 'alice@clients.example.org', effective: 'alice@clients.example.org', source: 'tenant-choice' });
    // ...and so do those of the first domain, made before anyone had an address (at the appliance's postmaster, the last default).
    expect(chose.body.repointed.sort()).toEqual([
      'abuse@clients.example.org',
      'dmarc-reports@clients.example.org',
      'dmarc-reports@second.example.org',
      'postmaster@clients.example.org',
      'postmaster@second.example.org',
    ]);
    const d3 = await t.call('GET', `/api/v1/domains/${second.body.id}`, { token: a.token });
    for (const r of d3.body.requiredAddresses) expect(r.deliversTo).toEqual(['alice@clients.example.org']);
    expect((await t.call('PUT', `/api/v1/tenants/${a.tenantId}/required-addresses`, { token: a.token, body: { target: 'nobody@clients.example.org' } })).status).toBe(400);
    const alias = await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: a.token, body: { name: 'alias.example.org', aliasOf: a.domainId } });
    expect(alias.status).toBe(201);
    expect((await t.call('GET', `/api/v1/domains/${alias.body.id}`, { token: a.token })).body.requiredAddresses).toBeUndefined();
  });
});
