/**
 * Sending, end to end: submission over 587 (STARTTLS) and 465 (TLS) with swaks and nodemailer,
 * DKIM verified by python3-dkim (dkimpy) and mailauth, sender spoofing refused, Haraka's outbound
 * queue delivering to a loopback SMTP sink found through MX (dnsmasq) or a smarthost, retries,
 * DSNs, limits and the automatic block, SRS forwarding, forward expiry, loops, key rotation.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { authenticate } from 'mailauth';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver } from '../../appliance/net/resolver.js';
import { Appliance, OPERATOR_TOKEN } from '../helpers/appliance.js';
import { type DnsRecord, type DnsServer, startDnsServer } from '../helpers/dns.js';
import { type Sink, startSink } from '../helpers/sink.js';
import { findStored, storedMessages } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';

const PASSWORD = 'Sturdy-Passw0rd!';

function verifyWithDkimpy(raw: string, records: Record<string, string>): Promise<Array<{ selector: string; algorithm: string; ok: boolean }>> {
  const file = path.join(tmpdir(), `postern-dkim-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(records));
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', [path.resolve(__dirname, '../helpers/dkim_verify.py'), file], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
    child.stdin!.end(raw);
  });
}

function submit(app: Appliance, user: string, args: string[], opts: { port?: 'submission' | 'submissions'; password?: string } = {}) {
  const port = opts.port ?? 'submission';
  return swaks([
    '--server',
    `127.0.0.1:${app.ports[port]}`,
    ...(port === 'submission' ? ['-tls'] : ['--tls-on-connect']),
    '--auth',
    'PLAIN',
    '--auth-user',
    user,
    '--auth-password',
    opts.password ?? PASSWORD,
    ...args,
  ]);
}

describe('sending', () => {
  let dns: DnsServer;
  let sink: Sink;
  let relaySink: Sink;
  let slowSink: Sink;
  let app: Appliance;
  let baseRecords: DnsRecord[];
  let dkimRecords: Record<string, string> = {};
  let sendDomain: string;
  const mb: Record<string, { id: string; address: string }> = {};

  async function publishDkim(): Promise<void> {
    dkimRecords = {};
    const records: DnsRecord[] = [...baseRecords];
    for (const domainId of [sendDomain]) {
      const dnsList = await app.expectApi<Array<{ type: string; name: string; value: string }>>('GET', `/api/v1/domains/${domainId}/dns`, undefined, 200);
      for (const r of dnsList.filter((x) => x.type === 'TXT' && x.name.includes('._domainkey.'))) {
        dkimRecords[r.name] = r.value;
        records.push({ type: 'TXT', name: r.name, value: r.value });
      }
    }
    await dns.setRecords(records);
  }

  beforeAll(async () => {
    sink = await startSink({
      policy: (rcpt, attempt) =>
        rcpt.startsWith('flaky@') && attempt === 1 ? { code: 451, message: 'try again later' } : rcpt.startsWith('nouser@') ? { code: 550, message: 'no such user here' } : null,
    });
    relaySink = await startSink({ auth: { user: 'relayuser', pass: 'relaypass' } });
    slowSink = await startSink({ dataDelayMs: 4000 });
    baseRecords = [
      { type: 'MX', name: 'remote.test', value: 'mx.remote.test' },
      { type: 'A', name: 'mx.remote.test', value: '127.0.0.1' },
      { type: 'MX', name: 'elsewhere.test', value: 'mx.remote.test' },
    ];
    dns = await startDnsServer(['test'], baseRecords);
    app = await Appliance.start({
      env: {
        POSTERN_DNS_RESOLVER: dns.address,
        POSTERN_OUTBOUND_PORT: String(sink.port),
        POSTERN_OUTBOUND_RETRY: '5s,5s',
        POSTERN_SEND_LIMIT_WINDOW_SECONDS: '6',
        POSTERN_SEND_BLOCK_FACTOR: '2',
      },
    });
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina']) {
      mb[name] = await app.provisionMailbox(`${name}@send.test`, PASSWORD);
    }
    sendDomain = await app.ensureDomain('send.test');
    // External forwarding is off by default (tenant access policy); the forwarding tests need it on.
    await app.expectApi('PUT', `/api/v1/tenants/${app.tenantId}/access-policy`, { externalForwarding: true, reason: 'forwarding tests' }, 200);
    await app.expectApi('POST', `/api/v1/domains/${sendDomain}/aliases`, { localPart: 'sales', targets: ['alice@send.test'] }, 201);
    const relayDomain = await app.ensureDomain('relay.test');
    mb.carolRelay = await app.provisionMailbox('carol@relay.test', PASSWORD);
    await app.expectApi('PUT', `/api/v1/domains/${relayDomain}/outbound-route`, { host: '127.0.0.1', port: relaySink.port, authUser: 'relayuser', authPassword: 'relaypass' }, 200);
    // A second tenant, for cross-tenant spoofing.
    const other = await app.expectApi<{ id: string }>('POST', '/api/v1/tenants', { name: 'Other tenant' }, 201);
    const otherDomain = await app.expectApi<{ id: string }>('POST', `/api/v1/tenants/${other.id}/domains`, { name: 'other.test' }, 201);
    // Tenant B's mail goes through its own (slow) smarthost: the flood of the fairness test.
    await app.expectApi('PUT', `/api/v1/tenants/${other.id}/outbound-route`, { host: '127.0.0.1', port: slowSink.port }, 200);
    const mallory = await app.expectApi<{ setup: { token: string } }>(
      'POST',
      `/api/v1/domains/${otherDomain.id}/mailboxes`,
      { localPart: 'mallory', owner: { name: 'M', email: 'm@owners.example' }, credentialDelivery: 'link' },
      201,
    );
    await app.expectApi('POST', `/api/v1/setup/${mallory.setup.token}`, { password: PASSWORD }, 204);
    await publishDkim();
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([dns?.stop(), sink?.close(), relaySink?.close(), slowSink?.close()]);
  });

  it('submits over 587 with STARTTLS and AUTH PLAIN; the message reaches the MX signed with RSA and Ed25519, verified by dkimpy and mailauth', async () => {
    const r = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--to', 'friend@remote.test', '--header', 'Subject: signed-587']);
    expect(r.exitCode, r.output).toBe(0);
    const got = await sink.waitFor((m) => m.raw.includes('Subject: signed-587'));
    expect(got.from).toBe('alice@send.test');
    expect(got.to).toEqual(['friend@remote.test']);
    const py = await verifyWithDkimpy(got.raw, dkimRecords);
    expect(py.map((s) => [s.algorithm, s.ok]).sort()).toEqual([
      ['ed25519-sha256', true],
      ['rsa-sha256', true],
    ]);
    const resolver = createResolver({ host: '127.0.0.1', port: dns.port });
    const auth = await authenticate(Buffer.from(got.raw), { ip: '192.0.2.1', helo: 'mx.postern.test', sender: 'alice@send.test', mta: 'remote.test', resolver });
    const results = auth.dkim.results.map((x: { status: { result: string }; signingHeaders?: unknown; algo?: string }) => x.status.result);
    expect(results).toEqual(['pass', 'pass']);
  });

  it('submits over 465 with implicit TLS and AUTH LOGIN (swaks), and with nodemailer', async () => {
    const r = await swaks([
      '--server',
      `127.0.0.1:${app.ports.submissions}`,
      '--tls-on-connect',
      '--auth',
      'LOGIN',
      '--auth-user',
      'alice@send.test',
      '--auth-password',
      PASSWORD,
      '--from',
      'alice@send.test',
      '--to',
      'pal@remote.test',
      '--header',
      'Subject: over-465',
    ]);
    expect(r.exitCode, r.output).toBe(0);
    await sink.waitFor((m) => m.raw.includes('Subject: over-465'));
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: app.ports.submissions,
      secure: true,
      auth: { user: 'alice@send.test', pass: PASSWORD },
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({ from: 'Alice <alice@send.test>', to: 'pal@remote.test', subject: 'nodemailer-465', text: 'hello', html: '<p>hello</p>' });
    expect(info.accepted).toEqual(['pal@remote.test']);
    const got = await sink.waitFor((m) => m.raw.includes('Subject: nodemailer-465'));
    expect(got.raw).toMatch(/DKIM-Signature: v=1; a=rsa-sha256/);
  });

  it('offers AUTH only on submission and only after TLS; refuses unauthenticated or wrong credentials', async () => {
    const plain = await swaks(['--server', `127.0.0.1:${app.ports.submission}`, '--quit-after', 'EHLO']);
    expect(plain.output).not.toMatch(/250-AUTH|250 AUTH/);
    const mx = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '-tls', '--quit-after', 'EHLO']);
    expect(mx.output).not.toMatch(/AUTH /);
    const noAuth = await swaks(['--server', `127.0.0.1:${app.ports.submission}`, '-tls', '--from', 'alice@send.test', '--to', 'x@remote.test', '--quit-after', 'MAIL']);
    expect(noAuth.replies.at(-2)).toMatch(/^530 5\.7\.0 /);
    const wrong = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--to', 'x@remote.test', '--quit-after', 'AUTH'], { password: 'not-the-password' });
    expect(wrong.output).toMatch(/535 5\.7\.8 /);
  });

  it('refuses sender spoofing: another mailbox, another tenant, a mismatched From:; allows aliases and send-as grants', async () => {
    const other = await submit(app, 'alice@send.test', ['--from', 'bob@send.test', '--to', 'x@remote.test', '--quit-after', 'MAIL']);
    expect(other.replies.at(-2)).toMatch(/^550 5\.7\.1 /);
    const tenant = await submit(app, 'alice@send.test', ['--from', 'mallory@other.test', '--to', 'x@remote.test', '--quit-after', 'MAIL']);
    expect(tenant.replies.at(-2)).toMatch(/^550 5\.7\.1 /);
    const crossTenant = await submit(app, 'mallory@other.test', ['--from', 'mallory@other.test', '--h-From', 'CEO <alice@send.test>', '--to', 'x@remote.test']);
    expect(crossTenant.replies.at(-2)).toMatch(/^550 5\.7\.1 .*From: header/);
    const header = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--h-From', 'Bob <bob@send.test>', '--to', 'x@remote.test']);
    expect(header.replies.at(-2)).toMatch(/^550 5\.7\.1 /);
    const alias = await submit(app, 'alice@send.test', ['--from', 'sales@send.test', '--h-From', 'Sales <sales@send.test>', '--to', 'x@remote.test', '--header', 'Subject: as-alias']);
    expect(alias.exitCode, alias.output).toBe(0);
    const denied = await submit(app, 'alice@send.test', ['--from', 'billing@send.test', '--to', 'x@remote.test', '--quit-after', 'MAIL']);
    expect(denied.replies.at(-2)).toMatch(/^550 5\.7\.1 /);
    await app.expectApi('POST', `/api/v1/mailboxes/${mb.alice!.id}/send-as`, { address: 'billing@send.test' }, 201);
    const granted = await submit(app, 'alice@send.test', ['--from', 'billing@send.test', '--h-From', 'billing@send.test', '--to', 'x@remote.test']);
    expect(granted.exitCode, granted.output).toBe(0);
  });

  it('delivers to hosted recipients locally, signed, without leaving the appliance', async () => {
    const r = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--to', 'bob@send.test', '--header', 'Subject: internal-note']);
    expect(r.exitCode, r.output).toBe(0);
    const stored = findStored(app.dataDir, 'bob@send.test', 'Subject: internal-note', 'INBOX');
    expect(stored?.raw).toMatch(/DKIM-Signature: v=1; a=ed25519-sha256/);
    await new Promise((res) => setTimeout(res, 500));
    expect(sink.messages.some((m) => m.raw.includes('Subject: internal-note'))).toBe(false);
  });

  it('retries after a temporary failure and delivers', async () => {
    const r = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--to', 'flaky@remote.test', '--header', 'Subject: retry-me']);
    expect(r.exitCode, r.output).toBe(0);
    const got = await sink.waitFor((m) => m.raw.includes('Subject: retry-me'), 20_000);
    expect(sink.attempts.get('flaky@remote.test')).toBe(2);
    expect(got.to).toEqual(['flaky@remote.test']);
  });

  it('sends a DSN to the sender after a permanent failure', async () => {
    const r = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--to', 'nouser@remote.test', '--header', 'Subject: will-bounce']);
    expect(r.exitCode, r.output).toBe(0);
    const deadline = Date.now() + 15_000;
    let dsn: ReturnType<typeof storedMessages>[number] | undefined;
    while (!dsn && Date.now() < deadline) {
      dsn = storedMessages(app.dataDir, 'alice@send.test', 'INBOX').find((m) => m.raw.includes('nouser@remote.test') && /multipart\/report/i.test(m.raw));
      if (!dsn) await new Promise((res) => setTimeout(res, 200));
    }
    expect(dsn, 'DSN in the sender INBOX').toBeDefined();
    expect(dsn!.raw).toMatch(/550/);
  });

  it("does not let one tenant's flood delay another tenant's mail", async () => {
    // Tenant "other" floods a slow next hop (4 s per message)...
    const flood = Array.from({ length: 25 }, (_, i) => submit(app, 'mallory@other.test', ['--from', 'mallory@other.test', '--to', `list${i}@remote.test`, '--header', `Subject: flood-${i}`]));
    const accepted = await Promise.all(flood);
    for (const a of accepted) expect(a.exitCode, a.output).toBe(0);
    // ...while tenant "send.test" sends one message: it is delivered at once, not after the flood.
    const t0 = Date.now();
    const r = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--to', 'friend@remote.test', '--header', 'Subject: not-behind-the-flood']);
    expect(r.exitCode, r.output).toBe(0);
    await sink.waitFor((m) => m.raw.includes('Subject: not-behind-the-flood'), 3_000);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(slowSink.messages.length).toBeLessThan(25); // the flood is still in flight
  });

  it('relays through the domain smarthost with AUTH', async () => {
    const r = await submit(app, 'carol@relay.test', ['--from', 'carol@relay.test', '--to', 'partner@remote.test', '--header', 'Subject: via-smarthost']);
    expect(r.exitCode, r.output).toBe(0);
    const got = await relaySink.waitFor((m) => m.raw.includes('Subject: via-smarthost'));
    expect(got.user).toBe('relayuser');
    expect(sink.messages.some((m) => m.raw.includes('Subject: via-smarthost'))).toBe(false);
  });

  it('a changed outbound route applies to the very next message (Haraka keeps route answers only until a write)', async () => {
    const relayDomain = await app.ensureDomain('relay.test');
    const send = async (subject: string) => {
      const r = await submit(app, 'carol@relay.test', ['--from', 'carol@relay.test', '--to', 'partner@remote.test', '--header', `Subject: ${subject}`]);
      expect(r.exitCode, r.output).toBe(0);
    };
    await send('route-kept-1');
    await relaySink.waitFor((m) => m.raw.includes('Subject: route-kept-1'));
    // Back to MX delivery: the next message reaches the MX sink, not the smarthost.
    await app.expectApi('DELETE', `/api/v1/domains/${relayDomain}/outbound-route`, undefined, 204);
    await send('route-kept-2');
    await sink.waitFor((m) => m.raw.includes('Subject: route-kept-2'));
    // And the smarthost again for the one after.
    await app.expectApi('PUT', `/api/v1/domains/${relayDomain}/outbound-route`, { host: '127.0.0.1', port: relaySink.port, authUser: 'relayuser', authPassword: 'relaypass' }, 200);
    await send('route-kept-3');
    await relaySink.waitFor((m) => m.raw.includes('Subject: route-kept-3'));
    expect(relaySink.messages.some((m) => m.raw.includes('Subject: route-kept-2'))).toBe(false);
    expect(sink.messages.some((m) => m.raw.includes('Subject: route-kept-3'))).toBe(false);
  });

  it('trips the mailbox limit with 451 4.7.1, recovers after the window, and blocks a mailbox that keeps pushing until an admin lifts it', async () => {
    await app.expectApi('PUT', `/api/v1/mailboxes/${mb.erin!.id}/send-limits`, { messagesPerHour: 1, recipientsPerHour: 10 }, 200);
    const send = () => submit(app, 'erin@send.test', ['--from', 'erin@send.test', '--to', 'x@remote.test']);
    expect((await send()).exitCode).toBe(0);
    expect((await send()).replies.at(-2)).toMatch(/^451 4\.7\.1 /);
    await new Promise((r) => setTimeout(r, 6_500));
    expect((await send()).exitCode).toBe(0);

    await app.expectApi('PUT', `/api/v1/mailboxes/${mb.dave!.id}/send-limits`, { messagesPerHour: 1, recipientsPerHour: 10 }, 200);
    const dave = () => submit(app, 'dave@send.test', ['--from', 'dave@send.test', '--to', 'x@remote.test']);
    expect((await dave()).exitCode).toBe(0);
    expect((await dave()).replies.at(-2)).toMatch(/^451 4\.7\.1 /);
    expect((await dave()).replies.at(-2)).toMatch(/^550 5\.7\.1 .*blocked/);
    const state = await app.expectApi<{ blocked: boolean }>('GET', `/api/v1/mailboxes/${mb.dave!.id}/sending`, undefined, 200);
    expect(state.blocked).toBe(true);
    const events = await app.expectApi<Array<{ action: string; target: { id: string } }>>('GET', '/api/v1/audit/events?limit=500', undefined, 200);
    expect(events.some((e) => e.action === 'mailbox.send.blocked')).toBe(true);
    // Still receives mail while blocked from sending.
    const inbound = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'x@elsewhere.test', '--to', 'dave@send.test', '--header', 'Subject: still-receiving']);
    expect(inbound.exitCode, inbound.output).toBe(0);
    await app.expectApi('POST', `/api/v1/mailboxes/${mb.dave!.id}/send-block/lift`, { reason: 'investigated: no compromise' }, 200);
    expect((await dave()).exitCode).toBe(0);
    expect(OPERATOR_TOKEN).toBeTruthy();
  });

  it('forwards externally with SRS, keeps a local copy, and routes a bounce to the SRS address back', async () => {
    await app.expectApi('POST', `/api/v1/mailboxes/${mb.frank!.id}/forwards`, { target: 'frank.private@remote.test', reason: 'on leave, reads mail at home' }, 201);
    const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'someone@elsewhere.test', '--to', 'frank@send.test', '--header', 'Subject: to-forward']);
    expect(r.exitCode, r.output).toBe(0);
    const got = await sink.waitFor((m) => m.raw.includes('Subject: to-forward'));
    expect(got.to).toEqual(['frank.private@remote.test']);
    expect(got.from).toMatch(/^SRS0=[a-z2-7]{6}=[a-z2-7]{2}=elsewhere\.test=someone@send\.test$/);
    expect(findStored(app.dataDir, 'frank@send.test', 'Subject: to-forward')).toBeDefined();
    // The next hop bounces to the SRS address: it goes back to the original sender, null sender kept.
    const bounce = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', '<>', '--to', got.from, '--header', 'Subject: bounce-of-forward']);
    expect(bounce.exitCode, bounce.output).toBe(0);
    const back = await sink.waitFor((m) => m.raw.includes('Subject: bounce-of-forward'));
    expect(back.to).toEqual(['someone@elsewhere.test']);
    expect(back.from).toBe('');
    const forged = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', '<>', '--to', 'SRS0=AAAAAA=aa=elsewhere.test=someone@send.test', '--quit-after', 'RCPT']);
    expect(forged.replies.at(-2)).toMatch(/^550 5\.1\.1 /);
  });

  it('does not forward a message that already passed through the mailbox (loop), and stops an expired forward', async () => {
    const loop = await swaks([
      '--server',
      `127.0.0.1:${app.ports.smtp}`,
      '--from',
      'someone@elsewhere.test',
      '--to',
      'frank@send.test',
      '--add-header',
      'Delivered-To: frank@send.test',
      '--header',
      'Subject: looping',
    ]);
    expect(loop.exitCode, loop.output).toBe(0);
    expect(findStored(app.dataDir, 'frank@send.test', 'Subject: looping')).toBeDefined();

    const expiresAt = new Date(Date.now() + 1500).toISOString();
    await app.expectApi('POST', `/api/v1/mailboxes/${mb.gina!.id}/forwards`, { target: 'gina.temp@remote.test', reason: 'two-day handover', expiresAt }, 201);
    await new Promise((r) => setTimeout(r, 2000));
    const late = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'someone@elsewhere.test', '--to', 'gina@send.test', '--header', 'Subject: after-expiry']);
    expect(late.exitCode, late.output).toBe(0);
    expect(findStored(app.dataDir, 'gina@send.test', 'Subject: after-expiry')).toBeDefined();
    const forwards = await app.expectApi<Array<{ status: string }>>('GET', `/api/v1/mailboxes/${mb.gina!.id}/forwards`, undefined, 200);
    expect(forwards.map((f) => f.status)).toEqual(['expired']);
    await new Promise((r) => setTimeout(r, 1000));
    expect(sink.messages.some((m) => m.raw.includes('Subject: after-expiry') || m.raw.includes('Subject: looping'))).toBe(false);
  });

  it('rotates DKIM keys: a new selector is published, activated for signing, and the old one stays valid until retired', async () => {
    // Haraka keeps a domain's keys between messages (mta-plugins/shared/kept.ts): signed once
    // before the rotation, so the message after it shows the write ended the kept answer.
    const before = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--to', 'friend@remote.test', '--header', 'Subject: before-rotation']);
    expect(before.exitCode, before.output).toBe(0);
    const signedBefore = await sink.waitFor((m) => m.raw.includes('Subject: before-rotation'));
    const published = await app.expectApi<Array<{ id: string; selector: string; algorithm: string }>>('POST', `/api/v1/domains/${sendDomain}/dkim/rotate`, { algorithms: ['rsa-sha256'] }, 201);
    const fresh = published[0]!;
    let records = await app.expectApi<Array<{ name: string }>>('GET', `/api/v1/domains/${sendDomain}/dns`, undefined, 200);
    expect(records.filter((x) => x.name.includes('._domainkey.')).length).toBe(3);
    await publishDkim();
    const keys = await app.expectApi<Array<{ id: string; selector: string; algorithm: string; status: string }>>('POST', `/api/v1/domains/${sendDomain}/dkim/${fresh.id}/activate`, undefined, 200);
    const old = keys.find((k) => k.algorithm === 'rsa-sha256' && k.id !== fresh.id)!;
    expect(old.status).toBe('published');
    const r = await submit(app, 'alice@send.test', ['--from', 'alice@send.test', '--to', 'friend@remote.test', '--header', 'Subject: after-rotation']);
    expect(r.exitCode, r.output).toBe(0);
    const got = await sink.waitFor((m) => m.raw.includes('Subject: after-rotation'));
    expect(got.raw).toContain(`s=${fresh.selector}`);
    expect(signedBefore.raw).not.toContain(`s=${fresh.selector}`);
    const py = await verifyWithDkimpy(got.raw, dkimRecords);
    expect(py.every((s) => s.ok)).toBe(true);
    await app.expectApi('POST', `/api/v1/domains/${sendDomain}/dkim/${old.id}/retire`, undefined, 200);
    records = await app.expectApi('GET', `/api/v1/domains/${sendDomain}/dns`, undefined, 200);
    expect(records.some((x) => x.name.startsWith(`${old.selector}.`))).toBe(false);
  });
});
