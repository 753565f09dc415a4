/**
 * Issue 17: a node dies for good with mail in its outbound queue (Haraka's, in its own
 * POSTERN_DATA_DIR/haraka/queue). `postern queue recover --from <its data dir>` run against
 * another node queues every message there again, envelope and bytes unchanged (a dot-stuffed
 * line, UTF-8, the DKIM signature of the dead node), with an audit event each, and moves each
 * file aside so a second run sends nothing twice. The queue files are real: node A accepted the
 * submissions while its outbound target (the MX) was down, then was SIGKILLed.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { runCli } from '../helpers/cli.js';
import { type DnsServer, startDnsServer } from '../helpers/dns.js';
import { freePorts } from '../helpers/ports.js';
import { type Sink, startSink } from '../helpers/sink.js';
import { swaks } from '../helpers/swaks.js';

const PASSWORD = 'Sturdy-Passw0rd!';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const queueFiles = (dataDir: string) => {
  const dir = path.join(dataDir, 'haraka', 'queue');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d{10,}_/.test(f)) : [];
};

describe('postern queue recover', () => {
  let dns: DnsServer;
  let sink: Sink;
  let dead: Appliance;
  let live: Appliance;

  beforeAll(async () => {
    dns = await startDnsServer(
      ['test'],
      [
        { type: 'MX', name: 'remote.test', value: 'mx.remote.test' },
        { type: 'A', name: 'mx.remote.test', value: '127.0.0.1' },
      ],
    );
    sink = await startSink();
    const [downPort] = await freePorts(1);
    const common = { POSTERN_DNS_RESOLVER: dns.address, POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0', POSTERN_SPAM: 'false', POSTERN_OUTBOUND_RETRY: '1h,1h' };
    // Node A: its MX is down (nothing listens on downPort): accepted mail stays in its queue.
    dead = await Appliance.start({ env: { ...common, POSTERN_OUTBOUND_PORT: String(downPort), POSTERN_NODE_ID: 'node-a' } });
    live = await Appliance.start({ env: { ...common, POSTERN_OUTBOUND_PORT: String(sink.port), POSTERN_NODE_ID: 'node-b' } });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([dead?.stop(), live?.stop()]);
    await Promise.allSettled([dns?.stop(), sink?.close()]);
  });

  it("re-queues every message of a SIGKILLed node's queue on another node, once, with progress and audit events", async () => {
    await dead.provisionMailbox('alice@recover.test', PASSWORD);
    const bodies = ['first body\n.a line that starts with a dot\nend', 'zweite Nachricht: Grüße, naïve café', 'third body'];
    for (const [i, body] of bodies.entries()) {
      const r = await swaks([
        ...['--server', `127.0.0.1:${dead.ports.submission}`, '-tls', '--auth', 'PLAIN', '--auth-user', 'alice@recover.test', '--auth-password', PASSWORD],
        ...['--from', 'alice@recover.test', '--to', `friend${i}@remote.test`, '--header', `Subject: recover-${i}`, '--body', body],
      ]);
      expect(r.exitCode, r.output).toBe(0); // 250: the message is promised
    }
    // Haraka tried (connection refused) and deferred all three: they wait in A's queue.
    const deadline = Date.now() + 20_000;
    while (queueFiles(dead.dataDir).length < 3 && Date.now() < deadline) await sleep(100);
    expect(queueFiles(dead.dataDir)).toHaveLength(3);

    // A dies for good (the appliance and its Haraka child).
    const kids = dead.childPids();
    await dead.kill('SIGKILL');
    for (const pid of kids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone with its parent */
      }
    }
    expect(sink.messages).toHaveLength(0);

    const run = await runCli(live, ['queue', 'recover', '--from', dead.dataDir]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('3 queued message(s)');
    expect(run.stdout).toMatch(/\[1\/3\].*queued here/);
    expect(run.stdout).toMatch(/\[3\/3\].*queued here/);
    expect(run.stdout).toContain('3 recovered, 0 failed');
    expect(queueFiles(dead.dataDir)).toHaveLength(0);
    expect(readdirSync(path.join(dead.dataDir, 'haraka', 'queue', 'recovered'))).toHaveLength(3);

    for (const [i, body] of bodies.entries()) {
      const m = await sink.waitFor((x) => x.raw.includes(`Subject: recover-${i}`), 20_000);
      expect(m.from).toBe('alice@recover.test');
      expect(m.to).toEqual([`friend${i}@remote.test`]);
      expect(m.raw).toContain('DKIM-Signature:'); // node A's signature, bytes unchanged
      for (const line of body.split('\n')) expect(m.raw).toContain(line);
      expect(m.raw).not.toMatch(/^\.\.a line/m); // dot-stuffing undone once, not doubled
    }

    // Once: a second run finds nothing, and nothing arrives twice.
    const again = await runCli(live, ['queue', 'recover', '--from', dead.dataDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 queued message(s)');
    await sleep(1000);
    expect(sink.messages.filter((x) => x.raw.includes('Subject: recover-'))).toHaveLength(3);

    const events = await live.expectApi<Array<{ action: string; target: { id: string } }>>('GET', '/api/v1/audit/events?action=outbound.queue.recovered', undefined, 200);
    expect(events).toHaveLength(3);
  }, 120_000);

  it('refuses a directory that does not exist (usage error)', async () => {
    const missing = await runCli(live, ['queue', 'recover', '--from', '/nonexistent/postern-data']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such directory');
  });
});
