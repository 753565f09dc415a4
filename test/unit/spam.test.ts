/** Pure parts of the spam defence: verdicts, rspamd settings, headers, list values, DNSBL names, rate windows. */
import { describe, expect, it } from 'vitest';
import { ipInNetwork, listMatches, parseListValue } from '../../appliance/core/sending/spam-policy.service.js';
import { dnsblName, PerMinute } from '../../mta-plugins/data.postern-spam/lib/connection.js';
import { settingsFor, spamHeaders, verdictOf } from '../../mta-plugins/data.postern-spam/lib/decide.js';

const policy = { junkScore: 6, rejectScore: 15, greylisting: true, failMode: 'tempfail' as const };
const result = (score: number, action = 'no action') => ({
  score,
  requiredScore: 15,
  action,
  symbols: [
    { name: 'A', score: 2 },
    { name: 'B', score: 0 },
  ],
  smtpMessage: null,
});

describe('spam verdicts', () => {
  it.each([
    [0, 'no action', 'clean'],
    [5.99, 'no action', 'clean'],
    [6, 'no action', 'junk'],
    [7, 'add header', 'junk'],
    [7, 'rewrite subject', 'junk'],
    [14.9, 'add header', 'junk'],
    [15, 'add header', 'reject'],
    [0, 'reject', 'reject'],
    [1, 'soft reject', 'greylist'],
  ])('score %s with action %s is %s', (score, action, verdict) => {
    expect(verdictOf(result(score as number, action as string), policy)).toBe(verdict);
  });

  it('passes the thresholds as rspamd actions and greylists only when asked', () => {
    expect(settingsFor(policy, { greylist: true })).toEqual({ actions: { reject: 15, 'add header': 6, 'rewrite subject': null, greylist: -1000 } });
    expect(settingsFor(policy, { greylist: false })).toEqual({
      actions: { reject: 15, 'add header': 6, 'rewrite subject': null, greylist: null },
      symbols_disabled: ['GREYLIST_SAVE', 'GREYLIST_CHECK'],
    });
  });

  it('reports the message’s own figures only', () => {
    const h = Object.fromEntries(spamHeaders('mx.example', result(7.5, 'add header'), 'junk', policy));
    expect(h['X-Spam-Flag']).toBe('YES');
    expect(h['X-Spam-Status']).toBe('Yes, score=7.50 junk=6.00 reject=15.00 verdict=junk');
    expect(h['X-Spam-Symbols']).toBe('A(2.00)');
    expect(h['Authentication-Results']).toBe('mx.example; x-spam=fail (verdict=junk) x-spam-score=7.50');
  });
});

describe('allow and block list values', () => {
  it.each([
    ['User@Example.COM', 'user@example.com', 'address'],
    ['example.com', 'example.com', 'domain'],
    ['192.0.2.7', '192.0.2.7/32', 'ip'],
    ['192.0.2.0/24', '192.0.2.0/24', 'ip'],
    ['2001:db8::/32', '2001:db8::/32', 'ip'],
  ])('%s is %s (%s)', (raw, value, type) => {
    expect(parseListValue(raw)).toEqual({ value, type });
  });

  it.each(['', 'not a thing', '@example.com', '192.0.2.0/33', 'a b@example.com', 'localhost'])('refuses %j', (raw) => {
    expect(() => parseListValue(raw)).toThrow();
  });

  it('matches addresses, domains with their subdomains, and networks', () => {
    expect(listMatches({ value: 'example.com', value_type: 'domain' }, 'a@mail.example.com', '198.51.100.1')).toBe(true);
    expect(listMatches({ value: 'example.com', value_type: 'domain' }, 'a@badexample.com', '198.51.100.1')).toBe(false);
    expect(listMatches({ value: 'a@example.com', value_type: 'address' }, 'A@example.com', '')).toBe(true);
    expect(listMatches({ value: 'a@example.com', value_type: 'address' }, '', '')).toBe(false);
    expect(ipInNetwork('192.0.2.200', '192.0.2.0/24')).toBe(true);
    expect(ipInNetwork('192.0.3.1', '192.0.2.0/24')).toBe(false);
    expect(ipInNetwork('::ffff:192.0.2.9', '192.0.2.0/24')).toBe(true);
    expect(ipInNetwork('2001:db8:1::5', '2001:db8::/32')).toBe(true);
    expect(ipInNetwork('2001:db9::5', '2001:db8::/32')).toBe(false);
    expect(ipInNetwork('192.0.2.1', '2001:db8::/32')).toBe(false);
  });
});

