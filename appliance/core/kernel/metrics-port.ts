/**
 * What the core and the mail store count, as a port: they call these methods and never import
 * the appliance's Prometheus registry (appliance/metrics.ts), which would close an import loop
 * through the RPC protocol and the store. The composition root (appliance/main.ts) hands the
 * registry's implementation (`metricsPort` in metrics.ts) to the core deps and the store; tools
 * and tests that count nothing get `NO_METRICS`.
 */
export type AuthProtocol = 'imap' | 'smtp' | 'web';
export type AuthOutcome = 'success' | 'invalid' | 'disabled' | 'throttled';
export type ThrottleScope = 'source' | 'account-source' | 'network' | 'account';
export type LogSource = 'auth' | 'imap' | 'smtp' | 'http';

export interface MetricsPort {
  /** Mailbox copies stored by a delivery; one tenant id per copy. */
  localDeliveries(tenantIds: readonly string[]): void;
  /** One login attempt's outcome. */
  auth(protocol: AuthProtocol, result: AuthOutcome): void;
  /** A login refused or delayed by the throttle. */
  throttle(scope: ThrottleScope, action: 'refused' | 'delayed'): void;
  /** Log lines left out by a rate limit. */
  logSuppressed(source: LogSource): void;
  /** Starts timing one store commit; the result is called with the copies committed (0 on failure). */
  ingestTimer(): (copies: number) => void;
}

const noop = (): void => undefined;

/** Counts nothing: tools, and tests that do not look at metrics. */
export const NO_METRICS: MetricsPort = Object.freeze({
  localDeliveries: noop,
  auth: noop,
  throttle: noop,
  logSuppressed: noop,
  ingestTimer: () => noop,
});
