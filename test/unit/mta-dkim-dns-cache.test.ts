/**
 * Per-message work the MTA no longer repeats (issue 18): DKIM signing with parsed keys kept
 * (mta-plugins/data.postern-sign/lib/signer.ts), checked by mailauth's and dkimpy's verifiers, and the DNS
 * answer cache of the MTA's resolver (appliance/net/resolver.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { describe, expect, it } from 'vitest';
import { dkimSignCached, parsedKeyCount } from '../../mta-plugins/data.postern-sign/lib/signer.js';
import { cachingResolver } from '../../appliance/net/resolver.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const edPem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const dnsTxt = (k: typeof rsa.publicKey, algo: 'rsa' | 'ed25519') => {
  const der = k.export({ type: 'spki', format: 'der' });
  // Ed25519 records carry the raw 32-byte key (RFC 8463), RSA the SubjectPublicKeyInfo
  const p = algo === 'ed25519' ? der.subarray(der.length - 32) : der;
  return `v=DKIM1; k=${algo}; p=${p.toString('base64')}`;
};

function message(i: number): Buffer {
  return Buffer.from(`From: a@sign.test\r\nTo: b@x.example\r\nSubject: n ${i}\r\nDate: Sun, 06 Dec 2026 01:00:00 +0000\r\n\r\nbody  line ${i} \r\n\r\n\r\n`);
}

const records: Record<string, string> = { 'r._domainkey.sign.test': dnsTxt(rsa.publicKey, 'rsa'), 'e._domainkey.sign.test': dnsTxt(ed.publicKey, 'ed25519') };

/** test/helpers/dkim_verify.py: Debian's python3-dkim, DNS answered from `recs`. */
function verifyWithDkimpy(signed: Buffer, recs: Record<string, string>): Promise<Array<{ selector: string; algorithm: string; ok: boolean }>> {
  const file = path.join(tmpdir(), `postern-dkim-unit-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(recs));
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', [path.resolve(__dirname, '../helpers/dkim_verify.py'), file], (err, stdout, stderr) =>
      err
        ? reject(new Error(`${err.message}\n${stderr}`))
        : resolve((JSON.parse(stdout) as Array<{ selector: string; algorithm: string; ok: boolean }>).map(({ selector, algorithm, ok }) => ({ selector, algorithm, ok }))),
    );
    child.stdin!.end(signed);
  });
}

const resolver = async (name: string, type: string) => {
  if (type !== 'TXT') throw Object.assign(new Error('no'), { code: 'ENODATA' });
  if (name === 'r._domainkey.sign.test') return [[dnsTxt(rsa.publicKey, 'rsa')]];
  if (name === 'e._domainkey.sign.test') return [[dnsTxt(ed.publicKey, 'ed25519')]];
  throw Object.assign(new Error('no'), { code: 'ENOTFOUND' });
};

describe('DKIM signing with kept keys', () => {
  const keys = [
    { signingDomain: 'sign.test', selector: 'r', privateKey: rsaPem, algorithm: 'rsa-sha256' },
    { signingDomain: 'sign.test', selector: 'e', privateKey: edPem, algorithm: 'ed25519-sha256' },
  ];

  it('produces signatures that verify, for several messages with the same parsed keys', async () => {
    for (let i = 0; i < 3; i++) {
      const raw = message(i);
      const { signatures, errors } = await dkimSignCached(raw, keys);
      expect(errors).toEqual([]);
      const signed = Buffer.concat([Buffer.from(signatures), raw]);
      const result = await dkimVerify(signed, { resolver });
      expect(result.results.map((r: { status: { result: string } }) => r.status.result)).toEqual(['pass', 'pass']);
    }
    expect(parsedKeyCount()).toBe(2);
  });

  it('is verified by dkimpy (python3-dkim), a verifier we did not write, also with folded and repeated header fields', async () => {
    const raw = Buffer.from(
      'From: a@sign.test\r\nTo: b@x.example,\r\n  c@x.example\r\nReceived: x\r\nReceived: y\r\nSubject:   spaced \t out  \r\nDate: Sun, 06 Dec 2026 01:00:00 +0000\r\n\r\n\ttabbed  body \r\n.dot\r\n\r\n',
    );
    const { signatures, errors } = await dkimSignCached(raw, keys);
    expect(errors).toEqual([]);
    const py = await verifyWithDkimpy(Buffer.concat([Buffer.from(signatures), raw]), records);
    expect(py).toEqual([
      { selector: 'r', algorithm: 'rsa-sha256', ok: true },
      { selector: 'e', algorithm: 'ed25519-sha256', ok: true },
    ]);
  });

  it("signs with the new key once a selector's key is replaced (rotation), parsing it once", async () => {
    const fresh = generateKeyPairSync('rsa', { modulusLength: 1024 }); // small: only its identity matters here
    const freshPem = fresh.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const before = parsedKeyCount();
    const raw = message(3);
    const old = await dkimSignCached(raw, [keys[0]!]);
    const rotated = await dkimSignCached(raw, [{ ...keys[0]!, privateKey: freshPem }]);
    expect(rotated.errors).toEqual([]);
    // Same selector, new key: only the new public key verifies, the old one no longer does.
    const withNew = { ...records, 'r._domainkey.sign.test': dnsTxt(fresh.publicKey, 'rsa') };
    expect(await verifyWithDkimpy(Buffer.concat([Buffer.from(rotated.signatures), raw]), withNew)).toEqual([{ selector: 'r', algorithm: 'rsa-sha256', ok: true }]);
    expect(await verifyWithDkimpy(Buffer.concat([Buffer.from(rotated.signatures), raw]), records)).toEqual([{ selector: 'r', algorithm: 'rsa-sha256', ok: false }]);
    expect(await verifyWithDkimpy(Buffer.concat([Buffer.from(old.signatures), raw]), records)).toEqual([{ selector: 'r', algorithm: 'rsa-sha256', ok: true }]);
    // The replaced entry, not a second one.
    expect(parsedKeyCount()).toBe(before);
  });

  /** The generated key with its body cut short: a key that cannot be parsed (no key material in the source). */
  const damaged = (pem: string) => pem.split('\n').slice(0, 3).join('\n') + '\n' + pem.trim().split('\n').pop()! + '\n';

  it('reports a bad key as an error instead of signing', async () => {
    const { signatures, errors } = await dkimSignCached(message(1), [{ ...keys[0]!, privateKey: damaged(rsaPem) }]);
    expect(signatures).toBe('');
    expect(errors.length).toBe(1);
  });
});

describe('cachingResolver', () => {
  it('asks once per name and type within the lifetime, shares concurrent questions, keeps "no record", forgets failures', async () => {
    const asked: string[] = [];
    let fail = true;
    const upstream = async (name: string, type: string) => {
      asked.push(`${type} ${name}`);
      if (name === 'none.test') throw Object.assign(new Error('none'), { code: 'ENOTFOUND' });
      if (name === 'flaky.test' && fail) throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
      return [[`answer ${name}`]];
    };
    const r = cachingResolver(upstream, 60_000, 100);
    const [a, b] = await Promise.all([r('x.test', 'TXT'), r('X.test', 'TXT')]);
    expect(a).toEqual([['answer x.test']]);
    expect(b).toBe(a);
    await r('x.test', 'MX');
    await expect(r('none.test', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r('none.test', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r('flaky.test', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    fail = false;
    await expect(r('flaky.test', 'TXT')).resolves.toEqual([['answer flaky.test']]);
    expect(asked).toEqual(['TXT x.test', 'MX x.test', 'TXT none.test', 'TXT flaky.test', 'TXT flaky.test']);
  });

  it('asks again once an answer is older than its lifetime, and holds at most maxEntries', async () => {
    let n = 0;
    const r = cachingResolver(async () => [[String(++n)]], 30, 2);
    expect(await r('a.test', 'TXT')).toEqual([['1']]);
    expect(await r('a.test', 'TXT')).toEqual([['1']]);
    await new Promise((res) => setTimeout(res, 40));
    expect(await r('a.test', 'TXT')).toEqual([['2']]);
    await r('b.test', 'TXT');
    await r('c.test', 'TXT'); // a.test (oldest) is dropped
    expect(await r('a.test', 'TXT')).toEqual([['5']]);
  });
});
