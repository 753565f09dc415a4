/**
 * Memory under an upload burst, on the real appliance process (dist/appliance/main.js, its RSS
 * read from /proc): 20 unauthenticated clients try 45 MB literals (refused before "+" or cut at
 * once), then 8 logged-in clients upload 10 MiB each at the same time (spilled to temporary
 * files while they arrive). RSS must come back near where it started, the limits must show in
 * GET /metrics, and a canary (login, SELECT, FETCH) is served during the burst.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { RawClient, sleep } from './imap-harness.js';

const USER = 'burst@memory.test';
const PASS = 'Sturdy-Passw0rd-7731!';
const MIB = 1024 * 1024;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('IMAP memory after a burst (real appliance)', () => {
  let app: Appliance;
  beforeAll(async () => {
    app = await Appliance.start({ env: { POSTERN_IMAP_MAX_UNAUTH_PER_IP: '30', POSTERN_IMAP_PREAUTH_TIMEOUT_SECONDS: '20' } });
    await app.provisionMailbox(USER, PASS);
    // Something to FETCH for the canary.
    const c = await RawClient.connect(app.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    const msg = 'Subject: canary\r\n\r\nhello\r\n';
    c.send(`a APPEND INBOX {${msg.length}}\r\n`);
    await c.until((b) => b.includes('+ '));
    c.take();
    c.send(`${msg}\r\n`);
    expect(await c.until((b) => /a (OK|NO|BAD)/.test(b))).toMatch(/a OK/);
    c.close();
  }, 60_000);
  afterAll(async () => app?.stop());

  async function canary(label: string): Promise<number> {
    const t = performance.now();
    const c = await RawClient.connect(app.ports.imaps, true);
    expect(await c.cmd('l', `LOGIN ${USER} "${PASS}"`, 15_000)).toMatch(/l OK/);
    expect(await c.cmd('s', 'SELECT INBOX', 15_000)).toMatch(/s OK/);
    expect(await c.cmd('f', 'FETCH 1 (FLAGS BODY.PEEK[HEADER])', 15_000)).toMatch(/Subject: canary[\s\S]*f OK/);
    c.close();
    const ms = performance.now() - t;
    console.log(`canary (${label}): ${ms.toFixed(0)} ms`);
    return ms;
  }

  it('returns memory after pre-auth literal attacks and a burst of 10 MiB uploads; limits visible in metrics', async () => {
    await sleep(1000);
    const before = rssMb(app.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(app.pid))), 100);
    try {
      // 1. Unauthenticated: a 45 MB synchronising literal (refused without "+") and a 45 MB
      //    non-synchronising one (refused, connection closed without reading it).
      const attackers = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(app.ports.imap)));
      for (const a of attackers) a.send('a APPEND INBOX {45000000}\r\n');
      await Promise.all(attackers.map((a) => a.until((b) => /a (OK|NO|BAD)/.test(b))));
      for (const a of attackers) expect(a.take()).not.toContain('+ ');
      const chunk = Buffer.alloc(MIB, 'z');
      for (const a of attackers) {
        a.send('b LOGIN x {45000000+}\r\n');
        for (let i = 0; i < 4; i++) a.send(chunk);
      }
      await Promise.all(attackers.map((a) => a.until(() => a.closed, 10_000)));

      // 2. Logged in: 8 concurrent 10 MiB APPENDs.
      const body = Buffer.concat([Buffer.from('Subject: burst\r\n\r\n'), Buffer.alloc(10 * MIB, 'b'), Buffer.from('\r\n')]);
      const uploaders = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const c = await RawClient.connect(app.ports.imaps, true);
          await c.cmd('l', `LOGIN ${USER} "${PASS}"`, 15_000);
          return c;
        }),
      );
      const uploads = uploaders.map(async (c) => {
        c.send(`u APPEND INBOX {${body.length}}\r\n`);
        await c.until((b) => b.includes('+ '), 15_000);
        c.take();
        c.send(body);
        c.send('\r\n');
        const r = await c.until((b) => /u (OK|NO|BAD)/.test(b), 60_000);
        c.close();
        return r;
      });
      const ms = await canary('8 × 10 MiB APPEND in flight');
      for (const r of await Promise.all(uploads)) expect(r).toMatch(/u OK/);
      expect(ms).toBeLessThan(15_000);
    } finally {
      clearInterval(sampler);
    }
    // Give the allocator a moment to hand back what the burst used.
    let after = rssMb(app.pid);
    for (let i = 0; i < 20 && after > before + 100; i++) {
      await sleep(500);
      after = rssMb(app.pid);
    }
    console.log(`appliance RSS: ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB peak, ${after.toFixed(0)} MB after the burst`);
    // Before the fix: 20 × 45 MB pre-auth literals alone took RSS from 139 to 988 MB and kept 1,030 MB.
    expect(after - before).toBeLessThan(150);
    expect(peak - before).toBeLessThan(600);

    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/postern_imap_limit\{limit="max_unauthenticated_per_ip"\} 30/);
    expect(metrics).toMatch(/postern_imap_limit\{limit="preauth_timeout_seconds"\} 20/);
    expect(metrics).toMatch(/postern_imap_limit\{limit="max_connections"\} 10000/);
    const refused = /postern_imap_limit_refusals_total\{reason="preauth-literal"\} (\d+)/.exec(metrics);
    expect(Number(refused?.[1])).toBeGreaterThanOrEqual(20);
    // Nothing is left in the temporary literal directory.
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(`${app.dataDir}/tmp/imap`)).toEqual([]);
  }, 180_000);

  it('refuses connections beyond the per-address cap on both ports, and serves other addresses', async () => {
    const open: net.Socket[] = [];
    const greet = (port: number, source: string) =>
      new Promise<string>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port, localAddress: source });
        open.push(s);
        s.setEncoding('utf8');
        s.once('data', (d: string) => resolve(d));
        s.on('error', () => resolve(''));
      });
    const greetings = await Promise.all(Array.from({ length: 40 }, () => greet(app.ports.imap, '127.0.0.9')));
    expect(greetings.filter((g) => g.startsWith('* OK'))).toHaveLength(30);
    expect(greetings.filter((g) => g.includes('Too many connections from your address'))).toHaveLength(10);
    await canary('one address holds 30 unauthenticated slots');
    open.forEach((s) => s.destroy());
  }, 60_000);
});
