/**
 * `postern backup` / `postern restore` on a cluster node: the index in PostgreSQL
 * (POSTERN_DATABASE_URL, a private server) and the message bytes in S3 (POSTERN_BLOB_STORE=s3,
 * a private s3rver). The backup reads the blobs through the blob store; the restore goes into a
 * second empty database and a second bucket (another s3rver) under the same blob ids, and the
 * restored mail store answers every message (folder, uid, flags, bytes) as the original did.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../appliance/backup/backup.js';
import { openPostgres } from '../../appliance/db/dialect.js';
import { S3BlobStore } from '../../appliance/mailstore/blobstore-s3.js';
import type { BlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { CLI } from '../helpers/cli.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

let server: TestPostgres;
let s3: TestS3;
let s3b: TestS3;
let core: TestCore;
let sourceUrl = '';
const work = mkdtempSync(path.join(tmpdir(), 'postern-clusterbackup-'));
const backupDir = path.join(work, 'backup');
const prevPgUrl = process.env.POSTERN_TEST_PG_URL;
const prevTemplate = process.env.POSTERN_TEST_PG_TEMPLATE;

function postern(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', POSTERN_LOG_LEVEL: 'silent', ...env };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: full, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const msg = (n: string) => Buffer.from(`From: a@example.net\r\nTo: x@example.com\r\nSubject: cluster ${n}\r\nMessage-ID: <${n}@example.net>\r\n\r\nbody of ${n}\r\n`);

interface Row {
  mailbox: string;
  folder: string;
  uid: number;
  flags: string;
  sha256: string;
}

/** Every message of the given mailboxes as the store answers it: folder, uid, flags, sha256 of the bytes. */
async function contents(store: SqlMailStore, mailboxIds: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mailbox of mailboxIds)
    for (const f of await store.listFolders(mailbox))
      for (const e of await store.listMessages(f.id))
        rows.push({
          mailbox,
          folder: f.name,
          uid: e.uid,
          flags: [...e.flags].sort().join(' '),
          sha256: createHash('sha256')
            .update(await store.readMessage(e.messageId))
            .digest('hex'),
        });
  return rows.sort((a, b) => `${a.mailbox}/${a.folder}/${a.uid}`.localeCompare(`${b.mailbox}/${b.folder}/${b.uid}`));
}

async function tableCount(url: string): Promise<number> {
  const { db, close } = openPostgres(url);
  try {
    const r = await sql<{ n: string }>`select count(*) as n from information_schema.tables where table_schema = 'public'`.execute(db);
    return Number(r.rows[0]!.n);
  } finally {
    await close();
  }
}

async function bucketIds(store: BlobStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const b of store.list()) ids.push(b.id);
  return ids.sort();
}

const mailboxes: string[] = [];
let original: Row[] = [];

beforeAll(async () => {
  [server, s3, s3b] = await Promise.all([startPostgres(), startS3(), startS3({ bucket: 'postern-restored' })]);
  // createTestCore opens its database on "the run's" PostgreSQL server: point it at ours.
  process.env.POSTERN_TEST_PG_URL = server.url();
  delete process.env.POSTERN_TEST_PG_TEMPLATE;
  core = await createTestCore(s3.env);
  const r = await sql<{ n: string }>`select current_database() as n`.execute(core.db);
  sourceUrl = server.url(r.rows[0]!.n);
  const a = await core.createMailbox('alice@example.com', 'pw-alice-1');
  const b = await core.createMailbox('bob@example.com', 'pw-bob-1');
  mailboxes.push(a.id, b.id);
  for (const n of ['a1', 'a2', 'a3']) await core.deliver(a.address, msg(n));
  for (const n of ['b1', 'b2']) await core.deliver(b.address, msg(n));
  await core.store.append(a.id, 'Sent', msg('a-sent'), { flags: ['\\Seen'] });
  const inbox = (await core.store.getFolder(a.id, 'INBOX'))!;
  await core.store.storeFlags(inbox.id, [1, 3], 'add', ['\\Flagged', '$Label1']);
  const binbox = (await core.store.getFolder(b.id, 'INBOX'))!;
  await core.store.storeFlags(binbox.id, [2], 'add', ['\\Answered']);
  original = await contents(core.store, mailboxes);
}, 120_000);

