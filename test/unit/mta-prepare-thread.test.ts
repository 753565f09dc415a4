/**
 * The store plugin's prepare thread (mta-plugins/queue.postern-store/lib/prepare-thread.ts,
 * issue 18): an inbound message's blob write and parse run on a worker thread, not on Haraka's
 * event loop, with the same result as prepareMessage in the calling thread; failures and a
 * thread that stops reach the caller. Runs the compiled module (the thread loads compiled code).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { prepareMessage } from '../../appliance/mailstore/ingest.js';
import type { PrepareThread as PrepareThreadType, PrepareStorage } from '../../mta-plugins/queue.postern-store/lib/prepare-thread.js';

const { PrepareThread } = createRequire(__filename)(path.resolve(__dirname, '../../dist/mta-plugins/queue.postern-store/lib/prepare-thread.js')) as {
  PrepareThread: new (opts: PrepareStorage) => PrepareThreadType;
};

const MESSAGE = Buffer.from(
  'From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n\r\nHello Bob,\r\nsee you.\r\n',
);
const PREFIXES = ['Delivered-To: bob@example.com\r\n', 'Delivered-To: carol@example.com\r\n'];

describe('prepare thread', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-prepare-'));
  const blobDir = path.join(dir, 'blobs');
  const thread = new PrepareThread({ storage: { blobStore: 'fs', s3: null }, blobDir });
  afterAll(async () => {
    await thread.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the blob and parses every variant off the calling thread, as prepareMessage does here', async () => {
    const open = vi.spyOn(fsp, 'open');
    try {
      const prepared = await thread.prepare(MESSAGE, PREFIXES);
      // No file of the blob store was opened by this thread: the worker wrote it.
      expect(open).not.toHaveBeenCalled();
      open.mockRestore();
      const here = await prepareMessage(await FileBlobStore.open(path.join(dir, 'here')), MESSAGE, PREFIXES);
      expect({ ...prepared, blobId: '' }).toEqual({ ...here, blobId: '' });
      const store = await FileBlobStore.open(blobDir);
      expect(await store.get(prepared.blobId)).toEqual(MESSAGE);
    } finally {
      open.mockRestore();
    }
  });

  it('answers many messages at once, each with its own blob', async () => {
    const bodies = Array.from({ length: 20 }, (_, i) => Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
    const results = await Promise.all(bodies.map((b) => thread.prepare(b, [''])));
    expect(new Set(results.map((r) => r.blobId)).size).toBe(20);
    const store = await FileBlobStore.open(blobDir);
    for (const [i, r] of results.entries()) {
      expect(r.variants[0]!.meta.subject).toBe(`m${i}`);
      expect(await store.get(r.blobId)).toEqual(bodies[i]);
    }
  });

  it('fails the message when the store cannot be opened, and works once it can', async () => {
    const blocked = path.join(dir, 'blocked');
    writeFileSync(blocked, 'a file where the blob folder should be');
    const t = new PrepareThread({ storage: { blobStore: 'fs', s3: null }, blobDir: blocked });
    try {
      await expect(t.prepare(MESSAGE, [''])).rejects.toThrow();
      rmSync(blocked);
      const prepared = await t.prepare(MESSAGE, ['']);
      expect(readFileSync(path.join(blocked, prepared.blobId.slice(0, 2), prepared.blobId))).toEqual(MESSAGE);
    } finally {
      await t.close();
    }
  });

  it('fails what a stopped thread held, and starts a new one for the next message', async () => {
    const t = new PrepareThread({ storage: { blobStore: 'fs', s3: null }, blobDir });
    try {
      const pending = t.prepare(MESSAGE, ['']);
      await t.close();
      await expect(pending).rejects.toThrow(/exited|terminated/);
      const prepared = await t.prepare(MESSAGE, ['']);
      expect(prepared.blobSize).toBe(MESSAGE.length);
    } finally {
      await t.close();
    }
  });
});
