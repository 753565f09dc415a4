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
// this thread only (Linux: a thread's own nice value); elsewhere it runs at the process's priority
let nice = null;
try {
  const os = require('node:os');
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  os.setPriority(tid, ${CHECK_NICE});
  nice = os.getPriority(tid);
} catch {}
function check(db, { columns, fromSeq, prevHash }) {
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
parentPort.on('message', (job) => {
  let db = null;
  try {
    db = new Database(job.file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.exec('BEGIN');
    const result = check(db, job);
    db.exec('COMMIT');
    parentPort.postMessage({ id: job.id, result, nice });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err), nice });
  } finally {
    if (db) db.close();
  }
});
`;

type Settle = { resolve(check: ChainCheck): void; reject(err: Error): void };

/**
 * The one check thread of the process, started at the first check and kept (issue 18): a new
 * thread per check cost the serving loop 1-15 ms to create it and a core for ~200 ms of Node
 * bootstrap at normal priority (before it lowers its own) at every check — at the start of
 * each API row of the control bench, its p99 tails. Idle, it does not keep the process alive.
 */
interface CheckThread {
  worker: Worker;
  pending: Map<number, Settle>;
  nextId: number;
}
let thread: CheckThread | null = null;
/** How many check threads were started (for tests: one per process while none fails). */
let started = 0;
export function checkThreadsStarted(): number {
  return started;
}

function checkThread(): CheckThread {
  if (thread) return thread;
  const module = createRequire(__filename).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module } });
  started++;
  const t: CheckThread = { worker, pending: new Map(), nextId: 1 };
  worker.unref();
  const fail = (err: Error) => {
    if (thread === t) thread = null;
    for (const s of t.pending.values()) s.reject(err);
    t.pending.clear();
  };
  worker.on('message', (m: { id: number; result?: ChainCheck; error?: string; nice: number | null }) => {
    const s = t.pending.get(m.id);
    if (!s) return;
    t.pending.delete(m.id);
    if (t.pending.size === 0) worker.unref();
    lastNice = m.nice;
    if (m.result) s.resolve(m.result);
    else s.reject(new Error(`audit chain check failed: ${m.error}`));
  });
  worker.once('error', fail);
  worker.once('exit', (code) => fail(new Error(`audit chain check thread exited (${code})`)));
  return (thread = t);
}

/**
 * Verifies the chain after `fromSeq` (whose hash is `prevHash`) up to the head on a worker
 * thread; null when `db` is not a SQLite file database with reader threads (see READERS_OF).
 */
export function verifyChainOffThread(db: object, columns: readonly string[], fromSeq: number, prevHash: string): Promise<ChainCheck> | null {
  const file = READERS_OF.get(db)?.file;
  if (!file) return null;
  const t = checkThread();
  const id = t.nextId++;
  return new Promise<ChainCheck>((resolve, reject) => {
    t.pending.set(id, { resolve, reject });
    // a check under way keeps the process alive (a CLI waits for its answer)
    t.worker.ref();
    t.worker.postMessage({ id, file, columns: [...columns], fromSeq, prevHash });
  });
}
