/**
 * Message bytes on S3-compatible object storage (AWS S3, MinIO, Garage, Ceph RGW, s3rver in the
 * tests), for several nodes sharing one store. Path-style requests to any endpoint.
 *
 * Keys: `blobs/<first two hex digits>/<id>`. The shard prefix spreads keys over the key space
 * (S3 partitions by prefix) and lets an operator list or copy a slice; the `blobs/` prefix keeps
 * the bucket shareable with other data (backups, exports).
 *
 * Ids stay random (128 bits, the same 32-hex form as the file store), NOT content addressed.
 * Content addressing (id = sha256 of the bytes) would deduplicate identical messages, but every
 * inbound message already differs (Received, Delivered-To), so the gain is small, and it makes
 * delete unsafe across nodes: node A's expunge sees no row referring to blob X and deletes it
 * after its commit, while node B has just re-PUT the same bytes (a no-op for the same key) and
 * commits a row pointing at X: B's message would lose its bytes. Making that safe needs a
 * reference ledger with tombstones in the database. With random ids a blob belongs to exactly
 * one delivery, so `delete` after the last index reference is gone is always safe, and the
 * orphan sweep's grace period covers blobs written but not yet committed on another node.
 *
 * Durability: `put` resolves only when PutObject has completed (the store acknowledges durable
 * writes), before the index commit and before SMTP answers 250. Each upload carries Content-MD5,
 * so the store rejects bytes damaged on the way; the ETag of a single-part upload is that MD5
 * (a migration or backup can verify copies against it).
 *
 * Bounds: connection timeout, socket idle timeout, a total deadline per operation and at most
 * three attempts (the SDK's standard retry with backoff). Errors are mapped to messages naming
 * the operation, the blob and the endpoint's origin; credentials never appear in them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { BlobNotFoundError, type BlobStore, isBlobId } from './blobstore.js';

export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3Limits {
  /** TCP connect timeout (ms). */
  connectTimeoutMs: number;
  /** Longest wait for the next bytes on an open request (ms). */
  idleTimeoutMs: number;
  /**
   * Total deadline of one operation including retries (ms). Below Haraka's plugin_timeout (60 s)
   * so a stalled store fails the delivery with a clear 4xx before Haraka gives up on the hook.
   */
  operationTimeoutMs: number;
  /** Total deadline of the readiness probe (ms): /readyz answers quickly when the store is gone. */
  probeTimeoutMs: number;
  /** Attempts per request (first try plus retries). */
  maxAttempts: number;
  /** Keys per ListObjectsV2 page (S3's maximum is 1000). */
  pageSize: number;
}

const DEFAULT_LIMITS: S3Limits = { connectTimeoutMs: 3_000, idleTimeoutMs: 30_000, operationTimeoutMs: 45_000, probeTimeoutMs: 3_000, maxAttempts: 3, pageSize: 1000 };
const PREFIX = 'blobs/';
const KEY_RE = /^blobs\/([0-9a-f]{2})\/([0-9a-f]{32})$/;

/** An S3 request that failed, with a message fit for logs and /readyz (no credentials). */
export class S3BlobError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'S3BlobError';
  }
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: { code?: string };
}

export class S3BlobStore implements BlobStore {
  /** Several nodes write here: an unreferenced blob may be another node's uncommitted delivery. */
  readonly shared = true;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly origin: string;
  private readonly limits: S3Limits;

