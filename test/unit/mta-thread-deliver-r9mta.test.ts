/**
 * The store plugin's message thread makes the delivery call itself (issue 18,
 * mta-plugins/queue.postern-store/lib/prepare-thread.ts `deliver`): over the appliance's MTA
 * socket it sends `mail.deliver` with the message it stored and parsed, and answers with the
 * appliance's result, so Haraka's event loop never handles the parsed message. An appliance
 * error keeps its code; without a socket, or with one that never connects, the prepared message
 * goes over Haraka's channel instead (nothing was sent, nothing is delivered twice). Runs the
 * compiled module (the thread loads compiled code).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { prepareMessage } from '../../appliance/mailstore/ingest.js';
import { serveRpc, socketEndpoint } from '../../appliance/rpc/channel.js';
import type { DeliverParams, DeliverResult } from '../../appliance/rpc/protocol.js';
import type { DeliverRequest, PrepareThread as PrepareThreadType, PrepareStorage } from '../../mta-plugins/queue.postern-store/lib/prepare-thread.js';

const { PrepareThread } = createRequire(__filename)(path.resolve(__dirname, '../../dist/mta-plugins/queue.postern-store/lib/prepare-thread.js')) as {
  PrepareThread: new (opts: PrepareStorage) => PrepareThreadType;
};

const MESSAGE = Buffer.from('From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: thread delivery\r\nMessage-ID: <t1@example.org>\r\n\r\nHello Bob.\r\n');
const PREFIXES = ['Delivered-To: bob@example.com\r\n', 'Delivered-To: carol@example.com\r\n'];
const REQUEST: DeliverRequest = {
  recipients: [
    { address: 'bob@example.com', variant: 0 },
    { address: 'carol@example.com', variant: 1 },
  ],
  junk: false,
  sender: 'alice@example.org',
  deliveredTo: [],
  autoReplyEligible: true,
  queueId: 'Q1.1',
};
const RESULT: DeliverResult = { delivered: [{ address: 'bob@example.com', mailboxId: 'm1', uid: 7 }], skipped: ['carol@example.com'], relay: [] };

describe('delivery call from the message thread', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-thread-deliver-'));
  const socketPath = path.join(dir, 'appliance.sock');
  const blobDir = path.join(dir, 'blobs');
  const seen: DeliverParams[] = [];
  let refuse = false;
  let server: net.Server;
  const threads: PrepareThreadType[] = [];
  const thread = (rpcSocket: string | null) => {
    const t = new PrepareThread({ storage: { blobStore: 'fs', s3: null }, blobDir, rpcSocket });
    threads.push(t);
    return t;
  };
  const notOverChannel = (): Promise<DeliverResult> => Promise.reject(new Error('the channel was used'));

  beforeAll(async () => {
    server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      serveRpc(socketEndpoint(socket), {
        'mail.deliver': (p: DeliverParams) => {
          seen.push(p);
          if (refuse) throw new AppError('NotFound', 'mailbox went away');
          return RESULT;
        },
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  afterAll(async () => {
    await Promise.all(threads.map((t) => t.close()));
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores, parses and calls mail.deliver on the thread, and answers with the appliance result', async () => {
    seen.length = 0;
    const t = thread(socketPath);
    expect(t.delivers).toBe(true);
    expect(await t.deliver(MESSAGE, PREFIXES, REQUEST, notOverChannel)).toEqual(RESULT);
    expect(seen).toHaveLength(1);
    const { prepared, ...request } = seen[0]!;
    expect(request).toEqual(REQUEST);
    const here = await prepareMessage(await FileBlobStore.open(path.join(dir, 'here')), MESSAGE, PREFIXES);
    expect({ ...prepared, blobId: '' }).toEqual({ ...here, blobId: '' });
    // The blob was durable before the call: it is there, whole.
    expect(await (await FileBlobStore.open(blobDir)).get(prepared.blobId)).toEqual(MESSAGE);
  });

  it('fails with the appliance error code, as the call over the channel does', async () => {
    refuse = true;
    try {
      await expect(thread(socketPath).deliver(MESSAGE, PREFIXES, REQUEST, notOverChannel)).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      refuse = false;
    }
  });

  it.each([
    { name: 'no socket', socket: null },
    { name: 'a socket that never connects', socket: path.join(dir, 'missing.sock') },
  ])('$name: the prepared message goes over the channel, once', async ({ socket }) => {
    seen.length = 0;
    const overChannel: DeliverParams[] = [];
    const result = await thread(socket).deliver(MESSAGE, PREFIXES, REQUEST, async (params) => {
      overChannel.push(params);
      return RESULT;
    });
    expect(result).toEqual(RESULT);
    expect(seen).toHaveLength(0);
    expect(overChannel).toHaveLength(1);
    expect(overChannel[0]!.recipients).toEqual(REQUEST.recipients);
    expect(await (await FileBlobStore.open(blobDir)).get(overChannel[0]!.prepared.blobId)).toEqual(MESSAGE);
  });
});
