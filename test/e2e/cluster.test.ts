/**
 * Two real appliances (node-a, node-b) on one PostgreSQL database and one S3 endpoint behave as
 * one: mail delivered through node A's SMTP raises EXISTS in an IDLE session on node B within one
 * second, and A's flag changes and expunges reach B's session likewise; a suspension through B's
 * API closes the mailbox's IMAP session on A within one second and A refuses its next SMTP AUTH;
 * after a PostgreSQL restart both nodes reconnect and LISTEN again, and a change committed while
 * node B was cut off from the database (its connections go through a proxy the test controls)
 * reaches B's IDLE session once B is back, from the change journal (catch-up by MODSEQ).
 */
import net from 'node:net';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { freePorts } from '../helpers/ports.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { swaks } from '../helpers/swaks.js';

const ADDRESS = 'shared@cluster-e2e.test';
const SUSPENDED = 'leaver@cluster-e2e.test';
const PASSWORD = 'Sturdy-Passw0rd!';

/** A TCP proxy to PostgreSQL that can cut every connection and refuse new ones (a partitioned node). */
async function pgProxy(target: number) {
  const [port] = await freePorts(1);
  let open = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: port!,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    heal() {
      open = true;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('two nodes on one PostgreSQL and one S3 endpoint', () => {
  let pg: TestPostgres;
  let s3: TestS3;
  let proxy: Awaited<ReturnType<typeof pgProxy>>;
  let a: Appliance;
  let b: Appliance;
  let suspendedId: string;

  beforeAll(async () => {
    pg = await startPostgres();
    s3 = await startS3();
    const url = await pg.createDatabase('cluster');
    proxy = await pgProxy(pg.port);
    const common = { ...s3.env, POSTERN_DATABASE_URL: url, POSTERN_SPAM: 'false', POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0' };
    // One after the other: the first node runs the migrations.
    a = await Appliance.start({ env: { ...common, POSTERN_NODE_ID: 'node-a' }, readyTimeoutMs: 60_000 });
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    b = await Appliance.start({ env: { ...common, POSTERN_NODE_ID: 'node-b', POSTERN_DATABASE_URL: viaProxy.toString() }, readyTimeoutMs: 60_000 });
    await a.provisionMailbox(ADDRESS, PASSWORD);
    suspendedId = (await a.provisionMailbox(SUSPENDED, PASSWORD)).id;
  }, 180_000);
  afterAll(async () => {
    if (process.env.POSTERN_CLUSTER_DEBUG) process.stderr.write(`---- node B log tail\n${b?.logs.slice(-40).join('')}\n`);
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await proxy?.close();
    await s3?.stop();
    await pg?.destroy();
  });

  const imap = (node: Appliance, user = ADDRESS) =>
    new ImapFlow({ host: '127.0.0.1', port: node.ports.imaps, secure: true, auth: { user, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });

  /** An IDLE session on INBOX and the untagged updates it receives, with their arrival times. */
  async function idler(node: Appliance) {
    const c = imap(node);
    await c.connect();
    await c.mailboxOpen('INBOX');
    const events: Array<{ kind: 'exists' | 'flags' | 'expunge'; at: number; data: any }> = [];
    const waiters: Array<() => void> = [];
    const push = (kind: 'exists' | 'flags' | 'expunge') => (data: any) => {
      events.push({ kind, at: Date.now(), data });
      for (const w of waiters.splice(0)) w();
    };
    c.on('exists', push('exists'));
    c.on('flags', push('flags'));
    c.on('expunge', push('expunge'));
    const idle = c.idle().catch(() => undefined);
    await sleep(200);
    const next = (kind: 'exists' | 'flags' | 'expunge', ms: number) =>
      within(
        new Promise<{ at: number; data: any }>((resolve) => {
          const check = () => {
            const i = events.findIndex((e) => e.kind === kind);
            if (i >= 0) resolve(events.splice(i, 1)[0]!);
            else waiters.push(check);
          };
          check();
        }),
        ms,
        `${kind} on ${node === a ? 'node A' : 'node B'}`,
      );
    return { c, idle, next, exists: () => (c.mailbox ? c.mailbox.exists : 0) };
  }

  const deliverViaA = async (subject: string) => {
    const r = await swaks(['--server', `127.0.0.1:${a.ports.smtp}`, '--from', 'sender@elsewhere.test', '--to', ADDRESS, '--header', `Subject: ${subject}`]);
    expect(r.exitCode, r.output).toBe(0);
    return Date.now();
  };

  it('reports the cluster link in /readyz on both nodes', async () => {
    for (const node of [a, b]) {
      const ready = await node.readyz();
      expect(ready.status, JSON.stringify(ready.body)).toBe(200);
      expect(ready.body.components.cluster).toEqual({ ok: true, detail: 'listening' });
      expect(ready.body.components.objectStore).toMatchObject({ ok: true });
      expect(ready.body.components.database).toMatchObject({ ok: true });
    }
    // Metrics per node: each names itself and its engines.
    for (const [node, id] of [
      [a, 'node-a'],
      [b, 'node-b'],
    ] as const) {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      expect(text).toContain(`postern_node_info{node="${id}",database="postgres",blob_store="s3"} 1`);
    }
  });

  it("raises EXISTS, FETCH FLAGS and EXPUNGE in node B's IDLE session within one second of node A's change", async () => {
    const watcher = await idler(b);
    const before = watcher.exists();
    const acked = await deliverViaA('cluster-exists');
    const ex = await watcher.next('exists', 1_000);
    expect(ex.data.count).toBe(before + 1);
    console.log(`EXISTS on node B ${ex.at - acked} ms after node A's SMTP 250`);
    expect(ex.at - acked).toBeLessThan(1_000);

    // Flags and expunge through an IMAP session on node A.
    const writer = imap(a);
    await writer.connect();
    await writer.mailboxOpen('INBOX');
    const t1 = Date.now();
    await writer.messageFlagsAdd('*', ['\\Flagged']);
    const fl = await watcher.next('flags', 1_000);
    expect([...fl.data.flags]).toContain('\\Flagged');
    console.log(`FETCH FLAGS on node B ${fl.at - t1} ms after node A's STORE`);
    const t2 = Date.now();
    await writer.messageDelete('*');
    const gone = await watcher.next('expunge', 1_000);
    expect(gone.data.seq).toBe(before + 1);
    console.log(`EXPUNGE on node B ${gone.at - t2} ms after node A's EXPUNGE`);
    await writer.logout();
    await watcher.c.logout();
    await watcher.idle;
  });

  it("a suspension through node B's API closes the mailbox's IMAP session on node A within one second and A refuses its next SMTP AUTH", async () => {
    const c = imap(a, SUSPENDED);
    await c.connect();
    await c.mailboxOpen('INBOX');
    const closed = new Promise<number>((resolve) => c.on('close', () => resolve(Date.now())));
    void c.idle().catch(() => undefined);
    await sleep(200);
    const t0 = Date.now();
    const res = await b.api('POST', `/api/v1/mailboxes/${suspendedId}/suspend`, { reason: 'cluster e2e' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const at = await within(closed, 1_500, 'IMAP session closed on node A');
    console.log(`IMAP session on node A closed ${at - t0} ms after node B's suspension answered`);
    expect(at - t0).toBeLessThan(1_000);
    expect(a.logs.join('')).toMatch(/"event":"cluster\.revoke\.received"/);
    const r = await swaks([
      '--server',
      `127.0.0.1:${a.ports.submissions}`,
      '--tls-on-connect',
      '--auth',
      'PLAIN',
      '--auth-user',
      SUSPENDED,
      '--auth-password',
      PASSWORD,
      '--from',
      SUSPENDED,
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
    await expect(imap(a, SUSPENDED).connect()).rejects.toThrow();
  });

  it('after a PostgreSQL restart both nodes LISTEN again, and B catches up on a change made while it was cut off', async () => {
    const watcher = await idler(b);
    const before = watcher.exists();
    // Node B loses the database (and its LISTEN connection); then the server itself restarts.
    proxy.cut();
    const deadline = Date.now() + 5_000;
    let bReady = await b.readyz();
    while (bReady.body.components.cluster?.ok !== false && Date.now() < deadline) {
      await sleep(50);
      bReady = await b.readyz();
    }
    expect(bReady.status).toBe(503);
    expect(bReady.body.components.cluster).toMatchObject({ ok: false, detail: expect.stringMatching(/reconnecting/) });
    await pg.restart();
    await a.waitReady(20_000);
    expect((await a.readyz()).body.components.cluster).toEqual({ ok: true, detail: 'listening' });
    // A change committed while B hears nothing.
    await deliverViaA('cluster-missed');
    await sleep(300);
    expect(watcher.exists()).toBe(before);
    const healed = Date.now();
    proxy.heal();
    const ex = await watcher.next('exists', 6_000);
    console.log(`node B caught up ${ex.at - healed} ms after it could reach PostgreSQL again`);
    expect(ex.data.count).toBe(before + 1);
    await b.waitReady(10_000);
    expect(b.logs.join('')).toMatch(/"event":"cluster\.listen\.resync"/);
    expect(a.logs.join('')).toMatch(/"event":"cluster\.listen\.resync"/);

    // LISTEN resumed on B: a live change is seen within a second again.
    const acked = await deliverViaA('cluster-after-restart');
    const live = await watcher.next('exists', 1_000);
    expect(live.data.count).toBe(before + 2);
    console.log(`after the restart: EXISTS on node B ${live.at - acked} ms after node A's 250`);
    const msg = await watcher.c.fetchOne('*', { envelope: true });
    expect(msg && msg.envelope?.subject).toBe('cluster-after-restart');
    await watcher.c.logout();
  });
});
