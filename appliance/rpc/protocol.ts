/**
 * The calls the Haraka child makes to the appliance, with their parameter and result shapes.
 * Both sides import these types; the appliance implements them in appliance/mta/rpc-handlers.ts.
 */
import type { CredentialId, LoginResult } from '../core/access/credentials.types.js';
import type { LimitDecision } from '../core/sending/limits.js';
import type { RecipientCheck } from '../core/delivery/mail-path.js';
import type { OutboundRouteInfo, SigningKey } from '../core/sending/sending.js';
import type { PreparedMessage } from '../mailstore/ingest.js';
import type { RecipientSpamDecision, SpamPolicyValues } from '../core/sending/spam-policy.service.js';
import type { MtaMetricsReport } from './metrics-report.js';

export type { MtaCounterName, MtaListener, MtaMetricsReport } from './metrics-report.js';

export interface RcptCheckParams {
  address: string;
  /** Declared size (MAIL FROM SIZE=), if any. */
  size?: number;
}
/** The core's answer (core/delivery/mail-path.ts: mailboxes, an SRS bounce's original sender, or a refusal). */
export type RcptCheckResult = RecipientCheck;

export interface DeliverParams {
  prepared: PreparedMessage;
  /** One entry per accepted envelope recipient; `variant` indexes prepared.variants. */
  recipients: Array<{ address: string; variant: number }>;
  /** Deliver to the Junk folder (DMARC quarantine). */
  junk: boolean;
  /** Envelope sender ('' for the null sender), for SRS on forwarded copies. */
  sender: string;
  /** Delivered-To values already in the message (forwarding loop detection). */
  deliveredTo: string[];
  /** RFC 3834: false for list, bulk, junk or automatically submitted mail (no auto-reply). */
  autoReplyEligible?: boolean;
  /** For logs only. */
  queueId: string;
}
export interface DeliverResult {
  delivered: Array<{ address: string; mailboxId: string; uid: number }>;
  /** Recipients whose mailbox went away between RCPT and delivery. */
  skipped: string[];
  /** Copies to relay: forwarded mail with its SRS envelope sender. */
  relay: Array<{ sender: string; recipients: string[] }>;
}

export interface AuthLoginParams {
  username: string;
  password: string;
  remoteAddress: string;
}

/** One report of Haraka's outbound queue about a queued message. */
export interface OutboundEventParams {
  kind: 'delivered' | 'deferred' | 'bounced';
  queueId: string;
  domain: string;
  detail: string;
}

export interface RpcMethods {
  'rcpt.check': (p: RcptCheckParams) => RcptCheckResult;
  /** An inbound RCPT in one call: the spam decision (as 'spam.rcpt'), then, unless it blocks the sender, the recipient check (as 'rcpt.check'). */
  'rcpt.inbound': (p: RcptCheckParams & { sender: string; ip: string }) => { spam: RecipientSpamDecision | null; check: RcptCheckResult | null };
  'mail.deliver': (p: DeliverParams) => DeliverResult;
  'auth.login': (p: AuthLoginParams) => LoginResult;
  'auth.current': (p: { mailboxId: string; credentialVersion: number; credentialId?: CredentialId }) => boolean;
  'submit.sender': (p: { mailboxId: string; address: string }) => boolean;
  /** MAIL FROM of a submission in one call: is the credential still current (as 'auth.current'), and if so may the mailbox send as `address` (as 'submit.sender'). */
  'submit.mail': (p: { mailboxId: string; credentialVersion: number; credentialId?: CredentialId; address: string }) => { current: boolean; maySend: boolean };
  'submit.admit': (p: { mailboxId: string; tenantId: string; recipients: number }) => LimitDecision;
  'dkim.keys': (p: { domain: string }) => Cacheable<SigningKey[]>;
  'route.lookup': (p: { senderDomain: string | null; rcptDomain: string }) => Cacheable<{ kind: 'local' } | { kind: 'smarthost'; route: OutboundRouteInfo } | { kind: 'mx' }>;
  'outbound.event': (p: OutboundEventParams) => null;
  /** Delivery reports of the last quarter second in one call (issue 18; mta-plugins/outbound.postern-routing/lib/reports.ts). */
  'outbound.events': (p: { events: OutboundEventParams[] }) => null;
  ping: (p: Record<string, never>) => { ok: true };
  /** Spam (issue 15): the recipient's tenant, policy and list verdict at RCPT (null: not hosted here). */
  'spam.rcpt': (p: { address: string; sender: string; ip: string }) => RecipientSpamDecision | null;
  /** The sending mailbox's tenant policy, for scanning an authenticated submission. */
  'spam.submission': (p: { mailboxId: string }) => SpamPolicyValues & { tenantId: string };
  /** One scan decision; an outbound spam verdict counts toward the mailbox's send block. */
  'spam.result': (p: SpamResultParams) => { blocked: boolean };
  /** Decisions whose answer the child does not need, a quarter second's worth in one call (issue 18; mta-plugins/data.postern-spam/lib/reports.ts). */
  'spam.results': (p: { results: SpamResultParams[] }) => null;
  /** Messages delivered unscanned because scanning is off, counted by the child since its last call (one call, not one per message). */
  'spam.unscanned': (p: { counts: Array<{ direction: 'inbound' | 'outbound'; tenantId: string; n: number }> }) => null;
  /** The child's metric counts since its last report, its open sessions and process figures. */
  'metrics.report': (p: MtaMetricsReport) => null;
}

/**
 * An answer Haraka may keep: `epoch` is the appliance's write epoch of the tables it was read from
 * (appliance/db/sqlite-readers.ts MTA_TABLES), unmoved during the read; every later move is pushed
 * as `{t:'evt', e:'mta.epoch', v}` before any later answer. Null: use once (PostgreSQL, or a write
 * ran meanwhile).
 */
export interface Cacheable<T> {
  value: T;
  epoch: number | null;
}

export interface SpamResultParams {
  direction: 'inbound' | 'outbound';
  outcome: 'clean' | 'junk' | 'reject' | 'greylist' | 'block' | 'unscanned' | 'tempfail';
  tenantId: string | null;
  /** The sending mailbox (outbound only). */
  mailboxId?: string;
  score?: number;
  seconds: number | null;
  queueId: string;
}

/** Calls the appliance makes to the Haraka child. */
export interface ChildMethods {
  /** Queues a message in Haraka's durable outbound queue (resolves once queued). */
  /** `encoding` 'base64': `message` holds the bytes in base64 (8-bit mail recovered from a queue file); default utf8 text. */
  'outbound.send': (p: { sender: string; recipients: string[]; message: string; encoding?: 'base64' }) => { queued: true };
}