afterAll(async () => {
  await core?.close();
  if (prevPgUrl === undefined) delete process.env.POSTERN_TEST_PG_URL;
  else process.env.POSTERN_TEST_PG_URL = prevPgUrl;
  if (prevTemplate !== undefined) process.env.POSTERN_TEST_PG_TEMPLATE = prevTemplate;
  await Promise.all([server?.destroy(), s3?.stop(), s3b?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe('backup and restore of a cluster (PostgreSQL + S3)', () => {
  it('backs up from S3, copies nothing the second time, and restores into an empty database and bucket', async () => {
    expect(original).toHaveLength(6);
    expect(original.filter((r) => r.flags.includes('\\Flagged'))).toHaveLength(2);
    const nodeEnv = { POSTERN_DATA_DIR: core.dataDir, POSTERN_DATABASE_URL: sourceUrl, ...s3.env };
    const first = await postern(['backup', '--out', backupDir, '--json'], nodeEnv);
    expect(first.code, first.stderr).toBe(0);
    const s1 = JSON.parse(first.stdout);
    expect(s1.database.engine).toBe('postgres');
    expect(s1.blobs).toBe(6);
    expect(s1.blobsCopied).toBe(6);
    // The blobs in the backup are the bytes in the bucket.
    const m1 = JSON.parse(readFileSync(path.join(backupDir, 'snapshots', s1.snapshot, 'manifest.json'), 'utf8'));
    for (const b of m1.blobs as Array<{ id: string; sha256: string }>)
      expect(
        createHash('sha256')
          .update(await core.blobs.get(b.id))
          .digest('hex'),
      ).toBe(b.sha256);

    const second = await postern(['backup', '--out', backupDir], nodeEnv);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/database snapshot taken \(postgres\); 6 blobs referenced/);
    expect(second.stdout).toMatch(/6 \(0 copied, 0 B; 6 already in the backup\)/);

    const target = await server.createDatabase('restored');
    const restoreEnv = { POSTERN_DATABASE_URL: target, ...s3b.env };
    const r = await postern(['restore', '--from', backupDir, '--data-dir', path.join(work, 'node-b')], restoreEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backup verified/);
    expect(r.stdout).toMatch(/uploading 6 blobs to the S3 bucket postern-restored/);

    const restored = new S3BlobStore({ endpoint: s3b.endpoint, bucket: s3b.bucket, region: 'us-east-1', accessKeyId: s3b.accessKeyId, secretAccessKey: s3b.secretAccessKey });
    const { db, close } = openPostgres(target);
    try {
      expect(await bucketIds(restored)).toEqual((m1.blobs as Array<{ id: string }>).map((b) => b.id).sort());
      const store = new SqlMailStore({ db, blobs: restored, maxMessageBytes: core.config.maxMessageBytes });
      expect(await contents(store, mailboxes)).toEqual(original);
      await store.queue.drain();
    } finally {
      await close();
      restored.close();
    }
    // A second restore into the now populated database is refused before anything is written.
    const again = await postern(['restore', '--from', backupDir, '--data-dir', path.join(work, 'node-c')], restoreEnv);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/target database is not empty/);
  }, 120_000);

  it('a corrupt blob in the backup is refused and the target database and bucket stay empty', async () => {
    const copy = path.join(work, 'corrupt');
    rmSync(copy, { recursive: true, force: true });
    await new Promise<void>((resolve, reject) => execFile('cp', ['-a', backupDir, copy], (e) => (e ? reject(e) : resolve())));
    const shard = readdirSync(path.join(copy, 'blobs')).sort()[0]!;
    const victim = path.join(copy, 'blobs', shard, readdirSync(path.join(copy, 'blobs', shard))[0]!);
    writeFileSync(victim, Buffer.concat([readFileSync(victim).subarray(0, 20), Buffer.from('tampered')]));
    const s3c = await startS3({ bucket: 'postern-empty' });
    try {
      const target = await server.createDatabase('refused');
      const r = await postern(['restore', '--from', copy, '--data-dir', path.join(work, 'node-d')], { POSTERN_DATABASE_URL: target, ...s3c.env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/corrupt backup: blob [0-9a-f]{32} does not match its checksum/);
      expect(await tableCount(target)).toBe(0);
      const bucket = new S3BlobStore({ endpoint: s3c.endpoint, bucket: s3c.bucket, region: 'us-east-1', accessKeyId: s3c.accessKeyId, secretAccessKey: s3c.secretAccessKey });
      try {
        expect(await bucketIds(bucket)).toEqual([]);
      } finally {
        bucket.close();
      }
    } finally {
      await s3c.stop();
    }
  }, 60_000);

  it('a blob expunged between the snapshot and its copy (S3 answers not found) makes the backup snapshot again', async () => {
    const bInbox = (await core.store.getFolder(mailboxes[1]!, 'INBOX'))!;
    const entry = (await core.store.listMessages(bInbox.id)).find((e) => e.uid === 1)!;
    const { blob_id: victim } = await core.db.selectFrom('messages').select('blob_id').where('id', '=', entry.messageId).executeTakeFirstOrThrow();
    await core.store.storeFlags(bInbox.id, [1], 'add', ['\\Deleted']);
    let expunge: Promise<unknown> | null = null;
    const lines: string[] = [];
    const m = await takeBackup({
      dataDir: core.dataDir,
      databaseUrl: sourceUrl,
      storage: core.config.storage,
      out: path.join(work, 'race'),
      progress: (line) => {
        lines.push(line);
        if (expunge || !line.startsWith('database snapshot taken')) return;
        // The first snapshot still refers to the blob; it leaves the bucket now (synchronously,
        // before the copy starts) and the expunge removes its row.
        const dir = path.join(s3.dir, s3.bucket, 'blobs', victim.slice(0, 2));
        for (const f of readdirSync(dir)) if (f.startsWith(victim)) rmSync(path.join(dir, f));
        expunge = core.store.expunge(bInbox.id, [1]);
      },
    });
    await expunge;
    expect(lines.some((l) => /blobs were deleted after the snapshot/.test(l))).toBe(true);
    expect(m.stats.attempts).toBeGreaterThanOrEqual(2);
    expect(m.blobs.map((b) => b.id)).not.toContain(victim);
    expect(m.blobs).toHaveLength(5);
  }, 60_000);
});
