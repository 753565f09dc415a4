/**
 * A private S3-compatible endpoint for tests: s3rver on 127.0.0.1 with its own directory and
 * one bucket. The appliance talks to it path-style exactly as to AWS, MinIO or Garage.
 */
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  /** s3rver's directory: object `<dir>/<bucket>/<key dirs>/<name>._S3rver_object` (its mtime is LastModified). */
  dir: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The POSTERN_* settings that point a node at this endpoint. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node 20)
 * no longer offers: every truncated listing answered 500. Triple DES with the key repeated three
 * times (K1 = K2 = K3) is exactly single DES, so the tokens come out byte for byte the same.
 */
function shimSingleDes(): void {
  const c = crypto as unknown as { createCipheriv: typeof crypto.createCipheriv; createDecipheriv: typeof crypto.createDecipheriv; __desShim?: true };
  if (c.__desShim) return;
  const wrap = <F extends (algo: string, key: Buffer, iv: Buffer, ...rest: unknown[]) => unknown>(fn: F): F =>
    ((algo: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
      algo === 'des' && key.length === 8 ? fn('des-ede3-cbc', Buffer.concat([key, key, key]), iv, ...rest) : fn(algo, key, iv, ...rest)) as F;
  c.createCipheriv = wrap(c.createCipheriv.bind(crypto) as never);
  c.createDecipheriv = wrap(c.createDecipheriv.bind(crypto) as never);
  c.__desShim = true;
}

export async function startS3(opts: { bucket?: string; port?: number } = {}): Promise<TestS3> {
  shimSingleDes();
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-s3-'));
  const bucket = opts.bucket ?? 'postern-blobs';
  const server = new S3rver({ port: opts.port ?? 0, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver accepts its well-known development credentials.
  const accessKeyId = 'S3RVER';
  const secretAccessKey = 'S3RVER';
  return {
    endpoint,
    dir,
    bucket,
    accessKeyId,
    secretAccessKey,
    env: {
      POSTERN_BLOB_STORE: 's3',
      POSTERN_S3_ENDPOINT: endpoint,
      POSTERN_S3_BUCKET: bucket,
      POSTERN_S3_REGION: 'us-east-1',
      POSTERN_S3_ACCESS_KEY_ID: accessKeyId,
      POSTERN_S3_SECRET_ACCESS_KEY: secretAccessKey,
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
