/**
 * The store plugin's message thread does not track the descriptors it opens (issue 18, twelfth
 * round): a small blob's pre-created file is opened on the thread and closed by a sync thread
 * after its fdatasync, which Node's default tracking of a worker's descriptors answered with two
 * warnings per delivery on the thread's stderr (an fd "closed but not opened in unmanaged mode",
 * then its reused number "opened in unmanaged mode twice"): a stack trace, a line through
 * Haraka's event loop and a log line in the appliance for every message, and at the thread's
 * exit a close of descriptor numbers other files own by then. Runs the compiled module.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { PrepareThread as PrepareThreadType, PrepareStorage } from '../../mta-plugins/queue.postern-store/lib/prepare-thread.js';

const { PrepareThread } = createRequire(__filename)(path.resolve(__dirname, '../../dist/mta-plugins/queue.postern-store/lib/prepare-thread.js')) as {
  PrepareThread: new (opts: PrepareStorage) => PrepareThreadType;
};

describe('message thread descriptors', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-thread-fds-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores many small messages into pre-created files without a descriptor warning', async () => {
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const thread = new PrepareThread({ storage: { blobStore: 'fs', s3: null }, blobDir: path.join(dir, 'blobs') });
    try {
      // One after another: after the first, the pre-created files are in use (the thread opens
      // each, a sync thread closes it after its fdatasync).
      for (let i = 0; i < 40; i++) {
        const prepared = await thread.prepare(Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`), ['']);
        expect(prepared.blobSize).toBeGreaterThan(0);
      }
      // The thread's stderr reaches this process through its stdio port: one more message
      // round trip and an event-loop turn let whatever it printed arrive.
      await thread.prepare(Buffer.from('Subject: last\r\n\r\nbody\r\n'), ['']);
      await new Promise((r) => setImmediate(r));
    } finally {
      await thread.close();
      write.mockRestore();
    }
    expect(written.filter((line) => /File descriptor|unmanaged mode/.test(line))).toEqual([]);
  });
});
