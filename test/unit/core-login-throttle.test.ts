import { describe, expect, it } from 'vitest';
import { LoginThrottle, LogRateLimiter, networkKey, sourceKey } from '../../appliance/core/access/login-throttle.js';

describe('login throttle (per source, never per account alone)', () => {
  it('refuses the failing account-and-source pair, doubling; other sources are not refused', () => {
    const th = new LoginThrottle({ accountFailures: 3, ipFailures: 100, baseLockMs: 1000 });
    const t = 1_000_000;
    for (let i = 0; i < 2; i++) th.fail('Ada@x', '10.0.0.1', t);
    expect(th.check('ada@x', '10.0.0.1', t)).toEqual({ action: 'allow' });
    th.fail('ada@x', '10.0.0.1', t);
    expect(th.check('ada@x', '10.0.0.1', t)).toEqual({ action: 'refuse', retryAfterMs: 1000, scope: 'account-source' });
    th.fail('ada@x', '10.0.0.1', t);
    expect(th.retryAfter('ada@x', '10.0.0.1', t)).toBe(2000);
    // Same account, another source (even in the same /24): never refused.
    expect(th.check('ada@x', '10.0.0.2', t).action).not.toBe('refuse');
    expect(th.check('bob@x', '10.0.0.1', t)).toEqual({ action: 'allow' });
  });

  it('a success clears only its own source; the attacker keeps its count', () => {
    const th = new LoginThrottle({ accountFailures: 3, baseLockMs: 1000 });
    for (let i = 0; i < 3; i++) th.fail('ada@x', '192.0.2.66', 0);
    th.fail('ada@x', '198.51.100.1', 0);
    th.succeed('ada@x', '198.51.100.1', 1);
    expect(th.check('ada@x', '192.0.2.66', 1).action).toBe('refuse');
    expect(th.check('ada@x', '198.51.100.1', 1)).toEqual({ action: 'allow' });
  });

  it('refuses a source trying many accounts; an IPv6 source is its /64', () => {
    const th = new LoginThrottle({ accountFailures: 100, ipFailures: 3, windowMs: 60_000, baseLockMs: 500 });
    for (const u of ['a', 'b', 'c']) th.fail(`${u}@x`, '2001:db8:1:2::a', 0);
    expect(th.check('d@x', '2001:db8:1:2:ffff::1', 0)).toEqual({ action: 'refuse', retryAfterMs: 500, scope: 'source' });
    expect(th.check('d@x', '2001:db8:1:3::1', 0).action).not.toBe('refuse');
    expect(sourceKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(sourceKey('2001:DB8:0:0:1::1')).toBe('2001:db8:0:0::/64');
    expect(networkKey('192.0.2.77')).toBe('192.0.2.0/24');
    expect(networkKey('2001:db8:aa::1')).toBe('2001:db8:aa::/48');
  });

  it('a busy network and an attacked account only delay, and known-good sources are not delayed', () => {
    const th = new LoginThrottle({ accountFailures: 1000, ipFailures: 1000, netFailures: 4, accountDelayFailures: 6, delayMs: 700 });
    for (let i = 0; i < 4; i++) th.fail('x@x', `203.0.113.${i + 1}`, 0);
    expect(th.check('y@x', '203.0.113.200', 0)).toEqual({ action: 'delay', delayMs: 700, scope: 'network' });
    th.succeed('ada@x', '198.51.100.9', 0);
    for (let i = 0; i < 6; i++) th.fail('ada@x', `192.0.${i}.1`, 0);
    expect(th.check('ada@x', '100.64.0.1', 0)).toEqual({ action: 'delay', delayMs: 700, scope: 'account' });
    expect(th.check('ada@x', '198.51.100.9', 0)).toEqual({ action: 'allow' });
  });

  it('raises one alert per interval on a sustained attack, with the number of sources', () => {
    const alerts: unknown[] = [];
    const th = new LoginThrottle({ accountFailures: 1000, ipFailures: 1000, alertFailures: 5, alertIntervalMs: 3600_000 });
    th.onAttack = (a) => alerts.push(a);
    const outcomes = Array.from({ length: 12 }, (_, i) => th.fail('ada@x', `192.0.2.${i % 3}`, i));
    expect(outcomes.filter((o) => o.alert)).toHaveLength(1);
    expect(alerts).toEqual([{ account: 'ada@x', failures: 5, sources: 3, lastSource: '192.0.2.1', at: 4 }]);
    for (let i = 0; i < 4; i++) th.fail('ada@x', '192.0.2.9', 3600_010 + i);
    expect(alerts).toHaveLength(1); // 4 failures in the window: not sustained
    th.fail('ada@x', '192.0.2.9', 3600_020);
    expect(alerts).toHaveLength(2);
  });

  it('forgets failures outside the window', () => {
    const th = new LoginThrottle({ accountFailures: 2, ipFailures: 100, windowMs: 60_000, baseLockMs: 500 });
    th.fail('e@x', '192.0.2.1', 0);
    th.fail('e@x', '192.0.2.1', 61_000);
    expect(th.retryAfter('e@x', '192.0.2.1', 61_000)).toBe(0);
  });
});

describe('log rate limiter', () => {
  it('passes a few lines per window and counts the rest', () => {
    const l = new LogRateLimiter(2, 1000);
    expect([0, 1, 2, 3, 4].map((i) => l.admit('k', i))).toEqual([{ suppressed: 0 }, { suppressed: 0 }, null, null, null]);
    expect(l.admit('k', 1000)).toEqual({ suppressed: 3 });
    expect(l.admit('other', 0)).toEqual({ suppressed: 0 });
  });
});
