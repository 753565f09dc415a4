/**
 * The client's reverse DNS name (mta-plugins/connect.postern-banner/lib/rdns.ts, issue 18): the
 * names Haraka's own look-up records (the first PTR name, NXDOMAIN, DNSERROR), with definite
 * answers kept 10 s per address and failures asked again.
 */
import { describe, expect, it } from 'vitest';
import { remoteHostNames } from '../../mta-plugins/connect.postern-banner/lib/rdns.js';

function failing(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('reverse DNS names of SMTP clients', () => {
  it.each([
    { name: 'a PTR answer: its first name', answer: () => Promise.resolve(['mail.example.org', 'other.example.org']), host: 'mail.example.org' },
    { name: 'an empty answer', answer: () => Promise.resolve([]), host: 'Unknown' },
    { name: 'no such name', answer: () => Promise.reject(failing('ENOTFOUND')), host: 'NXDOMAIN' },
    { name: 'no PTR record', answer: () => Promise.reject(failing('ENODATA')), host: 'DNSERROR' },
    { name: 'a server failure', answer: () => Promise.reject(failing('ESERVFAIL')), host: 'DNSERROR' },
  ])('$name → $host', async ({ answer, host }) => {
    expect(await remoteHostNames(answer)('192.0.2.7')).toBe(host);
  });

  it('asks once per address while the answer is kept, and again after a failure', async () => {
    const asked: string[] = [];
    let fail = true;
    const lookup = (ip: string) => {
      asked.push(ip);
      if (ip === '192.0.2.9' && fail) {
        fail = false;
        return Promise.reject(failing('ETIMEOUT'));
      }
      return Promise.resolve([`host-${ip}.example`]);
    };
    const names = remoteHostNames(lookup);
    expect(await Promise.all([names('192.0.2.1'), names('192.0.2.1'), names('192.0.2.2')])).toEqual(['host-192.0.2.1.example', 'host-192.0.2.1.example', 'host-192.0.2.2.example']);
    expect(await names('192.0.2.1')).toBe('host-192.0.2.1.example');
    expect(await names('192.0.2.9')).toBe('DNSERROR');
    expect(await names('192.0.2.9')).toBe('host-192.0.2.9.example');
    expect(await names('192.0.2.9')).toBe('host-192.0.2.9.example');
    expect(asked).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.9', '192.0.2.9']);
  });
});
