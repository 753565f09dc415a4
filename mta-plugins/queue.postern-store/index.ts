/**
 * Local delivery and hand-off to the outbound queue.
 *
 * Local: the bytes are written to the blob store here (fsync'd) and parsed once per recipient
 * header prefix; the appliance then commits the index rows. 250 is answered only after both, so
 * an acknowledged message survives a crash of either process. Copies that must travel on
 * (external forwards with SRS, bounces to SRS addresses) are queued in Haraka's outbound queue
 * before the 250 as well.
 */
import path from 'node:path';
import { DirSyncer } from '../../appliance/mailstore/blobstore.js';
import { serveRpc } from '../../appliance/rpc/channel.js';
import type { ChildMethods } from '../../appliance/rpc/protocol.js';
import { announceListening, call, connectUpstream } from '../shared/appliance.js';
import { isClusterMaster, keepTempFilesInWorker, serveWorkers, workerReady } from '../shared/cluster.js';
import { CONT, DENYSOFT, dsn, type HarakaConnection, type HarakaPlugin, type HarakaTransaction, type Next, OK, safeHook } from '../shared/haraka.js';
import { finalMessage } from '../shared/message.js';
import { skipNeedlessUnlinkInHaraka } from '../shared/message-stream.js';
import { messageThread, startMessageThread } from '../shared/message-thread.js';

const dirSync = new DirSyncer();

/**
 * Haraka fsyncs each outbound queue file, then renames it from `__tmp__.<name>` into place but
 * never fsyncs the directory: after a power loss the rename (the queued message) can be gone
 * although the client got 250. We fsync the queue directory before every acknowledgement that
 * depends on a queue file (HARAKA/queue is Haraka's default queue_dir, which we do not change).
 */
function syncOutboundQueue(): Promise<void> {
  return dirSync.sync(path.join(process.env.HARAKA ?? '.', 'queue'));
}

type Outbound = { send_email(from: string, to: string[], contents: string, next: (code: number, msg?: string) => void, options?: Record<string, unknown>): void };

function outbound(plugin: HarakaPlugin): Outbound {
  return (plugin as unknown as { haraka_require(name: string): Outbound }).haraka_require('outbound');
}

function relay(plugin: HarakaPlugin, sender: string, recipients: string[], message: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    outbound(plugin).send_email(
      sender || '<>',
      recipients,
      message.toString('utf8'),
      (code, msg) => (code === OK ? syncOutboundQueue().then(resolve, reject) : reject(new Error(`outbound refused: ${msg ?? code}`))),
      { dot_stuffed: false },
    ),
  );
}

export function register(this: HarakaPlugin): void {
  keepTempFilesInWorker(this);
  // Haraka's transactions read their message stream's spool_after from connection.ini (shared/message-stream.ts).
  const config = this.config as { get(name: string, type?: string): unknown } | undefined;
  skipNeedlessUnlinkInHaraka(config?.get('connection.ini', 'ini') as { main?: { spool_after?: unknown } } | undefined);
}

export function hook_init_master(this: HarakaPlugin, next: Next): void {
  try {
    connectUpstream();
    // The appliance queues its own mail (setup and reset links, notifications) through us (the
    // Haraka master when there are several processes: it queues and delivers those itself).
    serveRpc(process as unknown as Parameters<typeof serveRpc>[0], {
      'outbound.send': async (p: Parameters<ChildMethods['outbound.send']>[0]) => {
        await relay(this, p.sender, p.recipients, Buffer.from(p.message, p.encoding === 'base64' ? 'base64' : 'utf8'));
        return { queued: true };
      },
    });
    if (isClusterMaster()) {
      // Workers are forked after this hook; ready once all of them listen (shared/cluster.ts).
      serveWorkers((err, method) => this.logerror(`worker rpc ${method} failed: ${String(err)}`));
      return;
    }
    announceReadyAfterQueueLoad(this);
    // Started now, not on the first message (the thread opens the blob store, loading the S3
    // client takes a moment); a failure there is retried with the next delivery and answered 4xx.
    startMessageThread();
  } finally {
    next();
  }
}

/** A cluster worker, its listeners up: open the blob store, then tell the master. */
export function hook_init_child(this: HarakaPlugin, next: Next): void {
  startMessageThread();
  void workerReady(this);
  next();
}

/**
 * Ready means listening AND the outbound queue loaded: right after init_master, Haraka loads its
 * queue and deletes leftover temp files, which would also delete the temp file of a message
 * queued in that window. So the appliance hears "listening" only once init_queue has finished.
 */
