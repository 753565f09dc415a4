/** Workload sizes: the full benchmark (issue 9) and the smoke mode that keeps the harness alive in the tests. */
export interface Sizes {
  mode: 'full' | 'smoke';
  repeats: number;
  /** Mailboxes receiving inbound mail (and holding the idle IMAP connections). */
  mailboxes: number;
  inboundMessages: number;
  inboundSessions: number;
  /** smtp-source messages per process (a process delivers to one mailbox, one session at a time). */
  inboundBatch: number;
  messageBytes: number;
  imapMessages: number;
  imapLogins: number;
  imapBodyFetch: number;
  submissionMessages: number;
  submissionSessions: number;
  idleConnections: number;
  /** The reference's idle connections (Dovecot forks a process per session: 10,000 would take gigabytes). */
  idleConnectionsReference: number;
  bulkRows: number;
  /** Messages in the migration case's source account (issue 20). */
  migrationMessages: number;
  /** The concurrent mixed IMAP case (issue 18): clients on one shared folder, seconds per stack, seeded messages. */
  mixedClients: number;
  mixedSeconds: number;
  mixedSeed: number;
  apiRequests: number;
  apiClients: number;
  /** Pause before and after opening the idle connections (servers settle). */
  settleMs: number;
  /** Upper bound for the whole run; everything is stopped when it passes. */
  deadlineMs: number;
}

export const FULL: Sizes = {
  mode: 'full',
  repeats: 3,
  mailboxes: 100,
  inboundMessages: 5000,
  inboundSessions: 20,
  inboundBatch: 10,
  messageBytes: 4096,
  imapMessages: 1200,
  imapLogins: 50,
  imapBodyFetch: 1000,
  submissionMessages: 2000,
  submissionSessions: 20,
  idleConnections: 10_000,
  idleConnectionsReference: 1000,
  bulkRows: 10_000,
  migrationMessages: 3000,
  mixedClients: 10,
  mixedSeconds: 30,
  mixedSeed: 300,
  apiRequests: 2000,
  apiClients: 50,
  settleMs: 5000,
  deadlineMs: 60 * 60_000,
};

export const SMOKE: Sizes = {
  mode: 'smoke',
  repeats: 1,
  mailboxes: 5,
  inboundMessages: 50,
  inboundSessions: 5,
  inboundBatch: 5,
  messageBytes: 4096,
  imapMessages: 20,
  imapLogins: 5,
  imapBodyFetch: 15,
  submissionMessages: 20,
  submissionSessions: 4,
  idleConnections: 10,
  idleConnectionsReference: 10,
  bulkRows: 100,
  migrationMessages: 60,
  mixedClients: 10,
  mixedSeconds: 2,
  mixedSeed: 20,
  apiRequests: 100,
  apiClients: 10,
  settleMs: 500,
  deadlineMs: 5 * 60_000,
};
