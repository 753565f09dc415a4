/**
 * A node dies for good under load. Two real appliances share one PostgreSQL database and one S3
 * endpoint; SMTP deliveries and IMAP APPENDs run against both; node A is SIGKILLed in the middle.
 * Every message either node acknowledged (SMTP 250, APPEND OK) is then readable through node B,
 * node B answered every one of its own requests throughout, and the scheduled jobs' leases that
 * node A held move to node B once they expire.
 */
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { swaks } from '../helpers/swaks.js';

const ADDRESS = 'load@failover-e2e.test';
const PASSWORD = 'Sturdy-Passw0rd!';
const LEASE_TTL_SECONDS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('one of two nodes killed under SMTP and APPEND load', () => {
  let server: TestPostgres;
  let s3: TestS3;
  let url: string;
  let a: Appliance;
  let b: Appliance;

  beforeAll(async () => {
    server = await startPostgres();
    s3 = await startS3();
    url = await server.createDatabase('failover');
    const common = {
      ...s3.env,
      POSTERN_DATABASE_URL: url,
      POSTERN_SPAM: 'false',
      POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0',
      POSTERN_LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
    };
    // One after the other: the first node migrates the database and takes every lease.
    a = await Appliance.start({ env: { ...common, POSTERN_NODE_ID: 'node-a' }, readyTimeoutMs: 60_000 });
    b = await Appliance.start({ env: { ...common, POSTERN_NODE_ID: 'node-b' }, readyTimeoutMs: 60_000 });
    await b.provisionMailbox(ADDRESS, PASSWORD);
  }, 180_000);
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await s3?.stop();
    await server?.destroy();
  });

  const leaseHolders = async (): Promise<Record<string, string>> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; holder: string }>('select name, holder from leases');
      return Object.fromEntries(rows.map((r) => [r.name, r.holder]));
    } finally {
      await client.end();
    }
  };

  it('loses no acknowledged message, node B serves throughout, and B takes over the scheduled jobs', async () => {
    const before = await leaseHolders();
    expect(before.housekeeping).toBe('node-a');

    type Outcome = { node: 'a' | 'b'; kind: 'smtp' | 'append'; subject: string; ok: boolean; at: number; detail: string };
    const outcomes: Outcome[] = [];
    let killedAt = Number.POSITIVE_INFINITY;
    let stop = false;
    let seq = 0;
    const raw = (subject: string) => `From: writer@failover-e2e.test\r\nTo: ${ADDRESS}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@failover-e2e.test>\r\n\r\nAppended under load.\r\n`;

    const smtpLoop = async (node: 'a' | 'b') => {
      const app = node === 'a' ? a : b;
      while (!stop) {
        const subject = `smtp-${node}-${++seq}`;
        const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'sender@elsewhere.test', '--to', ADDRESS, '--header', `Subject: ${subject}`, '--timeout', '10']);
        outcomes.push({ node, kind: 'smtp', subject, ok: r.exitCode === 0, at: Date.now(), detail: r.replies.slice(-2).join(' | ') });
        if (node === 'a' && Date.now() > killedAt) return;
      }
    };
    const appendLoop = async (node: 'a' | 'b') => {
      const app = node === 'a' ? a : b;
      const c = new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user: ADDRESS, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
      c.on('error', () => undefined);
      try {
        try {
          await c.connect();
        } catch (err) {
          // Node A may die while this session is still being set up (a loaded machine).
          outcomes.push({ node, kind: 'append', subject: `connect-${node}`, ok: false, at: Date.now(), detail: String(err) });
          return;
        }
        while (!stop) {
          const subject = `append-${node}-${++seq}`;
          const started = Date.now();
          try {
            const res = await c.append('INBOX', raw(subject), ['\\Seen']);
            outcomes.push({ node, kind: 'append', subject, ok: !!res, at: Date.now(), detail: '' });
          } catch (err) {
            outcomes.push({ node, kind: 'append', subject, ok: false, at: started, detail: String(err) });
            if (node === 'a') return; // the node is gone
          }
        }
      } finally {
        await c.logout().catch(() => undefined);
      }
    };

    const load = Promise.all([smtpLoop('a'), smtpLoop('b'), appendLoop('a'), appendLoop('b')]);
    await sleep(2_500);
    killedAt = Date.now();
    await a.kill('SIGKILL');
    // Node B keeps answering while A is gone; its readiness never depends on A.
    const readyAfterKill = await b.readyz();
    expect(readyAfterKill.status, JSON.stringify(readyAfterKill.body)).toBe(200);
    await sleep(3_000);
    stop = true;
    await load;

    const ofA = outcomes.filter((o) => o.node === 'a');
    const ofB = outcomes.filter((o) => o.node === 'b');
    console.log(
      `node A: ${ofA.filter((o) => o.ok).length} acknowledged, ${ofA.filter((o) => !o.ok).length} cut; node B: ${ofB.filter((o) => o.ok).length} acknowledged, ${ofB.filter((o) => !o.ok).length} failed`,
    );
    expect(ofA.some((o) => o.ok && o.at < killedAt)).toBe(true);
    expect(ofB.filter((o) => o.at > killedAt && o.ok).length).toBeGreaterThan(0);
    // Node B answered every request of its own, before and after the kill.
    expect(
      ofB.filter((o) => !o.ok),
      JSON.stringify(ofB.filter((o) => !o.ok)),
    ).toEqual([]);

    // Every acknowledged message, from either node, is readable through node B.
    const reader = new ImapFlow({ host: '127.0.0.1', port: b.ports.imaps, secure: true, auth: { user: ADDRESS, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
    await reader.connect();
    const subjects = new Set<string>();
    try {
      await reader.mailboxOpen('INBOX');
      for await (const m of reader.fetch('1:*', { envelope: true, source: true })) {
        subjects.add(m.envelope?.subject ?? '');
        expect(m.source!.length).toBeGreaterThan(0);
      }
    } finally {
      await reader.logout();
    }
    const lost = outcomes.filter((o) => o.ok && !subjects.has(o.subject)).map((o) => o.subject);
    expect(lost, 'acknowledged but not stored').toEqual([]);

    // The scheduled jobs' leases move to node B once node A's expire.
    const deadline = Date.now() + (LEASE_TTL_SECONDS + 10) * 1000;
    let holders = await leaseHolders();
    while (holders.housekeeping !== 'node-b' && Date.now() < deadline) {
      await sleep(250);
      holders = await leaseHolders();
    }
    expect(holders).toMatchObject({ housekeeping: 'node-b', 'audit-verify': 'node-b', 'dns-check': 'node-b' });
  });
});
