import { describe, expect, it } from 'vitest';
import { isRoleLocalPart, normalizeDomainName, normalizeLocalPart, parseAddress } from '../../appliance/core/kernel/addresses.js';

describe('addresses', () => {
  it.each([
    ['Alice@Example.COM', 'alice@example.com'],
    [' bob.smith+tag@sub.example.org ', 'bob.smith+tag@sub.example.org'],
    ["o'hara@example.ie", "o'hara@example.ie"],
  ])('parses %s', (raw, address) => {
    expect(parseAddress(raw).address).toBe(address);
  });

  it.each([['no-at'], ['@example.com'], ['a@'], ['a..b@example.com'], ['.a@example.com'], ['a b@example.com'], ['a@localhost'], ['a@1.2.3.4'], [`${'x'.repeat(65)}@example.com`]])(
    'rejects %s',
    (raw) => {
      expect(() => parseAddress(raw)).toThrow(/not a valid email address/);
    },
  );

  it('normalizes domain names and local parts', () => {
    expect(normalizeDomainName('Example.COM.')).toBe('example.com');
    expect(() => normalizeDomainName('exa_mple.com')).toThrow();
    expect(normalizeLocalPart('First.Last')).toBe('first.last');
  });

  it('recognizes role local parts, also with a +tag', () => {
    expect(isRoleLocalPart('info')).toBe(true);
    expect(isRoleLocalPart('support+eu')).toBe(true);
    expect(isRoleLocalPart('postmaster')).toBe(true);
    expect(isRoleLocalPart('grace')).toBe(false);
  });
});
