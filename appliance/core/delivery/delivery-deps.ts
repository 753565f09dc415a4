/**
 * Builds the delivery path's dependencies once (appliance/main.ts; tests build their own):
 * the router, the store's ingest path, the forwards, the SRS rewriter (its secret read once,
 * then kept) and the counters.
 */
import { NO_METRICS } from '../kernel/metrics-port.js';
import { Srs } from '../sending/srs.js';
import type { DeliveryDeps, ForwardSource } from './delivery.types.js';

export interface DeliveryParts extends Omit<DeliveryDeps, 'forwards' | 'srs' | 'metrics'> {
  /** The forwards, hosted domains and the shared SRS secret (SendingPolicy). */
  sending: ForwardSource & { srsSecret(): Promise<string> };
  metrics?: DeliveryDeps['metrics'];
}

export function createDeliveryDeps(parts: DeliveryParts): DeliveryDeps {
  const { sending, metrics, ...rest } = parts;
  let srs: Promise<Srs> | null = null;
  return {
    ...rest,
    forwards: sending,
    metrics: metrics ?? NO_METRICS,
    srs: () => (srs ??= sending.srsSecret().then((secret) => new Srs(secret))),
  };
}
