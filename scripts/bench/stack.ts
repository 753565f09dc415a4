/** What every case needs from a stack under test (Postern, or the Postfix + Dovecot reference). */
export type StackName = 'postern' | 'reference';

export interface BenchStack {
  readonly name: StackName;
  /** Inbound MX (plain SMTP, as smtp-source speaks it). */
  readonly smtpPort: number;
  /** Submission with STARTTLS and AUTH PLAIN. */
  readonly submissionPort: number;
  /** IMAP over implicit TLS. */
  readonly imapsPort: number;
  /** The processes that make up the stack (for CPU and memory). */
  rootPids(): number[];
  /** CPU seconds so far of the stack's two parts (Postern: appliance, Haraka; reference: Postfix, Dovecot). */
  cpuParts(): [number, number];
  /** Messages stored in all mailboxes, as the store sees them. */
  storedCount(): number;
  /** Stops and starts the server processes, keeping their data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}
