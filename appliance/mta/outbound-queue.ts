/**
 * Reads Haraka's outbound queue directory (data/haraka/queue), read-only: the appliance never
 * changes a queue file while Haraka runs. One module for the metrics (size, oldest age) and the
 * control plane's queue view.
 *
 * Haraka (outbound/qfile.js) names a queue file
 *   `<arrival ms>_<next attempt ms>_<attempts>_<pid>_<uniq>_<counter>_<host>`
 * writing it as `__tmp__.<name>` first and renaming; a deferral renames it with a new next
 * attempt, attempt count and counter (arrival and uniq stay). Files that failed to parse are
 * renamed `error.<name>`. Each file starts with a 4-byte big-endian length and that many bytes
 * of JSON, the "todo" (outbound/index.js build_todo: queue_time, domain, rcpt_to, mail_from,
 * notes, uuid…), followed by the message itself, which is never read here.
 *
 * Where the queue lives in a cluster (issue 17): each node's own POSTERN_DATA_DIR/haraka/queue,
 * never shared (Haraka's queue is a directory of files it renames as it retries). A node that
 * stops cleanly keeps its queue and delivers it when it starts again. A node that dies for good
 * takes its queue with it unless an operator recovers it: with the dead node's data dir (its
 * disk, a volume, a backup) reachable from a live node, `postern queue recover --from <dir>`
 * re-queues every complete queue file through that node (readQueueMessage below, then POST
 * /api/v1/outbound-queue/recovered: 'outbound.send' into the live node's Haraka, an audit event
 * each) and moves each recovered file to <queue>/recovered/, so a second run sends nothing
 * twice. `__tmp__.*` files were never acknowledged (no 250), so nothing is owed for them.
 *
 * Outbound events reported by the child (`outbound.event`: delivered, deferred, bounced) are
 * remembered per transaction uuid and domain for a while, so the view can show the last error.
 */
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const NAME = /^(\d{10,})_(\d+)_(\d+)_(\d+)_([A-Za-z0-9]{1,32})_(\d+)_(.*)$/;
/** A todo header larger than this is not a Haraka todo (the JSON is a few KB at most). */
const MAX_TODO_BYTES = 1024 * 1024;

export interface QueueFileName {
  /** Stable across retries: `<arrival>.<uniq>`. */
  id: string;
  file: string;
  arrival: number;
  nextAttempt: number;
  attempts: number;
}

export interface QueueEntry extends QueueFileName {
  uuid: string | null;
  queuedAt: number;
  sender: string;
  recipients: string[];
  domain: string;
}

export function parseQueueFileName(file: string): QueueFileName | null {
  const m = NAME.exec(file);
  if (!m) return null;
  return { id: `${m[1]}.${m[5]}`, file, arrival: Number(m[1]), nextAttempt: Number(m[2]), attempts: Number(m[3]) };
}

/** An address of a Haraka todo: an Address object ({user, host, original}) or a string. */
function addressOf(v: unknown): string {
  if (typeof v === 'string') return v.replace(/^<|>$/g, '');
  if (v && typeof v === 'object') {
    const a = v as { user?: unknown; host?: unknown; original?: unknown };
    if (typeof a.user === 'string' && a.user && typeof a.host === 'string' && a.host) return `${a.user}@${a.host}`;
    if (typeof a.original === 'string') return a.original.replace(/^<|>$/g, '');
  }
  return '';
}

