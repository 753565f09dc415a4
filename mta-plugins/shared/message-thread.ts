/**
 * The one message thread of a Haraka process (queue.postern-store/lib/prepare-thread.ts), shared
 * by the plugins that hand it work: the auth plugin's SPF/DKIM/DMARC checks after DATA and the
 * store plugin's blob write and parse. It writes into the appliance's blob store, the same
 * backend the appliance reads from: the local folder, or the shared S3 store (settings from the
 * 0600 file the appliance wrote; PutObject completes before 250).
 */
import { readFileSync } from 'node:fs';
import type { StorageConfig } from '../../appliance/config.js';
import { PrepareThread } from '../queue.postern-store/lib/prepare-thread.js';
import { pluginSettings } from './appliance.js';

let thread: PrepareThread | null = null;

export function messageThread(): PrepareThread {
  if (!thread) {
    const s = pluginSettings();
    const storage: Pick<StorageConfig, 'blobStore' | 's3'> =
      s.blobStore === 's3' && s.s3SettingsFile ? { blobStore: 's3', s3: JSON.parse(readFileSync(s.s3SettingsFile, 'utf8')) as StorageConfig['s3'] } : { blobStore: 'fs', s3: null };
    // With the appliance's MTA socket the thread also makes the delivery call (lib/prepare-thread.ts).
    thread = new PrepareThread({ storage, blobDir: s.blobDir, dnsResolver: s.dnsResolver, rpcSocket: process.env.POSTERN_MTA_RPC_SOCKET ?? null });
  }
  return thread;
}

/** Started now, not with the first message (the thread opens the blob store; loading the S3 client takes a moment). A failure here is retried with the next message, answered 4xx there. */
export function startMessageThread(): void {
  try {
    messageThread().start();
  } catch {
    /* retried with the next message */
  }
}
