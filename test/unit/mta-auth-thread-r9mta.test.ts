/**
 * The inbound SPF/DKIM/DMARC checks run on the store plugin's message thread (issue 18,
 * mta-plugins/queue.postern-store/lib/prepare-thread.ts `authenticate`), not on Haraka's event
 * loop: the thread's answer is mailauth's, reduced as the auth plugin reads it, for a pass, a
 * DMARC failure under p=reject and a body changed in transit, with the configured resolver.
 * Runs the compiled module (the thread loads compiled code).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver } from '../../appliance/net/resolver.js';
import { summarize } from '../../mta-plugins/data.postern-auth/lib/check.js';
import { dkimSignCached } from '../../mta-plugins/data.postern-sign/lib/signer.js';
import type { PrepareThread as PrepareThreadType, PrepareStorage } from '../../mta-plugins/queue.postern-store/lib/prepare-thread.js';
import { type DnsServer, startDnsServer } from '../helpers/dns.js';

const { PrepareThread } = createRequire(__filename)(path.resolve(__dirname, '../../dist/mta-plugins/queue.postern-store/lib/prepare-thread.js')) as {
  PrepareThread: new (opts: PrepareStorage) => PrepareThreadType;
};

const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const dkimTxt = `v=DKIM1; k=rsa; p=${key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

function message(from: string, body = 'Hello.'): Buffer {
  return Buffer.from(
    `From: <${from}>\r\nTo: <bob@example.com>\r\nSubject: auth thread\r\nDate: Mon, 07 Dec 2026 03:00:00 +0000\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@x>\r\n\r\n${body}\r\n`,
  );
}

describe('auth checks on the message thread', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-auth-thread-'));
  let dns: DnsServer;
  let thread: PrepareThreadType;

  beforeAll(async () => {
    dns = await startDnsServer(
      ['pass.test', 'strict.test'],
      [
        { type: 'TXT', name: 'pass.test', value: 'v=spf1 ip4:127.0.0.1 -all' },
        { type: 'TXT', name: '_dmarc.pass.test', value: 'v=DMARC1; p=reject' },
        { type: 'TXT', name: 's1._domainkey.pass.test', value: dkimTxt },
        { type: 'TXT', name: 'strict.test', value: 'v=spf1 ip4:192.0.2.1 -all' },
        { type: 'TXT', name: '_dmarc.strict.test', value: 'v=DMARC1; p=reject' },
      ],
    );
    const [host, port] = dns.address.split(':') as [string, string];
    thread = new PrepareThread({ storage: { blobStore: 'fs', s3: null }, blobDir: path.join(dir, 'blobs'), dnsResolver: { host, port: Number(port) } });
  });
  afterAll(async () => {
    await thread?.close();
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const signed = async () => {
    const raw = message('alice@pass.test');
    const { signatures, errors } = await dkimSignCached(raw, [{ signingDomain: 'pass.test', selector: 's1', privateKey: pem, algorithm: 'rsa-sha256' }]);
    expect(errors).toEqual([]);
    return Buffer.concat([Buffer.from(signatures), raw]);
  };
  const cases: Array<{ name: string; raw: () => Promise<Buffer> | Buffer; sender: string; dmarc: string; spf: string; dkim: string[] }> = [
    { name: 'SPF and DKIM pass, DMARC pass', raw: signed, sender: 'alice@pass.test', dmarc: 'pass', spf: 'pass', dkim: ['pass'] },
    {
      name: 'a body changed in transit (body hash mismatch)',
      raw: async () => Buffer.from((await signed()).toString().replace('Hello.', 'Hello!')),
      sender: 'alice@pass.test',
      dmarc: 'pass',
      spf: 'pass',
      dkim: ['neutral'],
    },
    { name: 'SPF fail and no signature under p=reject', raw: () => message('mallory@strict.test'), sender: 'mallory@strict.test', dmarc: 'fail', spf: 'fail', dkim: ['none'] },
  ];

  it.each(cases)('$name: the thread answers what mailauth answers here', async (c) => {
    const raw = await c.raw();
    const params = { ip: '127.0.0.1', helo: 'client.example', sender: c.sender, mta: 'mx.example.com' };
    const [host, port] = dns.address.split(':') as [string, string];
    const here = summarize(await authenticate(raw, { ...params, resolver: createResolver({ host, port: Number(port) }) }));
    const there = await thread.authenticate(raw, params);
    expect(there).toEqual(here);
    expect(there.dmarc && there.dmarc.status?.result).toBe(c.dmarc);
    expect(there.spf).toBe(c.spf);
    expect(there.dkim.length ? there.dkim : ['none']).toEqual(c.dkim);
    expect(there.headers).toMatch(/^Authentication-Results: mx\.example\.com;/m);
    if (c.dmarc === 'fail') expect(there.dmarc && there.dmarc.policy).toBe('reject');
  });
});
