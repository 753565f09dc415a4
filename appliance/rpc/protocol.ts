/**
 * The calls the Haraka child makes to the appliance, with their parameter and result shapes.
 * Both sides import these types; the appliance implements them in appliance/mta/rpc-handlers.ts.
 */
import type { RecipientRefusal } from '../core/routing.js';
import type { PreparedMessage } from '../mailstore/ingest.js';

export interface RcptCheckParams {
  address: string;
  /** Declared size (MAIL FROM SIZE=), if any. */
  size?: number;
}
export type RcptCheckResult = { ok: true; mailboxIds: string[] } | { ok: false; refusal: RecipientRefusal };

export interface DeliverParams {
  prepared: PreparedMessage;
  /** One entry per accepted envelope recipient; `variant` indexes prepared.variants. */
  recipients: Array<{ address: string; variant: number }>;
  /** Deliver to the Junk folder (DMARC quarantine). */
  junk: boolean;
  /** For logs only. */
  queueId: string;
}
export interface DeliverResult {
  delivered: Array<{ address: string; mailboxId: string; uid: number }>;
  /** Recipients whose mailbox went away between RCPT and delivery. */
  skipped: string[];
}

export interface RpcMethods {
  'rcpt.check': (p: RcptCheckParams) => RcptCheckResult;
  'mail.deliver': (p: DeliverParams) => DeliverResult;
  'ping': (p: Record<string, never>) => { ok: true };
}
