/**
 * SMTP abuse limits against the real appliance (Haraka with connect.postern-limits), driven by
 * raw sockets from distinct loopback addresses, each while a canary (swaks from 127.0.0.1)
 * delivers a message; its latency is printed. RFC 5321 §4.5.3.1: 512 octets per command line,
 * 998 + CRLF per text line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { RawSmtp } from '../helpers/smtp-raw.js';
import { findStored } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';

let app: Appliance;

async function canary(tag: string): Promise<number> {
  const t0 = Date.now();
  const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'canary@elsewhere.test', '--to', 'alice@hosted.test', '--header', `Subject: canary-${tag}`]);
  const ms = Date.now() - t0;
  expect(
    r.replies.some((l) => l.startsWith('250') && /queued|ok|accepted/i.test(l)),
    r.output,
  ).toBe(true);
  console.log(`canary (${tag}): delivered in ${ms} ms`);
  return ms;
}

async function greeted(localAddress: string): Promise<RawSmtp> {
  const c = await RawSmtp.connect(app.ports.smtp, localAddress);
  const g = await c.reply();
  expect(g).toMatch(/^220 /);
  expect(g).not.toMatch(/Haraka\/\d/); // no software version in banners
  return c;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

beforeAll(async () => {
  app = await Appliance.start({
    env: {
      POSTERN_SMTP_MAX_SESSIONS_PER_IP: '5',
      POSTERN_SMTP_MAX_SESSIONS: '12',
      POSTERN_SMTP_DATA_MIN_RATE: '50',
      POSTERN_SMTP_DATA_RATE_WINDOW_SECONDS: '2',
    },
  });
  await app.provisionMailbox('alice@hosted.test');
}, 60_000);

afterAll(async () => {
  await app?.stop();
});

describe('SMTP line lengths', () => {
  it('answers a 10 MB command line without CRLF at once with 500 5.5.2 and closes', async () => {
    const c = await greeted('127.0.0.2');
    expect(await c.cmd('EHLO attacker.test')).toMatch(/^250 /);
    const t0 = Date.now();
    void c.write(Buffer.alloc(10 * 1024 * 1024, 'A'));
    const reply = await c.reply(5000);
    const replyMs = Date.now() - t0;
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 5000))]);
    console.log(`10 MB command line: "${reply}" after ${replyMs} ms, closed after ${c.closedAt - t0} ms`);
    expect(reply).toMatch(/^500 5\.5\.2 line too long/);
    expect(c.isClosed).toBe(true);
    c.close();
    await canary('long-command');
  });

  it('refuses a 513-octet command line but serves a 512-octet one', async () => {
    const ok = await greeted('127.0.0.2');
    expect(await ok.cmd('EHLO attacker.test')).toMatch(/^250 /);
    // "HELP " + 505 + CRLF = 512 octets: within the limit, answered normally (not 500 5.5.2).
    expect(await ok.cmd(`HELP ${'a'.repeat(505)}`)).not.toMatch(/5\.5\.2/);
    expect(await ok.cmd(`NOOP ${'a'.repeat(506)}`)).toMatch(/^500 5\.5\.2 line too long/);
    ok.close();
  });

  it('refuses a message with a 10 MB single line (5xx) and stores nothing; a 998-octet line is accepted', async () => {
    const c = await greeted('127.0.0.2');
    expect(await c.cmd('EHLO attacker.test')).toMatch(/^250 /);
    expect(await c.cmd('MAIL FROM:<x@elsewhere.test>')).toMatch(/^250 /);
    expect(await c.cmd('RCPT TO:<alice@hosted.test>')).toMatch(/^250 /);
    expect(await c.cmd('DATA')).toMatch(/^354 /);
    const t0 = Date.now();
    await c.write('Subject: long-line-10mb\r\n\r\n');
    await c.write(Buffer.alloc(10 * 1024 * 1024, 'x'));
    const reply = await c.cmd('\r\n.', 30_000);
    console.log(`10 MB DATA line: "${reply}" after ${Date.now() - t0} ms`);
    expect(reply).toMatch(/^5\d\d 5\.5\.2 /);
    expect(findStored(app.dataDir, 'alice@hosted.test', 'Subject: long-line-10mb')).toBeUndefined();

    expect(await c.cmd('MAIL FROM:<x@elsewhere.test>')).toMatch(/^250 /);
    expect(await c.cmd('RCPT TO:<alice@hosted.test>')).toMatch(/^250 /);
    expect(await c.cmd('DATA')).toMatch(/^354 /);
    await c.write(`Subject: line-998\r\n\r\n${'y'.repeat(998)}\r\n`);
    expect(await c.cmd('.', 30_000)).toMatch(/^250 /);
    expect(findStored(app.dataDir, 'alice@hosted.test', 'Subject: line-998')?.raw).toContain('y'.repeat(998));
    c.close();
  }, 60_000);
});

describe('SMTP DATA rate', () => {
  it('cuts a 1-byte-per-second DATA trickle with 421 4.4.2 while a canary is served', async () => {
    const c = await greeted('127.0.0.2');
    expect(await c.cmd('EHLO attacker.test')).toMatch(/^250 /);
    expect(await c.cmd('MAIL FROM:<x@elsewhere.test>')).toMatch(/^250 /);
    expect(await c.cmd('RCPT TO:<alice@hosted.test>')).toMatch(/^250 /);
    expect(await c.cmd('DATA')).toMatch(/^354 /);
    const t0 = Date.now();
    const trickle = setInterval(() => void c.write('z'), 1000);
    try {
      await canary('trickle');
      const reply = await c.reply(10_000);
      await Promise.race([c.closed, new Promise((r) => setTimeout(r, 3000))]);
      console.log(`DATA trickle at 1 B/s (floor 50 B/s over 2 s): "${reply}" after ${Date.now() - t0} ms`);
      expect(reply).toMatch(/^421 4\.4\.2 /);
      expect(c.isClosed).toBe(true);
    } finally {
      clearInterval(trickle);
      c.close();
    }
  }, 30_000);
});

describe('SMTP session caps', () => {
  it('caps unauthenticated sessions per address; other addresses are served; slots come back on close', async () => {
    const held: RawSmtp[] = [];
    try {
      for (let i = 0; i < 5; i++) held.push(await greeted('127.0.0.2'));
      const sixth = await RawSmtp.connect(app.ports.smtp, '127.0.0.2');
      const refused = await sixth.reply();
      await sixth.closed;
      console.log(`6th session from 127.0.0.2: "${refused}"`);
      expect(refused).toMatch(/^421 4\.7\.0 Too many connections from your address/);
      const other = await greeted('127.0.0.3');
      expect(await other.cmd('QUIT')).toMatch(/^221 /);
      await canary('per-ip-cap');
    } finally {
      for (const c of held) c.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    const again = await greeted('127.0.0.2');
    again.close();
  }, 30_000);

  it('caps all sessions with a clear 421 and serves again once they close', async () => {
    const held: RawSmtp[] = [];
    try {
      for (const ip of ['127.0.0.2', '127.0.0.4']) for (let i = 0; i < 5; i++) held.push(await greeted(ip));
      for (let i = 0; i < 2; i++) held.push(await greeted('127.0.0.5'));
      const over = await RawSmtp.connect(app.ports.smtp, '127.0.0.6');
      const refused = await over.reply();
      console.log(`13th session (global cap 12): "${refused}"`);
      expect(refused).toMatch(/^421 4\.7\.0 Too many connections/);
    } finally {
      for (const c of held) c.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    await canary('after-global-cap');
    // Counted in metrics (reported by the Haraka child once a second).
    await new Promise((r) => setTimeout(r, 1500));
    expect(await metric('postern_smtp_limit_refusals_total{limit="sessions_per_ip"}')).toBeGreaterThanOrEqual(1);
    expect(await metric('postern_smtp_limit_refusals_total{limit="sessions"}')).toBeGreaterThanOrEqual(1);
    expect(await metric('postern_smtp_limit_refusals_total{limit="line_length"}')).toBeGreaterThanOrEqual(2);
    expect(await metric('postern_smtp_limit_refusals_total{limit="data_rate"}')).toBeGreaterThanOrEqual(1);
    expect(await metric('postern_smtp_limit_refusals_total{limit="data_line_length"}')).toBeGreaterThanOrEqual(1);
    expect(await metric('postern_smtp_limit{setting="max_sessions_per_ip"}')).toBe(5);
    expect(await metric('postern_smtp_limit{setting="max_sessions"}')).toBe(12);
  }, 30_000);
});
