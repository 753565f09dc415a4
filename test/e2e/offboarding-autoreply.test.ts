/**
 * The auto-reply of an offboarded address, end to end: mail to the leaver's address is delivered
 * to the successor and the sender gets one signed RFC 3834 auto-reply (none for bulk mail, none
 * twice to the same sender).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { type DnsServer, startDnsServer } from '../helpers/dns.js';
import { type Sink, startSink } from '../helpers/sink.js';
import { findStored } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';

describe('offboarding auto-reply', () => {
  let dns: DnsServer;
  let sink: Sink;
  let app: Appliance;

  beforeAll(async () => {
    sink = await startSink();
    dns = await startDnsServer(
      ['test'],
      [
        { type: 'MX', name: 'remote.test', value: 'mx.remote.test' },
        { type: 'A', name: 'mx.remote.test', value: '127.0.0.1' },
      ],
    );
    app = await Appliance.start({ env: { POSTERN_DNS_RESOLVER: dns.address, POSTERN_OUTBOUND_PORT: String(sink.port) } });
    const sam = await app.provisionMailbox('sam@corp.test');
    await app.provisionMailbox('lee@corp.test');
    const applied = await app.api('POST', `/api/v1/mailboxes/${sam.id}/offboarding/apply`, {
      reason: 'left the company',
      convertTo: 'alias',
      successor: 'lee@corp.test',
      autoReply: { subject: 'Sam has left Corp', text: 'Sam no longer works here. Please write to lee@corp.test.' },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([sink?.close(), dns?.stop()]);
  });

  const send = (from: string, subject: string, extra: string[] = []) =>
    swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', from, '--to', 'sam@corp.test', '--header', `Subject: ${subject}`, ...extra]);

  it('delivers to the successor and answers the sender once, signed, from the leaver address', async () => {
    const r = await send('client@remote.test', 'question for sam', ['--header', 'Message-Id: <q1@remote.test>']);
    expect(r.exitCode, r.output).toBe(0);
    expect(findStored(app.dataDir, 'lee@corp.test', 'Subject: question for sam')).toBeDefined();
    const reply = await sink.waitFor((m) => m.to.includes('client@remote.test'));
    expect(reply.from).toBe('');
    expect(reply.raw).toMatch(/^Auto-Submitted: auto-replied/m);
    expect(reply.raw).toMatch(/^From: <sam@corp\.test>/m);
    expect(reply.raw).toMatch(/^In-Reply-To: <q1@remote\.test>/m);
    expect(reply.raw).toMatch(/^DKIM-Signature: .*d=corp\.test/m);
    expect(reply.raw).toMatch(/^Subject: Sam has left Corp/m);

    const again = await send('client@remote.test', 'second question');
    expect(again.exitCode, again.output).toBe(0);
    const bulk = await send('news@remote.test', 'weekly digest', ['--add-header', 'Precedence: bulk']);
    expect(bulk.exitCode, bulk.output).toBe(0);
    await new Promise((res) => setTimeout(res, 1500));
    expect(sink.messages.filter((m) => m.to.includes('client@remote.test'))).toHaveLength(1);
    expect(sink.messages.some((m) => m.to.includes('news@remote.test'))).toBe(false);
    expect(findStored(app.dataDir, 'lee@corp.test', 'Subject: weekly digest')).toBeDefined();
  });
});
