/**
 * Local delivery. The bytes are written to the blob store here (fsync'd) and parsed once per
 * recipient header prefix; the appliance then commits the index rows. 250 is answered only
 * after both, so an acknowledged message survives a crash of either process.
 */
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { prepareMessage } from '../../appliance/mailstore/ingest.js';
import { announceListening, call, pluginSettings } from '../shared/appliance.js';
import { DENYSOFT, dsn, type HarakaConnection, type HarakaPlugin, type Next, OK, safeHook } from '../shared/haraka.js';
import { finalMessage } from '../shared/message.js';

let blobs: Promise<FileBlobStore> | null = null;

export function hook_init_master(this: HarakaPlugin, next: Next): void {
  try {
    announceListening();
  } finally {
    next();
  }
}

export const hook_queue = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  const txn = connection.transaction;
  if (!txn) return next();
  blobs ??= FileBlobStore.open(pluginSettings().blobDir);
  const recipients = txn.rcpt_to.map((r) => `${r.user ?? ''}@${r.host ?? ''}`.toLowerCase());
  const prefixes = [...new Set(recipients.map((a) => `Delivered-To: ${a}\r\n`))];
  const raw = await finalMessage(txn);
  // A blob left behind by a failed commit is removed by the appliance's orphan sweep; it is
  // never deleted here, because a timed-out commit may still have succeeded.
  const prepared = await prepareMessage(await blobs, raw, prefixes);
  const result = await call('mail.deliver', {
    prepared,
    recipients: recipients.map((address) => ({ address, variant: prefixes.indexOf(`Delivered-To: ${address}\r\n`) })),
    junk: txn.notes.postern_junk === true,
    queueId: txn.uuid,
  });
  txn.results.add(this, { pass: 'stored', delivered: result.delivered.length, skipped: result.skipped.length });
  if (!result.delivered.length) return next(DENYSOFT, dsn(451, '4.3.0', 'no recipient could be stored, try again later'));
  next(OK, `Message stored as ${txn.uuid}`);
});
