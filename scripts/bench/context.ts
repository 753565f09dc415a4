/** What the runner hands to every case. */
import type { PosternStack } from './postern-stack.js';
import type { ReferenceStack } from './reference-stack.js';
import type { SmtpSink } from './sink.js';
import type { Sizes } from './sizes.js';

export interface BenchContext {
  sizes: Sizes;
  domain: string;
  password: string;
  /** Mailboxes receiving inbound mail (box1 … boxN). */
  localParts: string[];
  /** The mailbox holding the varied IMAP corpus. */
  imapUser: string;
  postern: PosternStack;
  reference: ReferenceStack;
  sink: SmtpSink;
  log: (msg: string) => void;
  /** Remarks that end up in the report (what could not be done, what a figure means). */
  notes: string[];
}

export const address = (ctx: BenchContext, localPart: string): string => `${localPart}@${ctx.domain}`;