function announceReadyAfterQueueLoad(plugin: HarakaPlugin): void {
  const ob = outbound(plugin) as unknown as { init_queue?: (...args: unknown[]) => Promise<unknown> };
  const original = ob.init_queue;
  if (typeof original !== 'function') {
    announceListening();
    return;
  }
  ob.init_queue = async (...args: unknown[]) => {
    try {
      return await original.apply(ob, args);
    } finally {
      ob.init_queue = original;
      announceListening();
    }
  };
}

/** RFC 3834 §2: no automatic reply to automatic, list or bulk mail. */
function autoReplyEligible(txn: HarakaTransaction): boolean {
  const h = (name: string) => txn.header.get(name).trim().toLowerCase();
  if (txn.mail_from?.isNull()) return false;
  const submitted = h('Auto-Submitted');
  if (submitted && submitted !== 'no') return false;
  if (h('List-Id') || h('List-Unsubscribe') || h('List-Post')) return false;
  if (['bulk', 'list', 'junk'].includes(h('Precedence'))) return false;
  return !h('X-Auto-Response-Suppress').includes('oof') && !h('X-Auto-Response-Suppress').includes('all');
}

/** Stores `recipients` locally; queues forwarded copies. Returns false when nothing could be stored. */
async function deliverLocally(plugin: HarakaPlugin, txn: HarakaTransaction, recipients: string[]): Promise<boolean> {
  const prefixes = [...new Set(recipients.map((a) => `Delivered-To: ${a}\r\n`))];
  const raw = await finalMessage(txn);
  // A blob left behind by a failed commit is removed by the appliance's orphan sweep; it is
  // never deleted here, because a timed-out commit may still have succeeded. The thread stores
  // the bytes and asks the appliance to commit them (lib/prepare-thread.ts `deliver`).
  const request = {
    recipients: recipients.map((address) => ({ address, variant: prefixes.indexOf(`Delivered-To: ${address}\r\n`) })),
    junk: txn.notes.postern_junk === true,
    sender: txn.mail_from?.isNull() ? '' : txn.mail_from.address,
    deliveredTo: txn.header.get_all('Delivered-To').map((v) => v.trim().toLowerCase()),
    autoReplyEligible: autoReplyEligible(txn),
    queueId: txn.uuid,
  };
  const result = await messageThread().deliver(raw, prefixes, request, (params) => call('mail.deliver', params));
  for (const r of result.relay) await relay(plugin, r.sender, r.recipients, raw);
  txn.results.add(plugin, { pass: 'stored', delivered: result.delivered.length, forwarded: result.relay.length, skipped: result.skipped.length });
  return result.delivered.length > 0 || result.relay.length > 0;
}

/** Inbound (port 25): local mailboxes, and bounces addressed to our SRS addresses. */
export const hook_queue = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  const txn = connection.transaction;
  if (!txn) return next();
  const srs = (txn.notes.srs ?? {}) as Record<string, string>;
  const recipients = txn.rcpt_to.map((r) => `${r.user ?? ''}@${r.host ?? ''}`.toLowerCase());
  const local = recipients.filter((a) => !srs[a]);
  const srsOriginals = recipients.filter((a) => srs[a]).map((a) => srs[a]!);
  if (srsOriginals.length) {
    const raw = await finalMessage(txn);
    await relay(this, txn.mail_from?.isNull() ? '' : txn.mail_from.address, srsOriginals, raw);
  }
  if (local.length && !(await deliverLocally(this, txn, local)) && !srsOriginals.length) {
    return next(DENYSOFT, dsn(451, '4.3.0', 'no recipient could be stored, try again later'));
  }
  next(OK, `Message stored as ${txn.uuid}`);
});

/** Submission: hosted recipients are stored here; the rest continue to Haraka's outbound queue. */
export const hook_queue_outbound = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  const txn = connection.transaction;
  if (!txn) return next();
  const notes = (txn.notes.submission ?? { local: [], remote: [] }) as { local: string[]; remote: string[] };
  if (notes.local.length) {
    if (!(await deliverLocally(this, txn, notes.local))) return next(DENYSOFT, dsn(451, '4.3.0', 'local delivery failed, try again later'));
    const local = new Set(notes.local);
    txn.rcpt_to = txn.rcpt_to.filter((r) => !local.has(`${r.user ?? ''}@${r.host ?? ''}`.toLowerCase()));
  }
  if (!txn.rcpt_to.length) return next(OK, `Message stored as ${txn.uuid}`);
  txn.notes.postern_outbound = true;
  next(CONT); // Haraka queues the remaining (remote) recipients in its outbound queue (fsync'd files).
});

/** Runs after Haraka queued the message and before it answers 250: make the queue entry durable. */
export const hook_queue_ok = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  if (connection.transaction?.notes.postern_outbound) await syncOutboundQueue();
  next();
});
