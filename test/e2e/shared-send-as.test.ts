/**
 * Shared mailboxes in the real appliance (issue 19): a member with the `send` right submits as
 * the shared address over submission (envelope and From:), the message leaves DKIM-signed as the
 * shared address's domain (verified by Debian's dkimpy); a member without the right, and the
 * member after its grant was removed, get 550 5.7.1. The same member reaches the shared mailbox
 * over the appliance's IMAP (the composition root wires grants into the IMAP server).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { type DnsRecord, type DnsServer, startDnsServer } from '../helpers/dns.js';
import { type Sink, startSink } from '../helpers/sink.js';
import { swaks } from '../helpers/swaks.js';
import { RawClient } from '../integration/imap-harness.js';

const PASSWORD = 'Sturdy-Passw0rd!';
const INFO = 'info@client-shared.test';
const ALICE = 'alice@agency-shared.test';
const BOB = 'bob@agency-shared.test';

function verifyWithDkimpy(raw: string, records: Record<string, string>): Promise<Array<{ selector: string; algorithm: string; domain: string; ok: boolean }>> {
  const file = path.join(tmpdir(), `postern-dkim-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(records));
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', [path.resolve(__dirname, '../helpers/dkim_verify.py'), file], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
    child.stdin!.end(raw);
  });
}

function submit(app: Appliance, user: string, args: string[]) {
  return swaks(['--server', `127.0.0.1:${app.ports.submission}`, '-tls', '--auth', 'PLAIN', '--auth-user', user, '--auth-password', PASSWORD, ...args]);
}

describe('shared mailboxes: send-as over submission and IMAP in the appliance', () => {
  let dns: DnsServer;
  let sink: Sink;
  let app: Appliance;
  const dkimRecords: Record<string, string> = {};
  const mb: Record<string, { id: string }> = {};
  let aliceGrant = '';

  beforeAll(async () => {
    sink = await startSink();
    const records: DnsRecord[] = [
      { type: 'MX', name: 'remote.test', value: 'mx.remote.test' },
      { type: 'A', name: 'mx.remote.test', value: '127.0.0.1' },
    ];
    dns = await startDnsServer(['test'], records);
    app = await Appliance.start({
      env: { POSTERN_DNS_RESOLVER: dns.address, POSTERN_OUTBOUND_PORT: String(sink.port), POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0', POSTERN_SPAM: 'false' },
    });
    for (const a of [INFO, ALICE, BOB]) mb[a] = await app.provisionMailbox(a, PASSWORD);
    const infoDomain = await app.ensureDomain('client-shared.test');
    for (const r of await app.expectApi<Array<{ type: string; name: string; value: string }>>('GET', `/api/v1/domains/${infoDomain}/dns`, undefined, 200)) {
      if (r.type === 'TXT' && r.name.includes('._domainkey.')) {
        dkimRecords[r.name] = r.value;
        records.push({ type: 'TXT', name: r.name, value: r.value });
      }
    }
    await dns.setRecords(records);
    const g = await app.expectApi<{ id: string }>(
      'POST',
      `/api/v1/mailboxes/${mb[INFO]!.id}/access`,
      { memberMailboxId: mb[ALICE]!.id, rights: ['read', 'seen', 'send'], reason: 'support team' },
      201,
    );
    aliceGrant = g.id;
    await app.expectApi('POST', `/api/v1/mailboxes/${mb[INFO]!.id}/access`, { memberMailboxId: mb[BOB]!.id, rights: ['read', 'seen'], reason: 'support team, no sending' }, 201);
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([dns?.stop(), sink?.close()]);
  });

  it('lets a member with the send right submit as the shared address, DKIM-signed as its domain', async () => {
    const r = await submit(app, ALICE, ['--from', INFO, '--h-From', `Support <${INFO}>`, '--to', 'customer@remote.test', '--header', 'Subject: answered-as-info']);
    expect(r.exitCode, r.output).toBe(0);
    const got = await sink.waitFor((m) => m.raw.includes('Subject: answered-as-info'));
    expect(got.from).toBe(INFO);
    const py = await verifyWithDkimpy(got.raw, dkimRecords);
    expect(py.length).toBeGreaterThan(0);
    expect(py.every((s) => s.ok && s.domain === 'client-shared.test')).toBe(true);
  });

  it('refuses a member without the send right with 550 5.7.1 (envelope and From:)', async () => {
    const env = await submit(app, BOB, ['--from', INFO, '--to', 'customer@remote.test', '--quit-after', 'MAIL']);
    expect(env.replies.at(-2)).toMatch(/^550 5\.7\.1 /);
    const header = await submit(app, BOB, ['--from', BOB, '--h-From', `Support <${INFO}>`, '--to', 'customer@remote.test']);
    expect(header.replies.at(-2)).toMatch(/^550 5\.7\.1 /);
  });

  it('shows the shared mailbox over the appliance IMAP to the member', async () => {
    const c = await RawClient.connect(app.ports.imaps, true);
    try {
      expect(await c.cmd('L', `LOGIN ${ALICE} "${PASSWORD}"`)).toMatch(/L OK/);
      expect(await c.cmd('N', 'NAMESPACE')).toContain('(("Shared/" "/"))');
      expect(await c.cmd('A', 'LIST "" "Shared/*"')).toContain(`Shared/${INFO}/INBOX`);
      expect(await c.cmd('S', `SELECT Shared/${INFO}/INBOX`)).toMatch(/S OK \[READ-WRITE\]/);
      expect(await c.cmd('M', `MYRIGHTS Shared/${INFO}/INBOX`)).toContain(' lrs\r\n');
    } finally {
      c.close();
    }
  });

  it('refuses send-as once the grant is removed', async () => {
    await app.expectApi('DELETE', `/api/v1/access/${aliceGrant}`, { reason: 'left the team' }, 204);
    const r = await submit(app, ALICE, ['--from', INFO, '--to', 'customer@remote.test', '--quit-after', 'MAIL']);
    expect(r.replies.at(-2)).toMatch(/^550 5\.7\.1 /);
  });
});
