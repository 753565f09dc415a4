/** The in-memory hourly mail-flow counter: hour buckets, the last hour and day, 48 h retention, per-tenant local deliveries. */
import { describe, expect, it } from 'vitest';
import { RollingMailStats } from '../../appliance/metrics-rolling.js';

const H = 3600_000;

describe('RollingMailStats', () => {
  it('buckets by clock hour; last hour and last day slide with the clock; older than 48 h is dropped', () => {
    let now = Date.UTC(2025, 0, 10, 12, 30);
    const s = new RollingMailStats(() => now);
    s.add('delivered', 2); // 12:30
    now += 20 * 60_000;
    s.add('delivered'); // 12:50
    now += 45 * 60_000; // 13:35
    s.add('bounced');
    let snap = s.snapshot();
    expect(snap.buckets).toHaveLength(24);
    expect(snap.buckets[23]).toMatchObject({ start: Date.UTC(2025, 0, 10, 13), delivered: 0, bounced: 1 });
    expect(snap.buckets[22]).toMatchObject({ start: Date.UTC(2025, 0, 10, 12), delivered: 3 });
    expect(snap.lastHour).toMatchObject({ delivered: 1, bounced: 1 }); // 12:30 is more than an hour ago
    expect(snap.lastDay).toMatchObject({ delivered: 3, bounced: 1 });
    now += 30 * H;
    snap = s.snapshot({ hours: 48 });
    expect(snap.lastDay).toMatchObject({ delivered: 0, bounced: 0 });
    expect(snap.buckets.reduce((n, b) => n + (b.delivered ?? 0), 0)).toBe(3);
    s.add('rejected'); // drops buckets older than 48 h
    now += 20 * H;
    expect(s.snapshot({ hours: 48 }).buckets.reduce((n, b) => n + (b.delivered ?? 0), 0)).toBe(0);
  });

  it('a tenant gets its own local deliveries and no other series', () => {
    const s = new RollingMailStats(() => Date.UTC(2025, 0, 10, 12));
    s.add('local', 3, 'tnt_a');
    s.add('local', 2, 'tnt_b');
    s.add('delivered', 7);
    expect(s.snapshot({ tenantId: 'tnt_a' }).lastHour).toEqual({ local: 3 });
    expect(s.snapshot().lastHour).toMatchObject({ local: 5, delivered: 7 });
  });
});
