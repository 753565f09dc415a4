/**
 * The audit hash chain checked on a thread of its own (issue 18), for SQLite databases opened
 * from a file: the whole check — reading every event and hashing it — runs on a worker with its
 * own read-only connection, so a full verification (on demand, daily) costs the serving event
 * loop one message in and one out, however long the chain. PostgreSQL and in-memory databases
 * answer null here and are verified on the loop in bounded batches (core/audit/audit.ts).
 *
 * The worker reads the head and the events in one read transaction (one snapshot), so an event
 * appended meanwhile is simply not in it: no race between the head and the rows it reads. The
 * canonical row is the caller's column list in order, the first two columns as numbers (as
 * core/audit/audit.ts canonicalAuditRow builds it; a test checks they agree).
 *
 * The check is background work: its thread lowers its own scheduling priority (Linux nice 19,
 * for that thread only) so that the serving loop and the reader threads keep the CPU while a
 * full pass runs. On 2 cores an unprioritised pass took a whole core for 1-2 s, and the control
 * plane's answers in that window waited for it (issue 18: the API's p99 under 50 clients).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { READERS_OF } from './sqlite-readers.js';

export interface ChainCheck {
  ok: boolean;
  /** Events the check covers from the first one (the prefix before `fromSeq` included). */
  events: number;
  firstBadEventId?: number;
  /** The head that was verified (ok only). */
  head?: { seq: number; hash: string };
}

/** The check thread's nice value: the lowest priority (it yields to everything else of the process). */
export const CHECK_NICE = 19;

/** The nice value the last check thread ran at (null where the platform has none): for tests. */
let lastNice: number | null = null;
export function lastCheckNice(): number | null {
  return lastNice;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const Database = require(workerData.module);
const { file, columns, fromSeq, prevHash } = workerData;
// this thread only (Linux: a thread's own nice value); elsewhere it runs at the process's priority
let nice = null;
try {
  const os = require('node:os');
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  os.setPriority(tid, ${CHECK_NICE});
  nice = os.getPriority(tid);
} catch {}
function check(db) {
  const head = db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get();
  if (!head) return { ok: false, events: fromSeq, firstBadEventId: fromSeq + 1 };
  const headSeq = Number(head.seq);
  const n = columns.length;
  const list = columns.map((c) => '"' + c + '"').join(', ');
  const rows = db.prepare('SELECT ' + list + ', hash FROM audit_events WHERE id > ? AND id <= ? ORDER BY id').raw(true);
  let prev = prevHash;
  let expected = fromSeq + 1;
  for (const r of rows.iterate(fromSeq, headSeq)) {
    const id = Number(r[0]);
    if (id !== expected) return { ok: false, events: expected - 1, firstBadEventId: expected };
    const hash = r[n];
    r.length = n;
    r[0] = id;
    r[1] = Number(r[1]);
    if (r[n - 1] !== prev || createHash('sha256').update(prev).update('\\n').update(JSON.stringify(r)).digest('hex') !== hash) return { ok: false, events: id - 1, firstBadEventId: id };
    prev = hash;
    expected++;
  }
  if (expected - 1 !== headSeq || head.hash !== prev) return { ok: false, events: expected - 1, firstBadEventId: expected };
  // an event past the head: in one snapshot no appender can be between its event and the head
  const last = db.prepare('SELECT max(id) AS id FROM audit_events').get();
  if (last.id !== null && Number(last.id) > headSeq) return { ok: false, events: headSeq, firstBadEventId: headSeq + 1 };
  return { ok: true, events: headSeq, head: { seq: headSeq, hash: head.hash } };
}
const db = new Database(file, { readonly: true, fileMustExist: true });
try {
  db.pragma('busy_timeout = 5000');
  db.exec('BEGIN');
  const result = check(db);
  db.exec('COMMIT');
  parentPort.postMessage({ result, nice });
} catch (err) {
  parentPort.postMessage({ error: String((err && err.message) || err), nice });
} finally {
  db.close();
}
`;

/**
 * Verifies the chain after `fromSeq` (whose hash is `prevHash`) up to the head on a worker
 * thread; null when `db` is not a SQLite file database with reader threads (see READERS_OF).
 */
export function verifyChainOffThread(db: object, columns: readonly string[], fromSeq: number, prevHash: string): Promise<ChainCheck> | null {
  const file = READERS_OF.get(db)?.file;
  if (!file) return null;
  const module = createRequire(__filename).resolve('better-sqlite3');
  return new Promise<ChainCheck>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file, columns: [...columns], fromSeq, prevHash } });
    let settled = false;
    worker.once('message', (m: { result?: ChainCheck; error?: string; nice: number | null }) => {
      settled = true;
      lastNice = m.nice;
      if (m.result) resolve(m.result);
      else reject(new Error(`audit chain check failed: ${m.error}`));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`audit chain check thread exited (${code})`));
    });
  });
}
