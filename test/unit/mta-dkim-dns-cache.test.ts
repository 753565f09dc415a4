/**
 * Per-message work the MTA no longer repeats (issue 18): DKIM signing with parsed keys kept
 * (mta-plugins/data.postern-sign/lib/signer.ts), checked by mailauth's verifier, and the DNS
 * answer cache of the MTA's resolver (appliance/net/resolver.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign';
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

  it('signs exactly as mailauth does without the cache (same signature over the same input)', async () => {
    const raw = message(7);
    const signTime = new Date('2026-12-06T00:00:00Z');
    const ours = await dkimSignCached(raw, [keys[0]!]);
    const theirs = await dkimSign(raw, { canonicalization: 'relaxed/relaxed', signingDomain: 'sign.test', selector: 'r', privateKey: rsaPem, signatureData: [keys[0]!], signTime });
    const strip = (s: string) => s.replace(/t=\d+/, 't=X').replace(/b=[^;]*$/s, '');
    expect(strip(ours.signatures)).toBe(strip(theirs.signatures));
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
