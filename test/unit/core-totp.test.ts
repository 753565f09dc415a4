import { describe, expect, it } from 'vitest';
import { newRecoveryCodes, newTotpSecret, recoveryCodeHash, totpCode, totpUri, verifyTotp } from '../../appliance/core/access/totp.js';

describe('TOTP', () => {
  const secret = newTotpSecret();
  const now = Date.UTC(2026, 10, 22, 12, 0, 15);

  it('secrets are base32 and the URI is an otpauth:// totp URI for authenticator apps', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(totpUri(secret, 'ada@example.org'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Postern:ada@example.org');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Postern');
  });

  it.each([
    ['the current step', 0, true],
    ['one step late', -30_000, true],
    ['one step early', 30_000, true],
    ['two steps late', -60_000, false],
  ])('accepts a code of %s: %s', async (_c, shift, ok) => {
    const code = await totpCode(secret, now + shift);
    const step = await verifyTotp(secret, code, now);
    expect(step !== null).toBe(ok);
    if (ok) expect(step).toBe(Math.floor((now + shift) / 30_000));
  });

  it('refuses malformed codes and other secrets', async () => {
    expect(await verifyTotp(secret, '12345', now)).toBeNull();
    expect(await verifyTotp(secret, 'abcdef', now)).toBeNull();
    expect(await verifyTotp(newTotpSecret(), await totpCode(secret, now), now)).toBeNull();
  });
});

describe('recovery codes', () => {
  it('ten distinct codes; the hash ignores case and surrounding space', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect(recoveryCodeHash(` ${codes[0]!.toUpperCase()} `)).toBe(recoveryCodeHash(codes[0]!));
    expect(recoveryCodeHash(codes[0]!)).toMatch(/^[0-9a-f]{64}$/);
  });
});
