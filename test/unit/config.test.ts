import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../appliance/config.js';

describe('configuration', () => {
  it('has the documented defaults and is frozen', () => {
    const c = loadConfig({});
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.listenHost).toBe('127.0.0.1');
    expect(c.ports).toEqual({ smtp: 2525, submission: 2587, submissions: 2465, imap: 2143, imaps: 2993, http: 8080 });
    expect(c.maxMessageBytes).toBe(50 * 1024 * 1024);
    expect(c.httpTls).toBe(false);
    expect(Object.isFrozen(c) && Object.isFrozen(c.ports)).toBe(true);
  });

  it.each([
    ['POSTERN_SMTP_PORT', 'abc', /whole number/],
    ['POSTERN_IMAP_PORT', '70000', /between 1 and 65535/],
    ['POSTERN_HTTP_PORT', '2525', /already used by POSTERN_SMTP_PORT/],
    ['POSTERN_HOSTNAME', 'not a host', /fully qualified host name/],
    ['POSTERN_LOG_LEVEL', 'loud', /must be one of/],
    ['POSTERN_LISTEN_HOST', 'example.com', /IP address/],
    ['POSTERN_DNS_RESOLVER', 'dns.example:53', /IP address/],
    ['POSTERN_MAX_MESSAGE_SIZE', 'huge', /size/],
    ['POSTERN_BOOTSTRAP_TOKEN', 'short', /at least 24/],
    ['POSTERN_ALLOW_PLAINTEXT_AUTH_LOOPBACK', 'maybe', /true or false/],
    ['POSTERN_METRICS_TOKEN', 'short', /at least 16/],
    ['POSTERN_METRICS_ALLOW', 'prometheus.example', /IP address or CIDR/],
    ['POSTERN_METRICS_ALLOW', '10.0.0.0/33', /at most 32/],
    ['POSTERN_METRICS_ALLOW', '::1/129', /at most 128/],
    ['POSTERN_METRICS_ALLOW', ' , ', /IP address or CIDR|at least one/],
  ])('rejects %s=%s naming the variable', (variable, value, reason) => {
    let err: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(reason);
  });

  it('reads the metrics token and allow-list (open when unset)', () => {
    expect(loadConfig({})).toMatchObject({ metricsToken: null, metricsAllow: null });
    const c = loadConfig({ POSTERN_METRICS_TOKEN: 'scrape-token-0123456789', POSTERN_METRICS_ALLOW: '10.0.0.0/8, 192.0.2.7,2001:db8::/32' });
    expect(c.metricsToken).toBe('scrape-token-0123456789');
    expect(c.metricsAllow).toEqual([
      { network: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { network: '192.0.2.7', prefix: 32, family: 'ipv4' },
      { network: '2001:db8::', prefix: 32, family: 'ipv6' },
    ]);
    expect(Object.isFrozen(c.metricsAllow)).toBe(true);
  });

  it('reads a JSON config file, with the environment winning', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postern-cfg-'));
    const file = path.join(dir, 'postern.json');
    writeFileSync(file, JSON.stringify({ POSTERN_HOSTNAME: 'mx.file.test', POSTERN_IMAP_PORT: 3143, POSTERN_MAX_MESSAGE_SIZE: '10M' }));
    const c = loadConfig({ POSTERN_CONFIG_FILE: file, POSTERN_IMAP_PORT: '4143', POSTERN_DNS_RESOLVER: '127.0.0.1:5353' });
    expect(c.hostname).toBe('mx.file.test');
    expect(c.ports.imap).toBe(4143);
    expect(c.maxMessageBytes).toBe(10 * 1024 * 1024);
    expect(c.dnsResolver).toEqual({ host: '127.0.0.1', port: 5353 });
    writeFileSync(file, JSON.stringify({ HOSTNAME: 'x' }));
    expect(() => loadConfig({ POSTERN_CONFIG_FILE: file })).toThrow(/unknown key "HOSTNAME"/);
  });

  it('stops boot with one line naming the variable and exit code 2', async () => {
    const main = path.resolve(__dirname, '../../dist/appliance/main.js');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(process.execPath, [main], { env: { ...process.env, POSTERN_SMTP_PORT: 'twenty-five' } }, (err, _out, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      ),
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('postern: invalid configuration: POSTERN_SMTP_PORT: expected a whole number, got "twenty-five"');
  });
});

describe('SMTP abuse limits', () => {
  it('defaults, overrides and bounds', () => {
    expect(loadConfig({}).smtpLimits).toEqual({ maxSessions: 3000, maxSessionsPerIp: 20, dataMinRateBytesPerSecond: 256, dataRateWindowSeconds: 30, dataTimeoutSeconds: 1800 });
    const c = loadConfig({
      POSTERN_SMTP_MAX_SESSIONS: '0',
      POSTERN_SMTP_MAX_SESSIONS_PER_IP: '3',
      POSTERN_SMTP_DATA_MIN_RATE: '0',
      POSTERN_SMTP_DATA_RATE_WINDOW_SECONDS: '5',
      POSTERN_SMTP_DATA_TIMEOUT_SECONDS: '60',
    });
    expect(c.smtpLimits).toEqual({ maxSessions: 0, maxSessionsPerIp: 3, dataMinRateBytesPerSecond: 0, dataRateWindowSeconds: 5, dataTimeoutSeconds: 60 });
    expect(() => loadConfig({ POSTERN_SMTP_DATA_RATE_WINDOW_SECONDS: '0' })).toThrow(/POSTERN_SMTP_DATA_RATE_WINDOW_SECONDS/);
    expect(() => loadConfig({ POSTERN_SMTP_MAX_SESSIONS_PER_IP: '-1' })).toThrow(/whole number/);
  });
});
