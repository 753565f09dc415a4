/**
 * The shapes and ports of local delivery (plan.ts, deliver.ts). The core reaches the mail store,
 * the forwards, SRS and the counters through these interfaces; the composition root
 * (appliance/main.ts) passes the real ones (the store's Ingest, the SendingPolicy, the metrics
 * registry), so the core imports neither the store nor Haraka.
 */
import type { MetricsPort } from '../kernel/metrics-port.js';
import type { ForwardTarget } from '../sending/sending.js';
import type { Srs } from '../sending/srs.js';
import type { IncomingForReply } from './auto-reply.js';
import type { RecipientResolution } from './routing.js';

/** A message already written to the blob store and parsed once per header prefix (the store's PreparedMessage). */
export interface PreparedMail {
  blobSize: number;
  variants: ReadonlyArray<{ meta: { subject: string | null; envelope: { messageId: string | null } } }>;
}

/** One folder entry to write: a mailbox, the prepared variant (its Delivered-To prefix) and the folder. */
export interface CopyTarget {
  mailboxId: string;
  variant: number;
  /** A folder name or a special-use flag ("\\Junk"); the store falls back to INBOX. */
  folder: string;
}

export interface StoredCopy {
  mailboxId: string;
  uid: number;
}

/**
 * The mail store's one ingest path (SqlMailStore.ingest): the only writer of messages. `commit`
 * writes the rows of a prepared message (SMTP: the child wrote and fsynced the blob) and
 * resolves once the transaction is durable; `ingest` prepares raw bytes and commits them.
 * Results come in the order of the targets.
 */
export interface DeliveryStore {
  commit(prepared: PreparedMail, targets: CopyTarget[], opts: { enforceQuota: boolean }): Promise<StoredCopy[]>;
  ingest(raw: Buffer, targets: Array<{ mailboxId: string; folder: string; prefix?: string }>, opts: { enforceQuota: boolean }): Promise<StoredCopy[]>;
}

/** A mailbox's live forwards and whether a domain is hosted here (SendingPolicy in production). */
export interface ForwardSource {
  forwards(mailboxId: string): Promise<ForwardTarget[]>;
  markForwardsUsed(ids: string[]): Promise<void>;
  isHosted(domain: string): Promise<boolean>;
}

export interface DeliveryDeps {
  router: { resolve(address: string, messageSize?: number, opts?: { forDelivery?: boolean }): Promise<RecipientResolution> };
  store: DeliveryStore;
  forwards: ForwardSource;
  /** The appliance's SRS rewriter (one secret shared by every node). */
  srs(): Promise<Srs>;
  metrics: Pick<MetricsPort, 'localDeliveries'>;
  /** Offboarded addresses' auto-replies; absent until the appliance's mailer exists. */
  autoResponder?: { maybeReply(m: IncomingForReply): Promise<boolean> } | null;
  /** A failed auto-reply (it never fails the delivery). */
  onAutoReplyError?(err: unknown): void;
}

export interface DeliveryRecipient {
  address: string;
  /** Index of the prepared variant (its Delivered-To prefix); raw messages get one per recipient. */
  variant: number;
}

export interface DeliveryRequest {
  /** SMTP: prepared by the Haraka child; the appliance's own mail: raw bytes. */
  message: { prepared: PreparedMail } | { raw: Buffer };
  recipients: DeliveryRecipient[];
  /** Envelope sender ('' for the null sender): the SRS sender of forwarded copies, the auto-reply's recipient. */
  sender: string;
  /** Deliver to the Junk folder (DMARC quarantine). */
  junk: boolean;
  /** Delivered-To values already in the message (forwarding loop detection). */
  deliveredTo: string[];
  /** RFC 3834: false for list, bulk, junk or automatically submitted mail. */
  autoReplyEligible: boolean;
}

/** What happens to one envelope recipient. */
export interface RecipientOutcome {
  address: string;
  /** `skipped`: the address no longer resolves (it went away between RCPT and delivery). */
  status: 'delivered' | 'skipped';
  /** Mailboxes that store a copy for this recipient (after aliases and internal forwards). */
  mailboxIds: string[];
  /** External addresses this recipient's copy is forwarded to. */
  forwardedTo: string[];
  /** Mailboxes whose forwards were not followed because the message already passed through them. */
  loops: string[];
}

/** The outcome of planDelivery: what to store, what to relay, and why. */
export interface DeliveryPlan {
  copies: Array<CopyTarget & { tenantId: string; recipient: string }>;
  /** External targets by the hosted domain whose SRS address sends them (forwarding domain → targets). */
  relay: Map<string, Set<string>>;
  usedForwards: string[];
  recipients: RecipientOutcome[];
}

export interface DeliveryOutcome {
  delivered: Array<{ address: string; mailboxId: string; uid: number }>;
  /** Recipients whose address went away between RCPT and delivery. */
  skipped: string[];
  /** Copies to relay: forwarded mail with its SRS envelope sender. */
  relay: Array<{ sender: string; recipients: string[] }>;
  recipients: RecipientOutcome[];
}
