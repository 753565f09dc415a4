/**
 * Issue 13: no credential in any log at any level. The appliance runs at trace level (Haraka at
 * its protocol level, every SMTP line logged); the test authenticates with SMTP AUTH PLAIN and
 * LOGIN, IMAP LOGIN and AUTHENTICATE PLAIN (passwords and app passwords), the owner's web
 * login, an API token and setup links, then greps every log line for each secret and for the
 * base64 forms SASL sends.
 */
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { swaks } from '../helpers/swaks.js';

const PASSWORD = 'Trace-Secret-Passw0rd!';
let app: Appliance;

function imap(lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: app.ports.imaps, rejectUnauthorized: false });
    let buf = '';
    let i = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`IMAP timeout: ${buf}`));
    }, 15_000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const tag = i === 0 ? '* OK' : new RegExp(`^t${i} `, 'm');
      if (typeof tag === 'string' ? buf.includes(tag) : tag.test(buf)) {
        if (i < lines.length) {
          s.write(`t${i + 1} ${lines[i]}\r\n`);
          i++;
        } else {
          clearTimeout(timer);
          s.end();
          resolve(buf);
        }
      }
    });
    s.on('error', reject);
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

beforeAll(async () => {
  app = await Appliance.start({ env: { POSTERN_LOG_LEVEL: 'trace' } });
}, 60_000);

afterAll(async () => {
  await app?.stop();
});

describe('no credential in any log at trace level', () => {
  it('SMTP AUTH, IMAP login, web login, app passwords, tokens and setup links never reach a log line', async () => {
    const domainId = await app.ensureDomain('trace.test');
    const mb = await app.expectApi<{ id: string; address: string; setup: { token: string; url: string } }>(
      'POST',
      `/api/v1/domains/${domainId}/mailboxes`,
      { localPart: 'tracy', owner: { name: 'T', email: 'tracy@owners.example' }, credentialDelivery: 'link' },
      201,
    );
    await app.expectApi('POST', `/api/v1/setup/${mb.setup.token}`, { password: PASSWORD }, 204);
    const user = mb.address;
    const appPw = await app.expectApi<{ password: string }>('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { name: 'phone', scopes: ['imap', 'smtp'] }, 201);
    const apiToken = await app.expectApi<{ token: string }>('POST', `/api/v1/tenants/${app.tenantId}/tokens`, { name: 'trace token' }, 201);
    expect((await app.api('GET', `/api/v1/tenants/${app.tenantId}/domains`, undefined, apiToken.token)).status).toBe(200);
    const invite = await app.expectApi<{ setup: { token: string } }>(
      'POST',
      `/api/v1/tenants/${app.tenantId}/principals`,
      { name: 'Admin Person', email: 'admin@owners.example', role: 'tenant-admin' },
      201,
    );
    const principalPw = 'Principal-Secret-42-Pw';
    await app.expectApi('POST', `/api/v1/principal-setup/${invite.setup.token}`, { password: principalPw }, 204);
    const principalLogin = await fetch(`${app.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@owners.example', password: principalPw }),
    });
    expect(principalLogin.status).toBe(200);
    const web = await fetch(`${app.url}/api/v1/self/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: user, password: PASSWORD }) });
    expect(web.status).toBe(200);
    const cookie = web.headers.get('set-cookie') ?? '';
    const sessionSecret = /postern_session=([^;]+)/.exec(cookie)?.[1] ?? '';
    expect(sessionSecret).not.toBe('');

    for (const [mech, pw] of [
      ['PLAIN', PASSWORD],
      ['LOGIN', PASSWORD],
      ['PLAIN', appPw.password],
      ['LOGIN', appPw.password],
    ] as const) {
      const r = await swaks(['--server', `127.0.0.1:${app.ports.submission}`, '-tls', '--auth', mech, '--auth-user', user, '--auth-password', pw, '--quit-after', 'AUTH']);
      expect(
        r.replies.some((l) => l.startsWith('235')),
        r.output,
      ).toBe(true);
    }
    // A wrong password too (failure paths log as well).
    await swaks(['--server', `127.0.0.1:${app.ports.submission}`, '-tls', '--auth', 'LOGIN', '--auth-user', user, '--auth-password', 'Wrong-Secret-Guess-77', '--quit-after', 'AUTH']);
    const out1 = await imap([`LOGIN "${user}" "${PASSWORD}"`]);
    expect(out1).toMatch(/^t1 OK/m);
    const out2 = await imap([`AUTHENTICATE PLAIN ${b64(`\u0000${user}\u0000${appPw.password}`)}`]);
    expect(out2).toMatch(/^t1 OK/m);

    await new Promise((r) => setTimeout(r, 1500));
    const logs = app.logs.join('');
    expect(logs).toMatch(/"C: /); // the SMTP protocol trace really ran
    const secrets: Record<string, string> = {
      password: PASSWORD,
      appPassword: appPw.password,
      appPasswordCompact: appPw.password.replace(/\s/g, ''),
      wrongPassword: 'Wrong-Secret-Guess-77',
      principalPassword: principalPw,
      apiToken: apiToken.token,
      setupToken: mb.setup.token,
      principalSetupToken: invite.setup.token,
      sessionCookie: sessionSecret,
      'base64(password)': b64(PASSWORD),
      'base64(appPassword)': b64(appPw.password),
      'base64(wrong)': b64('Wrong-Secret-Guess-77'),
      'PLAIN(password)': b64(`\u0000${user}\u0000${PASSWORD}`),
      'PLAIN(appPassword)': b64(`\u0000${user}\u0000${appPw.password}`),
    };
    const lines = logs.split('\n');
    console.log(`checked ${lines.length} log lines for ${Object.keys(secrets).length} secrets`);
    const leaks = Object.entries(secrets).flatMap(([name, value]) => lines.filter((l) => l.includes(value)).map((l) => `${name}: ${l.slice(0, 300)}`));
    expect(leaks).toEqual([]);
  }, 120_000);
});
