/**
 * The S3 blob store against a real S3-compatible endpoint (s3rver on loopback): the blob
 * interface's contract (put/get/range/size/delete/list/probe), clear errors for a missing blob,
 * an unreachable endpoint and a missing bucket, and the factory picking the backend.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../appliance/logger.js';
import { BlobNotFoundError, blobStoreHealth, FileBlobStore, openBlobStore } from '../../appliance/mailstore/blobstore.js';
import { S3BlobStore } from '../../appliance/mailstore/blobstore-s3.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

/** A loopback port nobody listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('S3 blob store', () => {
  let s3: TestS3;
  let store: S3BlobStore;
  let raw: S3Client;
  const settings = () => ({ endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });

  beforeAll(async () => {
    s3 = await startS3();
    store = new S3BlobStore(settings());
    raw = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  });
  afterAll(async () => {
    store?.close();
    raw?.destroy();
    await s3?.stop();
  });

  it('stores bytes under a sharded key and reads them back whole, by range and by size', async () => {
    const a = Buffer.from('Subject: one\r\n\r\nfirst body\r\n');
    const b = Buffer.from('second part \u00e9\r\n');
    const id = await store.put([a, b]);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const whole = Buffer.concat([a, b]);
    expect(await store.get(id)).toEqual(whole);
    expect(await store.size(id)).toBe(whole.length);
    expect(await store.get(id, { start: 9, end: 12 })).toEqual(whole.subarray(9, 12));
    // Past the end: the bytes that exist, then none (as the file store answers).
    expect(await store.get(id, { start: whole.length - 3, end: whole.length + 50 })).toEqual(whole.subarray(whole.length - 3));
    expect(await store.get(id, { start: whole.length + 10, end: whole.length + 20 })).toEqual(Buffer.alloc(0));
    expect(await store.get(id, { start: 5, end: 5 })).toEqual(Buffer.alloc(0));

    const listed = await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `blobs/${id.slice(0, 2)}/` }));
    expect(listed.Contents?.map((o) => o.Key)).toContain(`blobs/${id.slice(0, 2)}/${id}`);
    // Single-part upload with Content-MD5: the ETag is the MD5 of the bytes.
    const md5 = (await import('node:crypto')).createHash('md5').update(whole).digest('hex');
    expect(listed.Contents?.find((o) => o.Key?.endsWith(id))?.ETag).toBe(`"${md5}"`);
  });

  it('stores under a given id (a copy from another store) and reports size and MD5 for verification', async () => {
    const id = 'ab'.repeat(16);
    const bytes = Buffer.from('copied from the blob folder\r\n');
    const md5 = (await import('node:crypto')).createHash('md5').update(bytes).digest('hex');
    expect(await store.putAs(id, bytes)).toBe(md5);
    expect(await store.putAs(id, [bytes])).toBe(md5); // again: idempotent
    expect(await store.get(id)).toEqual(bytes);
    expect(await store.stat(id)).toEqual({ size: bytes.length, md5 });
    await expect(store.putAs('not-an-id', bytes)).rejects.toThrow(/invalid blob id/);
    await store.delete(id);
  });

  it('deletes, and a missing blob is a clear not-found error', async () => {
    const id = await store.put(Buffer.from('short-lived'));
    await store.delete(id);
    await store.delete(id); // deleting twice is fine
    const err = await store.get(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobNotFoundError);
    expect((err as Error).message).toBe(`blob ${id} not found in s3 bucket ${s3.bucket}`);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
    await expect(store.size(id)).rejects.toThrow(`blob ${id} not found`);
    await expect(store.get(id, { start: 0, end: 2 })).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.get('../../etc/passwd')).rejects.toThrow(/invalid blob id/);
  });

  it('lists every blob across pages with its modification time, skipping foreign keys', async () => {
    const small = new S3BlobStore(settings());
    const before = Date.now() - 5_000;
    const ids = new Set<string>();
    for (let i = 0; i < 25; i++) ids.add(await store.put(Buffer.from(`blob ${i}`)));
    await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'blobs/zz/not-a-blob', Body: 'x' }));
    await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `blobs/00/${'f'.repeat(32)}`, Body: 'wrong shard' }));
    await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'exports/other.json', Body: '{}' }));
    const seen = new Map<string, number>();
    for await (const { id, mtimeMs } of small.list()) seen.set(id, mtimeMs);
    for (const id of ids) {
      expect(seen.has(id)).toBe(true);
      expect(seen.get(id)!).toBeGreaterThan(before);
      expect(seen.get(id)!).toBeLessThanOrEqual(Date.now() + 5_000);
    }
    expect([...seen.keys()].every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(seen.has('f'.repeat(32))).toBe(false);
    small.close();
  });

  it('lists past one page (StartAfter paging)', async () => {
    const paged = new S3BlobStore(settings(), { pageSize: 7 });
    const all = new Set<string>();
    for await (const { id } of paged.list()) all.add(id);
    const expected = new Set<string>();
    for await (const { id } of store.list()) expected.add(id);
    expect(all.size).toBeGreaterThan(7);
    expect(all).toEqual(expected);
    paged.close();
  });

  it('probes the bucket; a missing bucket and an unreachable endpoint are clear, bounded failures', async () => {
    await store.probe();
    expect(await blobStoreHealth(store)).toEqual({ ok: true });

    const noBucket = new S3BlobStore({ ...settings(), bucket: 'no-such-bucket' });
    await expect(noBucket.probe()).rejects.toThrow(`S3 probe of bucket no-such-bucket at ${s3.endpoint} failed: bucket does not exist`);
    await expect(noBucket.put(Buffer.from('x'))).rejects.toThrow(/^S3 put of blob [0-9a-f]{32} at http:\/\/127\.0\.0\.1:\d+ failed: bucket does not exist$/);
    await expect(noBucket.get('0'.repeat(32))).rejects.toThrow(/failed: bucket does not exist$/);
    noBucket.close();

    const port = await deadPort();
    const gone = new S3BlobStore({ ...settings(), endpoint: `http://127.0.0.1:${port}` }, { maxAttempts: 2 });
    const t0 = Date.now();
    const health = await blobStoreHealth(gone);
    expect(health.ok).toBe(false);
    expect(health.detail).toMatch(new RegExp(`^S3 probe of bucket ${s3.bucket} at http://127\\.0\\.0\\.1:${port} failed: (unreachable \\(ECONNREFUSED\\)|timed out)$`));
    await expect(gone.put(Buffer.from('x'))).rejects.toThrow(/^S3 put of blob [0-9a-f]{32} at http:\/\/127\.0\.0\.1:\d+ failed: /);
    expect(Date.now() - t0).toBeLessThan(10_000);
    gone.close();
  });

  it('the logger redacts the S3 secret wherever the settings are logged', () => {
    const lines: string[] = [];
    const log = createLogger('info', { destination: { write: (l: string) => void lines.push(l) } });
    const s3Settings = { ...settings(), secretAccessKey: 'top-secret-value' };
    log.info({ event: 'store.orphans.swept', storage: { blobStore: 's3', s3: s3Settings }, s3: s3Settings }, 'settings');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('top-secret-value');
    expect(JSON.parse(lines[0]!)).toMatchObject({ storage: { s3: { secretAccessKey: '[redacted]' } }, s3: { secretAccessKey: '[redacted]', bucket: s3.bucket } });
  });

  it('wrong credentials are an access error that names neither key', async () => {
    const bad = new S3BlobStore({ ...settings(), accessKeyId: 'WRONGKEYID', secretAccessKey: 'wrong-secret-value' });
    const err = (await bad.put(Buffer.from('x')).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/failed: access denied/);
    expect(err.message).not.toContain('wrong-secret-value');
    bad.close();
  });

  it('openBlobStore picks the backend from the storage settings', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'postern-blobs-'));
    try {
      const viaS3 = await openBlobStore({ blobStore: 's3', s3: settings() }, dir);
      expect(viaS3).toBeInstanceOf(S3BlobStore);
      expect(viaS3.shared).toBe(true);
      const id = await viaS3.put(Buffer.from('via the factory'));
      expect((await store.get(id)).toString()).toBe('via the factory');
      (viaS3 as S3BlobStore).close();

      const viaFs = await openBlobStore({ blobStore: 'fs', s3: null }, dir);
      expect(viaFs).toBeInstanceOf(FileBlobStore);
      expect(viaFs.shared).toBe(false);
      await viaFs.probe();
      await expect(viaFs.get('0'.repeat(32))).rejects.toThrow(`blob ${'0'.repeat(32)} not found in the blob folder ${dir}`);
      await rm(dir, { recursive: true, force: true });
      expect((await blobStoreHealth(viaFs)).ok).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('mail store on S3', () => {
  let s3: TestS3;
  let core: TestCore;

  beforeAll(async () => {
    s3 = await startS3();
    core = await createTestCore(s3.env);
  });
  afterAll(async () => {
    await core?.close();
    (core?.blobs as S3BlobStore | undefined)?.close();
    await s3?.stop();
  });

  const inBucket = async (id: string) =>
    core.blobs.size(id).then(
      () => true,
      (err: unknown) => (err instanceof BlobNotFoundError ? false : Promise.reject(err)),
    );

  it('delivers, reads ranges, shares the blob between copies and deletes it after the last expunge', async () => {
    expect(core.blobs).toBeInstanceOf(S3BlobStore);
    const mb = await core.createMailbox('s3user@s3store.test', 'Sturdy-Passw0rd!');
    const raw = Buffer.from(`Subject: on s3\r\nFrom: a@b.test\r\n\r\n${'line of text\r\n'.repeat(50)}`);
    await core.deliver(mb.address, raw);
    const inbox = (await core.store.getFolder(mb.id, 'INBOX'))!;
    const [entry] = await core.store.listMessages(inbox.id);
    const prefix = Buffer.from(`Delivered-To: ${mb.address}\r\n`);
    const whole = Buffer.concat([prefix, raw]);
    expect(await core.store.readMessage(entry!.messageId)).toEqual(whole);
    expect(await core.store.readMessage(entry!.messageId, { start: 5, end: 60 })).toEqual(whole.subarray(5, 60));
    expect((await core.store.readMessages!([entry!.messageId])).get(entry!.messageId)).toEqual(whole);

    const blobIds = new Set<string>();
    for await (const { id } of core.blobs.list()) blobIds.add(id);
    expect(blobIds.size).toBe(1);
    const [blobId] = [...blobIds];

    const archive = (await core.store.getFolder(mb.id, 'Archive')) ?? (await core.store.createFolder(mb.id, 'Kept'));
    await core.store.copyMessages(inbox.id, [entry!.uid], archive.id);
    await core.store.storeFlags(inbox.id, [entry!.uid], 'add', ['\\Deleted']);
    await core.store.expunge(inbox.id);
    expect(await inBucket(blobId!)).toBe(true); // the copy still refers to it

    const [copy] = await core.store.listMessages(archive.id);
    await core.store.storeFlags(archive.id, [copy!.uid], 'add', ['\\Deleted']);
    await core.store.expunge(archive.id);
    const deadline = Date.now() + 5_000;
    while ((await inBucket(blobId!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await inBucket(blobId!)).toBe(false);
  });

  it('the orphan sweep removes unreferenced blobs past the cutoff and keeps referenced ones', async () => {
    const mb = await core.createMailbox('sweep@s3store.test', 'Sturdy-Passw0rd!');
    await core.deliver(mb.address, Buffer.from('Subject: keep me\r\n\r\nkept\r\n'));
    const orphan = await core.blobs.put(Buffer.from('nobody refers to me'));
    expect(await core.store.sweepOrphanBlobs(60 * 60_000)).toBe(0); // too young
    expect(await inBucket(orphan)).toBe(true);
    expect(await core.store.sweepOrphanBlobs(0)).toBe(1);
    expect(await inBucket(orphan)).toBe(false);
    const inbox = (await core.store.getFolder(mb.id, 'INBOX'))!;
    const [entry] = await core.store.listMessages(inbox.id);
    expect((await core.store.readMessage(entry!.messageId)).toString()).toContain('kept');
  });
});
