import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dkimSelectors, dkimTxtValue, generateEd25519DkimKey, generateRsaDkimKey } from '../../appliance/core/templates/dkim.js';

describe('DKIM keys', () => {
  it('selectors carry the UTC month', () => {
    expect(dkimSelectors(Date.UTC(2026, 10, 22))).toEqual({ rsa: 'ps202611r', ed25519: 'ps202611e' });
    expect(dkimSelectors(Date.UTC(2027, 0, 1))).toEqual({ rsa: 'ps202701r', ed25519: 'ps202701e' });
  });

  it('RSA-2048 is generated natively and fast, PKCS8 PEM, p= is the SPKI DER', async () => {
    const started = Date.now();
    const k = await generateRsaDkimKey('s1');
    expect(Date.now() - started).toBeLessThan(5000);
    const priv = createPrivateKey(k.privateKeyPem);
    expect(priv.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const pub = createPublicKey({ key: Buffer.from(k.publicKey, 'base64'), format: 'der', type: 'spki' });
    const sig = sign('sha256', Buffer.from('hello'), priv);
    expect(verify('sha256', Buffer.from('hello'), pub, sig)).toBe(true);
    expect(dkimTxtValue(k.algorithm, k.publicKey)).toBe(`v=DKIM1; k=rsa; p=${k.publicKey}`);
  });

  it('Ed25519 p= is the raw 32-byte key', async () => {
    const k = await generateEd25519DkimKey('s2');
    const raw = Buffer.from(k.publicKey, 'base64');
    expect(raw).toHaveLength(32);
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const sig = sign(null, Buffer.from('hello'), createPrivateKey(k.privateKeyPem));
    expect(verify(null, Buffer.from('hello'), pub, sig)).toBe(true);
    expect(dkimTxtValue(k.algorithm, k.publicKey)).toBe(`v=DKIM1; k=ed25519; p=${k.publicKey}`);
  });
});
