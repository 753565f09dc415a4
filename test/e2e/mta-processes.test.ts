/**
 * Haraka on several cores (POSTERN_MTA_PROCESSES=2: Haraka's cluster mode, a master and two
 * workers; mta-plugins/shared/cluster.ts), end to end: inbound delivery, authenticated and
 * DKIM-signed submission relayed to a smarthost, the per-address session cap counted once for
 * all workers, the workers' metrics added up in /metrics, and every Haraka process gone when
 * the appliance dies. The other e2e tests run one Haraka process (test/helpers/appliance.ts).
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { RawSmtp } from '../helpers/smtp-raw.js';
import { type Sink, startSink } from '../helpers/sink.js';
import { findStored } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';
import { alive } from '../helpers/process.js';

const PASSWORD = 'Sturdy-Passw0rd!';
let app: Appliance;
let sink: Sink;

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function greeted(localAddress: string): Promise<RawSmtp> {
  const c = await RawSmtp.connect(app.ports.smtp, localAddress);
  expect(await c.reply()).toMatch(/^220 /);
  return c;
}

beforeAll(async () => {
  sink = await startSink();
  app = await Appliance.start({
    env: {
      POSTERN_MTA_PROCESSES: '2',
      POSTERN_SMTP_MAX_SESSIONS_PER_IP: '2',
      POSTERN_SMARTHOST: `127.0.0.1:${sink.port}`,
      POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0',
    },
    readyTimeoutMs: 60_000,
  });
  await app.provisionMailbox('alice@multi.test', PASSWORD);
  await app.provisionMailbox('bob@multi.test', PASSWORD);
}, 90_000);

afterAll(async () => {
  await app?.stop();
  await sink?.close();
});

describe('Haraka with two worker processes', () => {
  it('runs a master and two workers, ready only once both listen', async () => {
    const [master] = app.childPids();
    expect(master).toBeDefined();
    expect(childrenOf(master!).length).toBe(2);
    // The workers' own line to the appliance: a socket only its user can reach.
    const dir = path.join(app.dataDir, 'haraka', 'rpc');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'appliance.sock')).isSocket()).toBe(true);
    expect(statSync(path.join(dir, 'appliance.sock')).mode & 0o777).toBe(0o600);
  });

  it('stores inbound mail and relays authenticated, DKIM-signed submissions; through the workers', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'x@elsewhere.test', '--to', 'alice@multi.test', '--header', `Subject: multi-in-${i}`]);
      expect(
        r.replies.some((l) => l.startsWith('250') && /stored/i.test(l)),
        r.output,
      ).toBe(true);
      expect(findStored(app.dataDir, 'alice@multi.test', `multi-in-${i}`)).toBeDefined();
    }
    for (let i = 0; i < 2; i++) {
      const r = await swaks(
        ['--server', `127.0.0.1:${app.ports.submission}`, '-tls', '--auth', 'PLAIN', '--auth-user', 'bob@multi.test', '--auth-password', PASSWORD].concat([
          '--from',
          'bob@multi.test',
          '--to',
          `friend${i}@remote.test`,
          '--header',
          `Subject: multi-out-${i}`,
        ]),
      );
      expect(
        r.replies.some((l) => l.startsWith('250') && /queued|ok|accepted|stored/i.test(l)),
        r.output,
      ).toBe(true);
      const got = await sink.waitFor((m) => m.raw.includes(`multi-out-${i}`), 20_000);
      expect(got.raw).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256;/m);
      expect(got.raw).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256;/m);
    }
  }, 90_000);

  it('counts the per-address session cap once for all workers, and gives slots back on close', async () => {
    const held = [await greeted('127.0.0.7'), await greeted('127.0.0.7')];
    try {
      // Each worker alone would have admitted two; the master counts for both.
      for (let i = 0; i < 2; i++) {
        const extra = await RawSmtp.connect(app.ports.smtp, '127.0.0.7');
        expect(await extra.reply()).toMatch(/^421 4\.7\.0 Too many connections from your address/);
        await extra.closed;
      }
      const other = await greeted('127.0.0.8');
      other.close();
      // Both held sessions count in the open-sessions gauge, summed over the workers' reports.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await metric('postern_smtp_sessions', 'listener="mx"')).toBe(2);
    } finally {
      for (const c of held) c.close();
    }
    await new Promise((r) => setTimeout(r, 500));
    const again = [await greeted('127.0.0.7'), await greeted('127.0.0.7')];
    for (const c of again) c.close();
    expect(await metric('postern_smtp_limit_refusals_total', 'limit="sessions_per_ip"')).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('leaves no Haraka process behind when the appliance dies', async () => {
    const [master] = app.childPids();
    const processes = [master!, ...childrenOf(master!)];
    expect(processes.length).toBe(3);
    await app.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (processes.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(processes.filter(alive)).toEqual([]);
  }, 30_000);
});