describe('connection checks', () => {
  it('builds DNSBL names for IPv4 and IPv6', () => {
    expect(dnsblName('192.0.2.99', 'bl.example')).toBe('99.2.0.192.bl.example');
    expect(dnsblName('::ffff:127.0.0.2', 'bl.example')).toBe('2.0.0.127.bl.example');
    expect(dnsblName('2001:db8::1', 'bl.example')).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.bl.example`);
    expect(dnsblName('nonsense', 'bl.example')).toBeNull();
  });

  it('counts per key over the last minute', () => {
    const w = new PerMinute();
    const t0 = 1_000_000_000;
    expect(w.hit('a', t0)).toBe(1);
    expect(w.hit('a', t0 + 30_000)).toBe(2);
    expect(w.hit('b', t0 + 30_000)).toBe(1);
    expect(w.hit('a', t0 + 65_000)).toBe(2); // the first hit left the window
    expect(w.hit('a', t0 + 200_000)).toBe(1);
  });
});

describe('spam configuration', () => {
  it('has safe defaults: scanning on, tempfail, no DNSBL zones, loopback ports', async () => {
    const { loadConfig } = await import('../../appliance/config.js');
    const c = loadConfig({});
    expect(c.spam).toMatchObject({
      enabled: true,
      failMode: 'tempfail',
      junkScore: 6,
      rejectScore: 15,
      greylisting: false,
      dnsblZones: [],
      rspamdPort: 11433,
      controllerPort: 11434,
      redisPort: 16379,
    });
    expect(loadConfig({ POSTERN_DNSBL_ZONES: 'zen.spamhaus.org, bl.example ' }).spam.dnsblZones).toEqual(['zen.spamhaus.org', 'bl.example']);
  });

  it.each([
    [{ POSTERN_SPAM_FAIL_MODE: 'drop' }, /POSTERN_SPAM_FAIL_MODE/],
    [{ POSTERN_SPAM_JUNK_SCORE: '20' }, /POSTERN_SPAM_JUNK_SCORE/],
    [{ POSTERN_SPAM_REJECT_SCORE: 'high' }, /POSTERN_SPAM_REJECT_SCORE/],
    [{ POSTERN_DNSBL_ZONES: 'not a zone' }, /POSTERN_DNSBL_ZONES/],
    [{ POSTERN_GREYLIST_DELAY_SECONDS: '0' }, /POSTERN_GREYLIST_DELAY_SECONDS/],
  ])('refuses %j', async (env, message) => {
    const { loadConfig } = await import('../../appliance/config.js');
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('forged X-Spam header fields', () => {
  it('are removed from the header section, folded lines included; the body is untouched', async () => {
    const { stripSpamHeaders } = await import('../../mta-plugins/data.postern-spam/lib/headers.js');
    const raw = Buffer.from('Subject: hi\r\nX-Spam-Flag: NO\r\nX-Spam-Status: No,\r\n  score=-100\r\nFrom: a@example.org\r\n\r\nX-Spam-Flag: NO in the body stays\r\n');
    expect(stripSpamHeaders(raw).toString()).toBe('Subject: hi\r\nFrom: a@example.org\r\n\r\nX-Spam-Flag: NO in the body stays\r\n');
    const clean = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
    expect(stripSpamHeaders(clean)).toBe(clean);
  });
});
