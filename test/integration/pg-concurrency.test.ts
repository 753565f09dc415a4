/**
 * Two nodes on one PostgreSQL database: two kysely pools, each with its own mail store (write
 * queue, group commit), write the same folder, the same mailboxes and the audit chain at once,
 * under READ COMMITTED. UIDs and MODSEQs must never collide, quota must add up (and hold), and
 * the audit chain must stay one chain that verifies. Uses the run's server in the PostgreSQL
 * run (POSTERN_TEST_PG_URL), else starts a private one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAuditChain } from '../../appliance/core/audit/audit.js';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { type OpenedDatabase, openPostgres } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { provisionMailbox } from '../../appliance/mailstore/provision.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderEvent } from '../../appliance/mailstore/store.types.js';
import { createTestDatabase, startPostgres, type TestPostgres } from '../helpers/postgres.js';

let own: TestPostgres | undefined;
let dir: string;
const nodes: Array<{ opened: OpenedDatabase; store: SqlMailStore; events: FolderEvent[] }> = [];

function message(i: number, node: string): Buffer {
  return Buffer.from(`From: a@example.net\r\nTo: b@example.org\r\nSubject: ${node} ${i}\r\nMessage-ID: <${node}.${i}@example.net>\r\n\r\nbody ${i}\r\n`);
}

beforeAll(async () => {
  let url: string;
  if (process.env.POSTERN_TEST_PG_URL) url = await createTestDatabase('concurrency');
  else {
    own = await startPostgres();
    url = await own.createDatabase('concurrency');
  }
  dir = await mkdtemp(path.join(tmpdir(), 'postern-pgc-'));
  for (const name of ['a', 'b']) {
    const opened = openPostgres(url, { max: 4, applicationName: `postern-test-${name}` });
    if (name === 'a') await migrateToLatest(opened.db);
    const blobs = await FileBlobStore.open(path.join(dir, name));
    nodes.push({ opened, store: new SqlMailStore({ db: opened.db, blobs, maxMessageBytes: 1 << 20 }), events: [] });
  }
  const base = { tenantId: 'tnt_c', domainId: 'dom_c', domain: 'c.example', passwordHash: 'x', quotaBytes: 1 << 30 };
  await nodes[0]!.store.provisionStandaloneMailbox({ ...base, mailboxId: 'mbx_big', localPart: 'big' });
  await nodes[0]!.opened.db.transaction().execute((trx) => provisionMailbox(trx, { ...base, mailboxId: 'mbx_small', localPart: 'small', quotaBytes: 10 * message(0, 'a').length + 5 }));
}, 120_000);

afterAll(async () => {
  for (const n of nodes) {
    await n.store.queue.drain();
    await n.opened.close();
  }
  await own?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('two nodes writing one PostgreSQL database', () => {
  it('APPEND, flag changes and EXPUNGE from both nodes at once: no UID or MODSEQ collides, quota adds up', async () => {
    const inbox = (await nodes[0]!.store.getFolder('mbx_big', 'INBOX'))!;
    for (const n of nodes) n.store.watch(inbox.id, (e) => n.events.push(e));
    const PER_NODE = 40;
    const appended = await Promise.all(
      nodes.flatMap((n, k) =>
        Array.from({ length: PER_NODE }, async (_, i) => {
          const r = await n.store.append('mbx_big', 'INBOX', message(i, k ? 'b' : 'a'));
          // Interleave flag changes of what this node just stored with the other node's APPENDs.
          if (i % 4 === 0) await n.store.storeFlags(inbox.id, [r.uid], 'add', ['\\Deleted']);
          return r.uid;
        }),
      ),
    );
    // One node expunges while the other appends more.
    const [expunged] = await Promise.all([nodes[1]!.store.expunge(inbox.id), Promise.all(Array.from({ length: 10 }, (_, i) => nodes[0]!.store.append('mbx_big', 'INBOX', message(100 + i, 'a'))))]);
    const uids = [...appended];
    expect(new Set(uids).size).toBe(uids.length);

    const db = nodes[0]!.opened.db;
    const folder = await db.selectFrom('folders').selectAll().where('id', '=', inbox.id).executeTakeFirstOrThrow();
    const total = 2 * PER_NODE + 10;
    // Every UID handed out exactly once, with none skipped: uid_next moved once per message.
    expect(Number(folder.uid_next)).toBe(inbox.uidNext + total);
    const rows = await db.selectFrom('folder_messages').select(['uid', 'modseq', 'size']).where('folder_id', '=', inbox.id).execute();
    expect(rows.length).toBe(total - expunged.length);
    expect(expunged.length).toBeGreaterThan(0);

    // Each committed write took its own MODSEQ: the events of both nodes never share one, and
    // the highest is the folder's HIGHESTMODSEQ.
    const modseqs = nodes.flatMap((n) => n.events.map((e) => ('modseq' in e ? e.modseq : 0)));
    expect(modseqs.length).toBe(total + 2 * (PER_NODE / 4) + 1);
    expect(new Set(modseqs).size).toBe(modseqs.length);
    expect(Math.max(...modseqs)).toBe(Number(folder.highest_modseq));

    // Quota accounting matches the rows that are there.
    const mailbox = await db.selectFrom('mailboxes').select(['used_bytes', 'message_count']).where('id', '=', 'mbx_big').executeTakeFirstOrThrow();
    expect(Number(mailbox.message_count)).toBe(rows.length);
    expect(Number(mailbox.used_bytes)).toBe(rows.reduce((s, r) => s + Number(r.size), 0));
  });

  it('quota holds against both nodes appending to a mailbox with room for ten messages', async () => {
    const results = await Promise.allSettled(nodes.flatMap((n, k) => Array.from({ length: 10 }, (_, i) => n.store.append('mbx_small', 'INBOX', message(i, k ? 'b' : 'a')))));
    const stored = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected');
    expect(stored).toBe(10);
    expect(refused.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(10).fill('QuotaExceeded'));
    const quota = await nodes[1]!.store.quota('mbx_small');
    expect(quota.messages).toBe(10);
    expect(quota.usedBytes).toBeLessThanOrEqual(quota.quotaBytes);
  });

  it('audit events appended on both nodes at once form one chain that verifies', async () => {
    const PER_NODE = 25;
    await Promise.all(
      nodes.flatMap((n, k) =>
        Array.from({ length: PER_NODE }, (_, i) =>
          n.opened.db.transaction().execute(async (trx) => {
            await trx
              .insertInto('settings')
              .values({ key: `c.${k}.${i}`, value: String(i) })
              .execute();
            await appendAudit(trx, systemActor(`node-${k}`), { action: 'test.concurrent', targetType: 'setting', targetId: `c.${k}.${i}`, tenantId: null, after: { i } }, Date.now());
          }),
        ),
      ),
    );
    const verification = await verifyAuditChain(nodes[1]!.opened.db);
    expect(verification).toEqual({ ok: true, events: 2 * PER_NODE });
    const ids = await nodes[0]!.opened.db.selectFrom('audit_events').select('id').orderBy('id').execute();
    expect(ids.map((r) => Number(r.id))).toEqual(Array.from({ length: 2 * PER_NODE }, (_, i) => i + 1));
  });

  it('values PostgreSQL refuses (NUL in text, a number beyond bigint, text for an integer) are the caller’s error, not a server error', async () => {
    const db = nodes[0]!.opened.db;
    const invalid = expect.objectContaining({ code: 'Invalid' });
    await expect(db.selectFrom('mailboxes').select('id').where('id', '=', 'mbx\u0000x').execute()).rejects.toEqual(invalid);
    await expect(
      db
        .selectFrom('folders')
        .select('id')
        .where('uid_next', '=', '9'.repeat(40) as unknown as number)
        .execute(),
    ).rejects.toBeInstanceOf(AppError);
    await expect(
      db
        .selectFrom('folders')
        .select('id')
        .where('id', '=', 'x' as unknown as number)
        .execute(),
    ).rejects.toEqual(invalid);
    // The pool is fine afterwards.
    expect((await db.selectFrom('mailboxes').select('id').where('id', '=', 'mbx_big').execute()).length).toBe(1);
  });
});
