/**
 * Haraka's process asks the system for its host name at most once a second (issue 18, twelfth
 * round; mta-plugins/connect.postern-banner/lib/hostname.ts): Haraka's `respond` calls
 * `os.hostname()` for every SMTP reply. Same answers as the system's, a rename seen after the
 * second; Haraka's replies are unchanged (their texts are covered by the inbound and client
 * settings tests, which run through Haraka with the banner plugin loaded).
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { cacheHostname, HOSTNAME_TTL_MS } from '../../mta-plugins/connect.postern-banner/lib/hostname.js';

function fakeOs(names: string[]) {
  let calls = 0;
  return {
    os: {
      hostname: () => names[Math.min(calls++, names.length - 1)]!,
    },
    calls: () => calls,
  };
}

describe('host name kept a second', () => {
  it.each([
    { at: [0, 10, 999], asked: 1, answers: ['a', 'a', 'a'] },
    { at: [0, 1000, 1500, 2000], asked: 3, answers: ['a', 'b', 'b', 'c'] },
    { at: [5, 5, 5, 5, 5], asked: 1, answers: ['a', 'a', 'a', 'a', 'a'] },
  ])('asks the system $asked time(s) for calls at $at ms', ({ at, asked, answers }) => {
    const f = fakeOs(['a', 'b', 'c']);
    let t = 0;
    expect(cacheHostname(f.os, HOSTNAME_TTL_MS, () => t)).toBe(true);
    const got = at.map((ms) => {
      t = ms;
      return f.os.hostname();
    });
    expect(got).toEqual(answers);
    expect(f.calls()).toBe(asked);
  });

  it('wraps an object once', () => {
    const f = fakeOs(['a']);
    expect(cacheHostname(f.os)).toBe(true);
    expect(cacheHostname(f.os)).toBe(false);
    f.os.hostname();
    f.os.hostname();
    expect(f.calls()).toBe(1);
  });

  it('answers what the system answers, on the os module Haraka calls', () => {
    const real = os.hostname();
    const original = os.hostname;
    try {
      cacheHostname(os);
      expect(os.hostname()).toBe(real);
      expect(os.hostname()).toBe(real);
    } finally {
      os.hostname = original;
    }
  });
});
