/**
 * Issue 13: an attacker's failures from one address never stop the owner's correct login from
 * another, on IMAP (implicit TLS), SMTP AUTH (submission, STARTTLS, swaks) and the web; the
 * attacker's own address is refused; the owner's success does not reset the attacker's count;
 * each refusal writes at most rate-limited log lines. Sources: 127.0.0.2 (attacker) and
 * 127.0.0.3 (owner) — Linux routes all of 127/8 to lo.
 */
import http from 'node:http';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { swaks } from '../helpers/swaks.js';

const PASSWORD = 'Sturdy-Passw0rd!';
const ATTACKER = '127.0.0.2';
const OWNER = '127.0.0.3';
let app: Appliance;
let address: string;

/** One IMAP LOGIN over implicit TLS from `localAddress`; returns the tagged reply line. */
function imapLogin(localAddress: string, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // tls.connect passes `localAddress` on to net.connect; its typings omit it.
    const options: tls.ConnectionOptions & { localAddress: string } = { host: '127.0.0.1', port: app.ports.imaps, localAddress, rejectUnauthorized: false };
    const s = tls.connect(options);
    let buf = '';
    let sent = false;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`IMAP timeout: ${buf}`));
    }, 15_000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      if (!sent && buf.includes('* OK')) {
        sent = true;
        s.write(`a1 LOGIN "${user}" "${password}"\r\n`);
      }
      const m = /^a1 .*$/m.exec(buf);
      if (m) {
        clearTimeout(timer);
        s.end('a2 LOGOUT\r\n');
        resolve(m[0].trim());
      }
    });
    s.on('error', reject);
  });
}

/** SMTP AUTH PLAIN on submission (STARTTLS) with swaks bound to `localAddress`; returns the AUTH reply. */
async function smtpAuth(localAddress: string, user: string, password: string): Promise<string> {
  const r = await swaks(
    [
      '--server',
      `127.0.0.1:${app.ports.submission}`,
      '--local-interface',
      localAddress,
      '-tls',
      '--tls-verify',
      '--auth',
      'PLAIN',
      '--auth-user',
      user,
      '--auth-password',
      password,
      '--quit-after',
      'AUTH',
    ].filter((a) => a !== '--tls-verify'),
  );
  return r.replies.find((l) => /^(235|454|535|538)/.test(l)) ?? r.output.slice(-300);
}

