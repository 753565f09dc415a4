import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../appliance/core/login-throttle.js';

describe('console login throttle', () => {
  it('locks an account after its failures, doubling, and a success clears the account', () => {
    const th = new LoginThrottle({ accountFailures: 3, ipFailures: 100, baseLockMs: 1000 });
    const t = 1_000_000;
    th.fail('Ada@x', '10.0.0.1', t);
    th.fail('ada@x', '10.0.0.2', t);
    expect(th.retryAfter('ada@x', '10.0.0.3', t)).toBe(0);
    th.fail('ada@x', '10.0.0.3', t);
    expect(th.retryAfter('ada@x', '10.0.0.9', t)).toBe(1000);
    th.fail('ada@x', '10.0.0.3', t);
    expect(th.retryAfter('ada@x', '10.0.0.9', t)).toBe(2000);
    expect(th.retryAfter('bob@x', '10.0.0.9', t)).toBe(0);
    th.succeed('ADA@x');
    expect(th.retryAfter('ada@x', '10.0.0.9', t)).toBe(0);
  });

  it('locks an IP that tries many accounts, and forgets failures outside the window', () => {
    const th = new LoginThrottle({ accountFailures: 100, ipFailures: 3, windowMs: 60_000, baseLockMs: 500 });
    for (const u of ['a', 'b', 'c']) th.fail(`${u}@x`, '192.0.2.1', 0);
    expect(th.retryAfter('d@x', '192.0.2.1', 0)).toBe(500);
    expect(th.retryAfter('d@x', '192.0.2.2', 0)).toBe(0);
    const fresh = new LoginThrottle({ accountFailures: 2, ipFailures: 100, windowMs: 60_000, baseLockMs: 500 });
    fresh.fail('e@x', 'ip', 0);
    fresh.fail('e@x', 'ip', 61_000);
    expect(fresh.retryAfter('e@x', 'ip', 61_000)).toBe(0);
  });
});
