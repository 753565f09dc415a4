/**
 * Access control end to end on the running appliance, with real clients: an imapflow IDLE
 * session and an authenticated SMTP session (raw client over implicit TLS) are cut off within
 * one second of a reset and of a suspension, and the old password fails on both afterwards;
 * an app password works for IMAP and stops (its session too) when revoked; an emergency reset
 * without a second approver issues nothing; offboarding leaves verify with zero paths.
 */
import tls from 'node:tls';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { swaks } from '../helpers/swaks.js';

const PASSWORD = 'Sturdy-Passw0rd!';
const NEW_PASSWORD = 'Fresh-Passw0rd-2027!';

/** A minimal SMTP client over implicit TLS that keeps its session open between commands. */
class SmtpSession {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(private readonly socket: tls.TLSSocket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<SmtpSession> {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', () => resolve()).once('error', reject));
    const s = new SmtpSession(socket);
    await s.reply();
    return s;
  }

  /** The next complete reply ("250 …"), or "closed". */
  async reply(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-.*\r\n)*\d{3}(?: .*)?\r\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return m[0].trim();
      }
      if (this.closed) return 'closed';
      if (Date.now() > deadline) throw new Error(`smtp: no reply within ${timeoutMs} ms (have ${JSON.stringify(this.buf)})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  async cmd(line: string): Promise<string> {
    if (this.closed) return 'closed';
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  async login(user: string, pass: string): Promise<string> {
    await this.cmd('EHLO client.test');
    return this.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`);
  }

  async send(from: string, to: string, subject: string): Promise<string> {
    const mail = await this.cmd(`MAIL FROM:<${from}>`);
    if (!mail.startsWith('250')) return mail;
    const rcpt = await this.cmd(`RCPT TO:<${to}>`);
    if (!rcpt.startsWith('250')) return rcpt;
    const data = await this.cmd('DATA');
    if (!data.startsWith('354')) return data;
    return this.cmd(`From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\n\r\nhello\r\n.`);
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('access control on the running appliance', () => {
  let app: Appliance;

  beforeAll(async () => {
    app = await Appliance.start();
    await app.ensureDomain('access-e2e.test');
    // The helpdesk may receive reset links in its API answer (walk-in help desk); the default is email only.
    await app.expectApi('PUT', `/api/v1/tenants/${app.tenantId}/access-policy`, { resetLinkToCaller: true, reason: 'e2e' }, 200);
  }, 60_000);
  afterAll(async () => app?.stop());

  const imap = (user: string, pass: string) => new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user, pass }, tls: { rejectUnauthorized: false }, logger: false });

  /** An IMAP session idling on INBOX; resolves the time its connection closes. */
  async function idleSession(user: string, pass: string) {
    const c = imap(user, pass);
    await c.connect();
    await c.mailboxOpen('INBOX');
    const closedAt = new Promise<number>((resolve) => c.on('close', () => resolve(Date.now())));
    void c.idle().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    return { client: c, closedAt };
  }

  const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

  async function imapLoginFails(user: string, pass: string) {
    const c = imap(user, pass);
    await expect(c.connect()).rejects.toThrow();
  }

  async function smtpLoginFails(user: string, pass: string) {
    const r = await swaks([
      '--server',
      `127.0.0.1:${app.ports.submissions}`,
      '--tls-on-connect',
      '--auth',
      'PLAIN',
      '--auth-user',
      user,
      '--auth-password',
      pass,
      '--from',
      user,
      '--to',
      'friend@remote.test',
      '--quit-after',
      'AUTH',
    ]);
    expect(r.exitCode, r.output).not.toBe(0);
    expect(
      r.replies.some((l) => /^535/.test(l)),
      r.output,
    ).toBe(true);
  }

  it('a reset cuts an IDLE session and an authenticated SMTP session off within one second; the old password then fails on both', async () => {
    const address = 'reset-me@access-e2e.test';
    const mb = await app.provisionMailbox(address, PASSWORD, { resetDestination: 'reset-me.home@home.example' });
    const idle = await idleSession(address, PASSWORD);
    const smtp = await SmtpSession.open(app.ports.submissions);
    expect(await smtp.login(address, PASSWORD)).toMatch(/^235/);
    expect(await smtp.send(address, address, 'before reset')).toMatch(/^250/);

    const t0 = Date.now();
    const reset = await app.expectApi<{ status: string; setup: { token: string } }>(
      'POST',
      `/api/v1/mailboxes/${mb.id}/resets`,
      { kind: 'admin', delivery: 'link', reason: 'owner suspects phishing' },
      201,
    );
    expect(reset.status).toBe('issued');
    const closedAt = await within(idle.closedAt, 1000, 'IMAP close after reset');
    expect(closedAt - t0).toBeLessThan(1000);
    const refused = await within(smtp.cmd(`MAIL FROM:<${address}>`), 1000, 'SMTP refusal after reset');
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(refused).toMatch(/^535|closed/);
    smtp.close();

    await app.expectApi('POST', `/api/v1/setup/${reset.setup.token}`, { password: NEW_PASSWORD }, 204);
    await imapLoginFails(address, PASSWORD);
    await smtpLoginFails(address, PASSWORD);
    const fresh = imap(address, NEW_PASSWORD);
    await fresh.connect();
    await fresh.logout();
  });

  it('a suspension does the same', async () => {
    const address = 'suspend-me@access-e2e.test';
    const mb = await app.provisionMailbox(address, PASSWORD);
    const idle = await idleSession(address, PASSWORD);
    const smtp = await SmtpSession.open(app.ports.submissions);
    expect(await smtp.login(address, PASSWORD)).toMatch(/^235/);
    const t0 = Date.now();
    await app.expectApi('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { reason: 'e2e' }, 200);
    expect((await within(idle.closedAt, 1000, 'IMAP close after suspension')) - t0).toBeLessThan(1000);
    expect(await within(smtp.cmd(`MAIL FROM:<${address}>`), 1000, 'SMTP refusal after suspension')).toMatch(/^535|closed/);
    smtp.close();
    await imapLoginFails(address, PASSWORD);
    await smtpLoginFails(address, PASSWORD);
  });

  it('an app password works for IMAP and stops after revocation (its open session ends, the password session stays)', async () => {
    const address = 'apps@access-e2e.test';
    const mb = await app.provisionMailbox(address, PASSWORD);
    const created = await app.expectApi<{ id: string; password: string }>('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { name: 'Phone', scopes: ['imap'] }, 201);
    const viaApp = await idleSession(address, created.password);
    const viaPassword = await idleSession(address, PASSWORD);
    let passwordClosed = false;
    void viaPassword.closedAt.then(() => (passwordClosed = true));
    // Scoped to IMAP: SMTP refuses it.
    await smtpLoginFails(address, created.password);

    const t0 = Date.now();
    const del = await app.api('DELETE', `/api/v1/mailboxes/${mb.id}/app-passwords/${created.id}`);
    expect(del.status).toBe(204);
    expect((await within(viaApp.closedAt, 1000, 'app-password session close')) - t0).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 300));
    expect(passwordClosed).toBe(false);
    await imapLoginFails(address, created.password);
    await viaPassword.client.logout();
  });

  it('an emergency reset without a second approver issues nothing; offboarding verifies clean', async () => {
    const address = 'urgent@access-e2e.test';
    const mb = await app.provisionMailbox(address, PASSWORD, { owner: { name: 'Urgent Person', email: 'urgent.home@home.example' }, resetDestination: 'urgent.home@home.example' });
    const req = await app.expectApi<{ id: string; status: string }>(
      'POST',
      `/api/v1/mailboxes/${mb.id}/resets`,
      {
        kind: 'emergency',
        delivery: 'link',
        reason: 'says the phone was stolen',
        verification: { method: 'callback-known-number', evidence: 'called the number on file in HR records' },
        newResetDestination: 'urgent.new@home.example',
      },
      201,
    );
    expect(req.status).toBe('pending-approval');
    const self = await app.api('POST', `/api/v1/resets/${req.id}/approve`, {});
    expect(self.status).toBe(403);
    // Nothing changed: the owner still logs in with the old password.
    const c = imap(address, PASSWORD);
    await c.connect();
    await c.logout();

    // The plan sees the open IMAP session (counted by the credential module); apply closes it.
    const idle = await idleSession(address, PASSWORD);
    const plan = await app.expectApi<{ paths: Array<{ kind: string }> }>('POST', `/api/v1/mailboxes/${mb.id}/offboarding/plan`, {}, 200);
    expect(plan.paths.map((p) => p.kind)).toEqual(expect.arrayContaining(['login', 'session', 'reset']));
    const applied = await app.expectApi<{ remaining: unknown[] }>(
      'POST',
      `/api/v1/mailboxes/${mb.id}/offboarding/apply`,
      { reason: 'left', transferTo: { name: 'Mia', email: 'mia@home.example' } },
      200,
    );
    expect(applied.remaining).toEqual([]);
    await within(idle.closedAt, 1000, 'IMAP close after offboarding');
    expect((await app.expectApi<{ ok: boolean }>('POST', `/api/v1/mailboxes/${mb.id}/offboarding/verify`, undefined, 200)).ok).toBe(true);
    await imapLoginFails(address, PASSWORD);
  });
});