  constructor(settings: S3Settings, limits: Partial<S3Limits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.bucket = settings.bucket;
    this.origin = new URL(settings.endpoint).origin; // origin drops any user:pass@ in the URL
    const config: S3ClientConfig = {
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      maxAttempts: this.limits.maxAttempts,
      requestHandler: { connectionTimeout: this.limits.connectTimeoutMs, requestTimeout: this.limits.idleTimeoutMs },
      // Content-MD5 (sent below) is what every S3-compatible store checks; the newer flexible
      // checksums (CRC32 trailers) are not understood by all of them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    this.client = new S3Client(config);
  }

  private keyOf(id: string): string {
    if (!isBlobId(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return `${PREFIX}${id.slice(0, 2)}/${id}`;
  }

  private deadline(ms = this.limits.operationTimeoutMs): AbortSignal {
    return AbortSignal.timeout(ms);
  }

  /** Turns an SDK or network error into a clear one; not-found becomes BlobNotFoundError. */
  private fail(op: string, id: string | null, err: unknown): Error {
    const e = err as SdkError;
    const status = e.$metadata?.httpStatusCode;
    const what = id ? `blob ${id}` : `bucket ${this.bucket}`;
    const noBucket = e.name === 'NoSuchBucket' || (!id && (status === 404 || e.name === 'NotFound'));
    // HeadObject's 404 has no body: a missing key and a missing bucket look alike there.
    if (id && op !== 'put' && !noBucket && (status === 404 || e.name === 'NoSuchKey' || e.name === 'NotFound')) return new BlobNotFoundError(id, `s3 bucket ${this.bucket}`);
    let reason: string;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') reason = 'timed out';
    else if (status === 403 || e.name === 'AccessDenied' || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch')
      reason = `access denied (${e.name ?? status}): check the access key and secret`;
    else if (noBucket) reason = 'bucket does not exist';
    else if (status) reason = `HTTP ${status} ${e.name ?? ''}`.trim();
    else reason = `unreachable (${e.code ?? e.cause?.code ?? e.name ?? 'network error'})`;
    return new S3BlobError(`S3 ${op} of ${what} at ${this.origin} failed: ${reason}`, status);
  }

  async put(data: Buffer | Buffer[]): Promise<string> {
    const id = randomBytes(16).toString('hex');
    await this.putAs(id, data);
    return id;
  }

  /**
   * Stores bytes under a given id (copying blobs from another store, e.g. `postern migrate`:
   * the index rows keep their blob ids). Putting the same bytes again is harmless (a resumed
   * copy). Resolves with the MD5 (hex) the store verified, which is the object's ETag.
   */
  async putAs(id: string, data: Buffer | Buffer[]): Promise<string> {
    const key = this.keyOf(id);
    const body = Array.isArray(data) ? (data.length === 1 ? data[0]! : Buffer.concat(data)) : data;
    const md5 = createHash('md5').update(body).digest();
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ContentMD5: md5.toString('base64'), ContentType: 'message/rfc822' }), {
        abortSignal: this.deadline(),
      });
    } catch (err) {
      throw this.fail('put', id, err);
    }
    return md5.toString('hex');
  }

  /** Size and MD5 (hex, from the ETag of a single-part upload) of a stored blob, without its bytes: verification. */
  async stat(id: string): Promise<{ size: number; md5: string | null }> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(id) }), { abortSignal: this.deadline() });
      const etag = (out.ETag ?? '').replace(/"/g, '');
      return { size: Number(out.ContentLength ?? 0), md5: /^[0-9a-f]{32}$/.test(etag) ? etag : null };
    } catch (err) {
      throw this.fail('size', id, err);
    }
  }

  async get(id: string, range?: { start: number; end: number }): Promise<Buffer> {
    const key = this.keyOf(id);
    if (range && range.end <= range.start) {
      await this.size(id); // an empty range of a missing blob is still an error
      return Buffer.alloc(0);
    }
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}) }), {
        abortSignal: this.deadline(),
      });
      const bytes = await out.Body!.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      // A range starting at or past the end: the file store answers with no bytes, so do we.
      if (range && (err as SdkError).$metadata?.httpStatusCode === 416) return Buffer.alloc(0);
      throw this.fail('get', id, err);
    }
  }

  async size(id: string): Promise<number> {
    return (await this.stat(id)).size;
  }

  async delete(id: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(id) }), { abortSignal: this.deadline() });
    } catch (err) {
      const mapped = this.fail('delete', id, err);
      if (!(mapped instanceof BlobNotFoundError)) throw mapped;
    }
  }

  /**
   * Pages by StartAfter (the last key of the previous page) rather than opaque continuation
   * tokens: keys come in lexicographic order on every S3-compatible store, the position is a
   * plain key (resumable), and older stores' token handling is not relied on.
   */
  async *list(): AsyncIterable<{ id: string; mtimeMs: number }> {
    let after: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: PREFIX, StartAfter: after, MaxKeys: this.limits.pageSize }), {
          abortSignal: this.deadline(),
        });
      } catch (err) {
        throw this.fail('list', null, err);
      }
      const contents = page.Contents ?? [];
      for (const obj of contents) {
        const m = KEY_RE.exec(obj.Key ?? '');
        if (!m || m[2]!.slice(0, 2) !== m[1]) continue;
        yield { id: m[2]!, mtimeMs: obj.LastModified ? obj.LastModified.getTime() : Date.now() };
      }
      const last = contents.at(-1)?.Key;
      if (!page.IsTruncated || !last) return;
      after = last;
    }
  }

  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: this.deadline(this.limits.probeTimeoutMs) });
    } catch (err) {
      throw this.fail('probe', null, err);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
