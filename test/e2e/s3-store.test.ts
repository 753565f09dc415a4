/**
 * The real appliance with its message bytes on an S3-compatible store (s3rver on loopback):
 * mail received over SMTP by Haraka is stored in the bucket before the 250 and served over IMAP
 * (whole and partial fetches), nothing lands in the local blob folder, the S3 secret reaches the
 * Haraka child only through a 0600 file and is never logged, the boot sweep removes an old
 * unreferenced blob but keeps a fresh one (another node's delivery in flight), and a store that
 * goes away fails /readyz and defers SMTP (4xx) without taking the process down.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { swaks } from '../helpers/swaks.js';

const ADDRESS = 'bucket@s3-e2e.test';
const PASSWORD = 'Sturdy-Passw0rd!';
const keyOf = (id: string) => `blobs/${id.slice(0, 2)}/${id}`;

/** Every file below `dir` (none when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('appliance on S3 blob storage', () => {
  let s3: TestS3;
  let raw: S3Client;
  let app: Appliance;
  let s3Stopped = false;
  const oldOrphan = randomBytes(16).toString('hex');
  const freshOrphan = randomBytes(16).toString('hex');

  const exists = (id: string) =>
    raw.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: keyOf(id) })).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    s3 = await startS3();
    raw = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    // Two blobs no index row refers to: one left two hours ago (a crashed delivery), one just now.
    for (const id of [oldOrphan, freshOrphan]) await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: keyOf(id), Body: `orphan ${id}` }));
    const old = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(path.join(s3.dir, s3.bucket, 'blobs', oldOrphan.slice(0, 2), `${oldOrphan}._S3rver_object`), old, old);
    app = await Appliance.start({ env: { ...s3.env, POSTERN_SPAM: 'false', POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0' }, readyTimeoutMs: 60_000 });
    await app.provisionMailbox(ADDRESS, PASSWORD);
  }, 90_000);
  afterAll(async () => {
    await app?.stop();
    raw?.destroy();
    if (!s3Stopped) await s3?.stop();
  });

  const client = () => new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user: ADDRESS, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });

  it('reports the object store in /readyz and sweeps only orphans past the grace period at boot', async () => {
    const ready = await app.readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.components.objectStore).toEqual({ ok: true });
    expect(await exists(oldOrphan)).toBe(false);
    expect(await exists(freshOrphan)).toBe(true);
  });

  it('stores SMTP mail in the bucket before 250 and serves it over IMAP', async () => {
    const before = new Set<string>();
    for (const o of (await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'blobs/' }))).Contents ?? []) before.add(o.Key!);
    const body = `S3 body line ${randomBytes(8).toString('hex')}\r\n`.repeat(40);
    const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'sender@elsewhere.test', '--to', ADDRESS, '--header', 'Subject: s3-e2e', '--body', body]);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.replies.at(-2) ?? '').toMatch(/^250 /);

    const added = ((await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'blobs/' }))).Contents ?? []).map((o) => o.Key!).filter((k) => !before.has(k));
    expect(added).toHaveLength(1);
    const inBucket = Buffer.from(await (await raw.send(new GetObjectCommand({ Bucket: s3.bucket, Key: added[0]! }))).Body!.transformToByteArray());
    expect(inBucket.toString()).toContain('Subject: s3-e2e');

    const c = client();
    await c.connect();
    await c.mailboxOpen('INBOX');
    const msg = await c.fetchOne('*', { source: true, envelope: true });
    expect(msg && msg.envelope?.subject).toBe('s3-e2e');
    // The stored message is the per-recipient Delivered-To line followed by the blob's bytes.
    const source = Buffer.from(msg ? msg.source! : '');
    expect(source).toEqual(Buffer.concat([Buffer.from(`Delivered-To: ${ADDRESS}\r\n`), inBucket]));
    // A partial fetch (BODY[]<start.length>) is served by a ranged GET of the object.
    const part = await c.fetchOne('*', { bodyParts: ['TEXT'], source: { start: 100, maxLength: 150 } });
    expect(Buffer.from(part ? part.source! : '')).toEqual(source.subarray(100, 250));
    await c.logout();

    // No byte of mail in the local blob folder.
    expect(filesUnder(path.join(app.dataDir, 'blobs'))).toEqual([]);
  });

  it('hands the S3 secret to Haraka in a 0600 file only, and never logs it', () => {
    const conf = path.join(app.dataDir, 'haraka', 'config');
    const secretFile = path.join(conf, 'postern-s3.json');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(secretFile, 'utf8'))).toMatchObject({ endpoint: s3.endpoint, bucket: s3.bucket, secretAccessKey: s3.secretAccessKey });
    const settings = readFileSync(path.join(conf, 'postern.json'), 'utf8');
    expect(JSON.parse(settings)).toMatchObject({ blobStore: 's3', s3SettingsFile: secretFile });
    expect(settings).not.toContain(s3.secretAccessKey);
    expect(app.logs.join('\n')).not.toContain(s3.secretAccessKey);
  });

  it('an unreachable store fails /readyz and defers SMTP, and the process keeps serving', async () => {
    await s3.stop();
    s3Stopped = true;
    const down = await app.readyz();
    expect(down.status).toBe(503);
    expect(down.body.failing).toContain('objectStore');
    expect(down.body.components.objectStore!.detail).toMatch(new RegExp(`^S3 probe of bucket ${s3.bucket} at ${s3.endpoint.replace(/\./g, '\\.')} failed: (unreachable|timed out)`));
    const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'sender@elsewhere.test', '--to', ADDRESS, '--header', 'Subject: s3-down']);
    expect(r.exitCode).not.toBe(0);
    expect(r.replies.at(-2) ?? r.output).toMatch(/^45[01] 4\.3\.0 /);
    // Still alive: liveness answers and IMAP still logs in (the index is local to the node).
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const c = client();
    await c.connect();
    await c.logout();
  });
});
