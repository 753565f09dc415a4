/**
 * The dashboard's "Deferred" figure counts messages, not attempts: a message retried five times
 * is one deferred message, while the Prometheus counter keeps counting attempts.
 */
import { describe, expect, it } from 'vitest';
import { countOutboundResult, registry } from '../../appliance/metrics.js';
import { mailStats } from '../../appliance/metrics-rolling.js';

const deferred = () => mailStats.snapshot({ hours: 1 }).lastHour.deferred ?? 0;
const attempts = async () => (await registry.getSingleMetric('postern_outbound_results_total')!.get()).values.find((v) => v.labels.result === 'deferred')?.value ?? 0;

describe('deferred messages on the dashboard', () => {
  it('counts each deferred message once across its retries', async () => {
    const before = deferred();
    const attemptsBefore = await attempts();
    for (let i = 0; i < 5; i++) countOutboundResult('deferred', 'Q1 remote.test');
    countOutboundResult('deferred', 'Q1 other.test'); // the same message to a second destination domain
    countOutboundResult('deferred', 'Q2 remote.test');
    expect(deferred() - before).toBe(3);
    expect((await attempts()) - attemptsBefore).toBe(7);
  });

  it('counts a message again when it is deferred after a delivery attempt settled it', () => {
    const before = deferred();
    countOutboundResult('deferred', 'Q3 remote.test');
    countOutboundResult('delivered', 'Q3 remote.test');
    countOutboundResult('deferred', 'Q3 remote.test');
    expect(deferred() - before).toBe(2);
  });
});