/** The todo header of one queue file; null when the file is gone or is not a Haraka queue file. */
export async function readQueueTodo(file: string): Promise<Record<string, unknown> | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return null; // delivered (unlinked) or renamed between readdir and open
  }
  try {
    const head = Buffer.alloc(4);
    if ((await fh.read(head, 0, 4, 0)).bytesRead !== 4) return null;
    const len = head.readUInt32BE(0);
    if (len === 0 || len > MAX_TODO_BYTES) return null;
    const body = Buffer.alloc(len);
    if ((await fh.read(body, 0, len, 4)).bytesRead !== len) return null;
    const todo = JSON.parse(body.toString('utf8').trim()) as unknown;
    return todo && typeof todo === 'object' ? (todo as Record<string, unknown>) : null;
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

async function names(queueDir: string): Promise<QueueFileName[]> {
  let list: string[];
  try {
    list = await readdir(queueDir);
  } catch {
    return [];
  }
  return list.map(parseQueueFileName).filter((n): n is QueueFileName => n !== null);
}

/** Size and age of the queue from the file names alone (for scrapes). */
export async function outboundQueueStats(queueDir: string, now = Date.now()): Promise<{ messages: number; oldestAgeSeconds: number }> {
  const list = await names(queueDir);
  const oldest = list.reduce((m, n) => Math.min(m, n.arrival), Infinity);
  return { messages: list.length, oldestAgeSeconds: list.length ? Math.max(0, (now - oldest) / 1000) : 0 };
}

/** Every queued message (one per destination domain), oldest first, with its envelope. */
export async function readOutboundQueue(queueDir: string): Promise<QueueEntry[]> {
  const list = (await names(queueDir)).sort((x, y) => x.arrival - y.arrival || x.id.localeCompare(y.id));
  const out: QueueEntry[] = [];
  for (const n of list) {
    const todo = await readQueueTodo(path.join(queueDir, n.file));
    if (!todo) continue;
    const rcpts = Array.isArray(todo.rcpt_to) ? todo.rcpt_to.map(addressOf).filter(Boolean) : [];
    out.push({
      ...n,
      uuid: typeof todo.uuid === 'string' ? todo.uuid : null,
      queuedAt: typeof todo.queue_time === 'number' ? todo.queue_time : n.arrival,
      sender: addressOf(todo.mail_from),
      recipients: rcpts,
      domain: typeof todo.domain === 'string' ? todo.domain.toLowerCase() : (rcpts[0]?.split('@')[1] ?? ''),
    });
  }
  return out;
}

// ---- the child's outbound events, remembered for the queue view -----------------------------

export interface OutboundEvent {
  kind: 'delivered' | 'deferred' | 'bounced';
  queueId: string;
  domain: string;
  detail: string;
}

const KEEP_EVENTS = 5000;
const lastEvents = new Map<string, { kind: string; detail: string; at: number }>();
const eventKey = (uuid: string, domain: string) => `${uuid} ${domain.toLowerCase()}`;

/** Records the last outbound event of a queued message (called for every `outbound.event`). */
export function recordOutboundEvent(e: OutboundEvent, at = Date.now()): void {
  const key = eventKey(String(e.queueId), String(e.domain ?? ''));
  lastEvents.delete(key);
  if (e.kind === 'deferred') lastEvents.set(key, { kind: e.kind, detail: String(e.detail ?? '').slice(0, 500), at });
  while (lastEvents.size > KEEP_EVENTS) lastEvents.delete(lastEvents.keys().next().value!);
}

/** The last deferral of a message still in the queue, if the appliance saw it. */
export function lastOutboundError(uuid: string | null, domain: string): { detail: string; at: number } | null {
  if (!uuid) return null;
  const e = lastEvents.get(eventKey(uuid, domain));
  return e ? { detail: e.detail, at: e.at } : null;
}

/**
 * The queue view's source (control plane, GET /api/v1/outbound-queue): this queue directory and
 * the remembered errors; with `send` (the Haraka child's 'outbound.send'), messages recovered
 * from a dead node's queue are queued here again.
 */
export function outboundQueueSource(
  queueDir: string,
  send?: (p: { sender: string; recipients: string[]; message: string; encoding: 'base64' }) => Promise<unknown>,
): { list(): Promise<QueueEntry[]>; lastError: typeof lastOutboundError; reinject?: (sender: string, recipients: string[], message: Buffer) => Promise<void> } {
  return {
    list: () => readOutboundQueue(queueDir),
    lastError: lastOutboundError,
    ...(send ? { reinject: async (sender: string, recipients: string[], message: Buffer) => void (await send({ sender, recipients, message: message.toString('base64'), encoding: 'base64' })) } : {}),
  };
}

// ---- recovery: a dead node's queue files, read whole ------------------------------------------

export interface QueueFileMessage extends QueueEntry {
  /** The message as Haraka queued it (after the todo header). */
  message: Buffer;
}

/**
 * Haraka keeps a queued message as it goes on the wire (hmail pipes the file into DATA), so
 * lines starting with a dot are dot-stuffed; 'outbound.send' stuffs again: undo it here.
 */
function unstuff(b: Buffer): Buffer {
  const s = b.toString('latin1');
  return s.includes('\n..') || s.startsWith('..') ? Buffer.from(s.replace(/(^|\n)\.\./g, '$1.'), 'latin1') : b;
}

/** One queue file's envelope and bytes; null when it is not a complete Haraka queue file. */
export async function readQueueMessage(dir: string, file: string): Promise<QueueFileMessage | null> {
  const n = parseQueueFileName(file);
  if (!n) return null;
  let raw: Buffer;
  try {
    raw = await readFile(path.join(dir, file));
  } catch {
    return null;
  }
  if (raw.length < 4) return null;
  const len = raw.readUInt32BE(0);
  if (len === 0 || len > MAX_TODO_BYTES || raw.length < 4 + len) return null;
  let todo: Record<string, unknown>;
  try {
    todo = JSON.parse(
      raw
        .subarray(4, 4 + len)
        .toString('utf8')
        .trim(),
    ) as Record<string, unknown>;
  } catch {
    return null;
  }
  const rcpts = Array.isArray(todo.rcpt_to) ? todo.rcpt_to.map(addressOf).filter(Boolean) : [];
  return {
    ...n,
    uuid: typeof todo.uuid === 'string' ? todo.uuid : null,
    queuedAt: typeof todo.queue_time === 'number' ? todo.queue_time : n.arrival,
    sender: addressOf(todo.mail_from),
    recipients: rcpts,
    domain: typeof todo.domain === 'string' ? todo.domain.toLowerCase() : (rcpts[0]?.split('@')[1] ?? ''),
    message: unstuff(raw.subarray(4 + len)),
  };
}
