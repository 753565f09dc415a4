/**
 * Submitted messages are DKIM-signed on the store plugin's message thread (issue 18, tenth round:
 * mta-plugins/queue.postern-store/lib/prepare-thread.ts `sign`), not on Haraka's event loop. The
 * thread's signatures are byte for byte the ones the signer makes in the calling process (RSA
 * PKCS#1 v1.5 and Ed25519 are deterministic for one signing time), for one key, two keys of both
 * algorithms, a rotated key under the same selector, and a bad key (its error, the other key
 * still signs). Runs the compiled module (the thread loads compiled code).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dkimSignCached, type SignatureData } from '../../mta-plugins/data.postern-sign/lib/signer.js';
import type { PrepareThread as PrepareThreadType, PrepareStorage } from '../../mta-plugins/queue.postern-store/lib/prepare-thread.js';

const { PrepareThread } = createRequire(__filename)(path.resolve(__dirname, '../../dist/mta-plugins/queue.postern-store/lib/prepare-thread.js')) as {
  PrepareThread: new (opts: PrepareStorage) => PrepareThreadType;
};

const pem = (type: 'rsa' | 'ed25519') =>
  (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const RSA = pem('rsa');
const RSA2 = pem('rsa');
const ED = pem('ed25519');
const key = (selector: string, privateKey: string, algorithm: string): SignatureData => ({ signingDomain: 'example.org', selector, privateKey, algorithm });

const MESSAGE = Buffer.from(
  'From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: signed on the thread\r\nDate: Mon, 07 Dec 2026 06:30:00 +0000\r\n' +
    'Message-ID: <s1@example.org>\r\n\r\nHello Bob.  \r\nA second line.\r\n\r\n',
);
const NOW = Date.UTC(2026, 11, 7, 6, 30);

describe('DKIM signing on the message thread', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-sign-thread-'));
  const thread = new PrepareThread({ storage: { blobStore: 'fs', s3: null }, blobDir: path.join(dir, 'blobs') });
  afterAll(async () => {
    await thread.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: Array<{ name: string; keys: SignatureData[]; signatures: number; errors: number }> = [
    { name: 'one RSA key', keys: [key('r1', RSA, 'rsa-sha256')], signatures: 1, errors: 0 },
    { name: 'RSA and Ed25519 together', keys: [key('r1', RSA, 'rsa-sha256'), key('e1', ED, 'ed25519-sha256')], signatures: 2, errors: 0 },
    { name: 'a rotated key under the same selector', keys: [key('r1', RSA2, 'rsa-sha256')], signatures: 1, errors: 0 },
    { name: 'a bad key beside a good one', keys: [key('bad', 'not a key', 'rsa-sha256'), key('e1', ED, 'ed25519-sha256')], signatures: 1, errors: 1 },
  ];

  it.each(cases)('$name: the thread signs as the signer does here', async (c) => {
    const here = await dkimSignCached(MESSAGE, c.keys, NOW);
    const there = await thread.sign(MESSAGE, c.keys, NOW);
    expect(there).toEqual(here);
    expect(there.signatures.match(/^DKIM-Signature:/gm)?.length ?? 0).toBe(c.signatures);
    expect(there.errors).toHaveLength(c.errors);
  });

  it('signs with the current time when none is given', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { signatures } = await thread.sign(MESSAGE, [key('e1', ED, 'ed25519-sha256')]);
    const t = Number(/\bt=(\d+)/.exec(signatures)?.[1]);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });
});
