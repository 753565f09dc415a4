/**
 * A private S3-compatible endpoint for tests: s3rver on 127.0.0.1 with its own directory and
 * one bucket. The appliance talks to it path-style exactly as to AWS, MinIO or Garage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The POSTERN_* settings that point a node at this endpoint. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3(opts: { bucket?: string; port?: number } = {}): Promise<TestS3> {
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