function webLogin(localAddress: string, user: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ address: user, password });
    const req = http.request(
      { host: '127.0.0.1', port: app.ports.http, localAddress, method: 'POST', path: '/api/v1/self/login', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const r = await f();
  return [r, Date.now() - t0];
}

beforeAll(async () => {
  app = await Appliance.start();
  address = (await app.provisionMailbox('victim@hosted.test', PASSWORD)).address;
}, 60_000);

afterAll(async () => {
  await app?.stop();
});

describe('login throttling: an attacker never locks the owner out', () => {
  it('IMAP, SMTP AUTH and web: attacker refused at its address, owner logs in from another', async () => {
    // Eight wrong passwords per protocol from the attacker's address (new connection each time).
    const imapFails: string[] = [];
    const smtpFails: string[] = [];
    const webFails: number[] = [];
    for (let i = 0; i < 8; i++) imapFails.push(await imapLogin(ATTACKER, address, `wrong-${i}`));
    for (let i = 0; i < 8; i++) smtpFails.push(await smtpAuth(ATTACKER, address, `wrong-${i}`));
    for (let i = 0; i < 8; i++) webFails.push(await webLogin(ATTACKER, address, `wrong-${i}`));
    console.log('attacker IMAP:', imapFails.map((l) => l.replace(/^a1 /, '').slice(0, 30)).join(' | '));
    console.log('attacker SMTP:', smtpFails.map((l) => l.slice(0, 9)).join(' | '));
    console.log('attacker web:', webFails.join(' '));
    expect(imapFails[0]).toMatch(/^a1 NO/);
    // Past 5 failures the attacker's address is refused (the back-off doubles from 1 s, so on a
    // slow machine an attempt may land after a lock expired: some, not all, are refused).
    expect(imapFails.slice(5).some((l) => /UNAVAILABLE|Too many/.test(l))).toBe(true);
    expect(smtpFails.some((l) => /^454 4\.7\.0/.test(l))).toBe(true);
    expect(webFails.at(-1)).toBe(429);
    // The attacker's address is refused even with the right password (one more failure renews its back-off).
    await imapLogin(ATTACKER, address, 'wrong-again');
    expect(await imapLogin(ATTACKER, address, PASSWORD)).toMatch(/UNAVAILABLE|Too many/);

    const [imapOwner, imapMs] = await timed(() => imapLogin(OWNER, address, PASSWORD));
    const [smtpOwner, smtpMs] = await timed(() => smtpAuth(OWNER, address, PASSWORD));
    const [webOwner, webMs] = await timed(() => webLogin(OWNER, address, PASSWORD));
    console.log(`owner from ${OWNER} after 24 attacker failures: IMAP "${imapOwner}" in ${imapMs} ms, SMTP "${smtpOwner}" in ${smtpMs} ms, web ${webOwner} in ${webMs} ms`);
    expect(imapOwner).toMatch(/^a1 OK/);
    expect(smtpOwner).toMatch(/^235 /);
    expect(webOwner).toBe(200);

    // The owner's success left the attacker's count alone: its next failure locks it again at once.
    await imapLogin(ATTACKER, address, 'wrong-after-owner');
    expect(await imapLogin(ATTACKER, address, PASSWORD)).toMatch(/UNAVAILABLE|Too many/);
  }, 120_000);

  it('refusals are counted in metrics and logged at a bounded rate', async () => {
    const before = app.logs
      .join('')
      .split('\n')
      .filter((l) => l.includes('"auth.throttled"')).length;
    for (let i = 0; i < 30; i++) await imapLogin(ATTACKER, address, 'still-wrong');
    const after = app.logs
      .join('')
      .split('\n')
      .filter((l) => l.includes('"auth.throttled"')).length;
    console.log(`30 throttled IMAP logins wrote ${after - before} auth.throttled log lines (${after} in all)`);
    expect(after - before).toBeLessThanOrEqual(6);
    expect(after).toBeLessThanOrEqual(12);
    // Throttled web logins (429): a few request lines, the rest counted.
    const reqBefore = app.logs
      .join('')
      .split('\n')
      .filter((l) => l.includes('"status":429')).length;
    for (let i = 0; i < 30; i++) expect(await webLogin(ATTACKER, address, 'still-wrong')).toBe(429);
    const reqAfter = app.logs
      .join('')
      .split('\n')
      .filter((l) => l.includes('"status":429')).length;
    console.log(`30 throttled web logins wrote ${reqAfter - reqBefore} request log lines`);
    expect(reqAfter - reqBefore).toBeLessThanOrEqual(5);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/postern_log_lines_suppressed_total\{source="http"\} [1-9]/);
    expect(metrics).toMatch(/postern_auth_throttle_total\{scope="account-source",action="refused"\} [1-9]/);
    expect(metrics).toMatch(/postern_log_lines_suppressed_total\{source="auth"\} [1-9]/);
  }, 60_000);

  it('a rotating-address attack is only slowed, the owner still gets in, and it raises an alert', async () => {
    const fails = await Promise.all(Array.from({ length: 20 }, (_, i) => webLogin(`127.0.1.${i + 1}`, address, `rotating-${i}`)));
    expect(new Set(fails)).toEqual(new Set([401]));
    const [ok, ms] = await timed(() => webLogin('127.0.2.1', address, PASSWORD));
    console.log(`owner from a fresh address during a 20-address attack: web ${ok} in ${ms} ms (delayed, not refused)`);
    expect(ok).toBe(200);
    const [imapOk, imapMs] = await timed(() => imapLogin(OWNER, address, PASSWORD));
    console.log(`owner from a known-good address: IMAP in ${imapMs} ms`);
    expect(imapOk).toMatch(/^a1 OK/);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/postern_auth_attack_alerts_total [1-9]/);
    expect(app.logs.join('')).toContain('"auth.attack"');
  }, 60_000);
});
