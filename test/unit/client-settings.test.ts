/**
 * Pure parts of what clients and DNS servers are told: the public host/port settings and their
 * defaults, which host names can be published, the zone snippet's treatment of records that
 * cannot, the autodiscover request parser and the SMTP texts that name no software.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../appliance/config.js';
import { poxRequestAddress, xmlEscape } from '../../appliance/core/mailboxes/autoconfig.js';
import { clientSettings } from '../../appliance/core/mailboxes/client-settings.js';
import { expectedRecords, unpublishableHost, zoneSnippet } from '../../appliance/core/templates/dns-check.js';
import { platformDefaultSettings } from '../../appliance/core/templates/templates.js';
import { DATA_GO_AHEAD, greeting } from '../../mta-plugins/connect.postern-banner/lib/texts.js';

describe('public host name and ports', () => {
  it('default to the host name and the listen ports', () => {
    const c = loadConfig({ POSTERN_HOSTNAME: 'mx.example.com', POSTERN_IMAPS_PORT: '3993' });
    expect(c.publicHostname).toBe('mx.example.com');
    expect(c.publicPorts).toEqual({ smtp: 2525, submission: 2587, submissions: 2465, imap: 2143, imaps: 3993 });
  });

  it('are what clients are told when set', () => {
    const c = loadConfig({ POSTERN_HOSTNAME: 'mx.example.com', POSTERN_PUBLIC_HOSTNAME: 'Mail.Example.com', POSTERN_PUBLIC_IMAPS_PORT: '993', POSTERN_PUBLIC_SUBMISSIONS_PORT: '465' });
    const s = clientSettings({ config: c }, 'a@example.org', 'example.org');
    expect(s.incoming[0]).toEqual({ protocol: 'imap', host: 'mail.example.com', port: 993, socket: 'SSL' });
    expect(s.outgoing[0]).toEqual({ protocol: 'smtp', host: 'mail.example.com', port: 465, socket: 'SSL' });
  });

  it.each([
    ['POSTERN_PUBLIC_HOSTNAME', 'not a host!'],
    ['POSTERN_PUBLIC_IMAPS_PORT', '0'],
    ['POSTERN_PUBLIC_SUBMISSION_PORT', '70000'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  });
});

describe('publishable DNS targets', () => {
  it.each([
    ['mail.example.com', null],
    ['127.0.0.1', true],
    ['2001:db8::1', true],
    ['localhost', true],
    ['mx.postern.test', false],
    ['box.example', false],
    ['x.invalid', false],
  ])('%s', (host, broken) => {
    const r = unpublishableHost(host);
    if (broken === null) expect(r).toBeNull();
    else expect(r?.broken).toBe(broken);
  });

  it('the snippet comments out what no DNS server may carry and warns above reserved names', () => {
    const records = expectedRecords('client.example.org', [], platformDefaultSettings(1024), {
      mx: 'mx.postern.test',
      web: '127.0.0.1',
      webPort: 8080,
      client: 'mail.example.com',
      ports: { submission: 587, submissions: 465, imap: 143, imaps: 993 },
    });
    const zone = zoneSnippet('client.example.org', records, 'test');
    const live = zone.split('\n').filter((l) => l && !l.startsWith(';'));
    expect(live.filter((l) => /IN (CNAME|SRV) .*127\.0\.0\.1/.test(l))).toEqual([]);
    expect(live).toContain('client.example.org. 3600 IN MX 10 mx.postern.test.');
    expect(live).toContain('_imaps._tcp.client.example.org. 3600 IN SRV 0 1 993 mail.example.com.');
    expect(zone).toContain('; WARNING: mx.postern.test is under the reserved .test domain');
    expect(zone).toContain('; NOT PUBLISHED: 127.0.0.1 is an IP address');
  });
});

describe('autodiscover request and XML text', () => {
  it('reads <EMailAddress> with or without a namespace prefix', () => {
    expect(poxRequestAddress('<Request><EMailAddress>a@b.example</EMailAddress></Request>')).toBe('a@b.example');
    expect(poxRequestAddress('<a:Request><a:EMailAddress> a@b.example </a:EMailAddress></a:Request>')).toBe('a@b.example');
    expect(poxRequestAddress('<Request/>')).toBeNull();
  });

  it('escapes markup', () => {
    expect(xmlEscape(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });
});

describe('SMTP texts', () => {
  it('name the host and no software', () => {
    expect(greeting('mx.example.com')).toBe('mx.example.com ESMTP');
    expect(DATA_GO_AHEAD).not.toMatch(/haraka|postern|make my day/i);
  });
});
