/**
 * The scan decisions Haraka reports to the appliance (issue 18, thirteenth round). Each scanned
 * message made one call (`spam.result`: a JSON message each way on the channel, the answer parsed
 * here) although only an outbound spam verdict needs the answer (whether the mailbox's sending is
 * now blocked). Decisions whose answer nobody waits for now leave a quarter second's worth in one
 * call (`spam.results`); the appliance counts and logs each exactly as a single report. A refused
 * message's report still goes at once (its answer decides the SMTP reply), after the waiting ones.
 * Decisions of the last quarter second before Haraka dies are not counted (their messages were
 * handled all the same).
 */
import type { SpamResultParams } from '../../../appliance/rpc/protocol.js';
import { DelayedBatch } from '../../shared/delayed-batch.js';

export const REPORT_DELAY_MS = 250;

export type SpamReportCall = ((method: 'spam.results', params: { results: SpamResultParams[] }) => Promise<unknown>) &
  ((method: 'spam.result', params: SpamResultParams) => Promise<{ blocked: boolean }>);

export class SpamReports {
  private readonly batch: DelayedBatch<SpamResultParams>;

  constructor(
    private readonly send: SpamReportCall,
    delayMs = REPORT_DELAY_MS,
  ) {
    this.batch = new DelayedBatch((results) => void this.send('spam.results', { results }).catch(() => undefined), delayMs);
  }

  /** A decision whose answer is not needed: sent with the others of its quarter second. */
  later(result: SpamResultParams): void {
    this.batch.add(result);
  }

  /** A decision whose answer is needed (a refused message): sent now, after the waiting ones. */
  now(result: SpamResultParams): Promise<{ blocked: boolean }> {
    this.batch.flush();
    return this.send('spam.result', result).catch(() => ({ blocked: false }));
  }

  /** Sends the waiting decisions now (one call). */
  flush(): void {
    this.batch.flush();
  }
}
