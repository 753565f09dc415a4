/**
 * A light HTTP/1.1 load client for the control case (issue 18), as wrk or ab would be: one
 * kept-alive TCP connection per client, opened before the clock starts, each sending GETs one
 * after the other. A request is timed from the write of its bytes to the socket read that
 * completes its answer (status line, headers, then Content-Length bytes, or a chunked body to
 * its last chunk), in that read's callback: no promise turn, no node:http request and answer
 * objects, little garbage. node:http cost the bench process about as much CPU per request as
 * the appliance spent answering a kept page, on the same 2 cores, and its answers were read and
 * timed one after the other in a batch after the appliance had sent them.
 *
 * The client's own loop is watched too (clientStall): a request is timed late by as long as the
 * client's loop was busy or not scheduled when its answer arrived, so a figure is only the
 * server's while that stays small.
 */
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readdirSync, readFileSync } from 'node:fs';

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');

export interface Answer {
  status: number;
  ms: number;
}

/** The Content-Length header as node's HTTP server writes it (lower case, one space). */
const CONTENT_LENGTH = Buffer.from('\r\ncontent-length: ');

/**
 * The value of a `content-length: ` header line of the head `buf[0, head)` read from its bytes, or
 * -1 when there is none in that form: no header text made and no pattern run per answer (the
 * client's work per answer sits in the timed path of the answers read after it).
 */
function contentLength(buf: Buffer, head: number): number {
  const at = buf.indexOf(CONTENT_LENGTH);
  if (at < 0 || at >= head) return -1;
  let n = 0;
  let i = at + CONTENT_LENGTH.length;
  for (; i < head; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return i > at + CONTENT_LENGTH.length && (i === head || buf[i] === 13) ? n : -1;
}

/** Where an answer of `buf` ends (bytes from its start), or -1 while it is incomplete. */
export function answerLength(buf: Buffer): number {
  const head = buf.indexOf(HEADER_END);
  if (head < 0) return -1;
  const known = contentLength(buf, head);
  if (known >= 0) {
    const total = head + 4 + known;
    return buf.length >= total ? total : -1;
  }
  const headers = buf.subarray(0, head).toString('latin1');
  const len = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
  if (len) {
    const total = head + 4 + Number(len[1]);
    return buf.length >= total ? total : -1;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(headers)) {
    // an empty body is the last chunk alone
    if (buf.subarray(head + 4, head + 9).toString('latin1') === '0\r\n\r\n') return head + 9;
    const end = buf.indexOf(CHUNKED_END, head + 4);
    return end < 0 ? -1 : end + CHUNKED_END.length;
  }
  // no body announced (204, 304): the headers are the answer
  return head + 4;
}

/** Status code of a complete answer. */
export function statusOf(buf: Buffer): number {
  return Number(buf.subarray(9, 12).toString('latin1'));
}

/** One kept-alive connection sending one request at a time. */
export class LoadConnection {
  private pending: { t0: number; resolve: (a: Answer) => void; reject: (e: Error) => void } | null = null;
  private chunks: Buffer[] = [];

  private constructor(
    private readonly socket: net.Socket,
    private readonly head: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Connects to host:port; every request sends `headers` (e.g. the bearer token). */
  static open(host: string, port: number, headers: Record<string, string>): Promise<LoadConnection> {
    let head = `Host: ${host}:${port}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.off('error', reject);
        resolve(new LoadConnection(socket, head));
      });
      socket.once('error', reject);
    });
  }

  get(path: string): Promise<Answer> {
    if (this.pending) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      const bytes = `GET ${path} HTTP/1.1\r\n${this.head}\r\n`;
      this.pending = { t0: performance.now(), resolve, reject };
      this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    const t1 = performance.now();
    this.chunks.push(chunk);
    const buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
    const end = answerLength(buf);
    if (end < 0) {
      this.chunks = [buf];
      return;
    }
    this.chunks = end < buf.length ? [buf.subarray(end)] : [];
    const p = this.pending;
    this.pending = null;
    if (!p) return this.fail(new Error('an answer nobody asked for'));
    p.resolve({ status: statusOf(buf), ms: t1 - p.t0 });
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The longest delay of this process's event loop while `watch` runs (1 ms timer), in ms. */
export function clientStall(): { stop(): number } {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return {
    stop() {
      h.disable();
      // the histogram records the intervals of a 1 ms timer: the delay is the excess over it
      return Math.max(0, h.max / 1e6 - 1);
    },
  };
}

/** Time a thread ran and time it waited for a CPU (Linux schedstat), in ms. */
export interface SchedTimes {
  runMs: number;
  waitMs: number;
}

function readSched(file: string): SchedTimes | null {
  try {
    const [run, wait] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return { runMs: (run ?? 0) / 1e6, waitMs: (wait ?? 0) / 1e6 };
  } catch {
    return null;
  }
}

/** A process's main thread (tid = pid) and the sum of all its threads, from /proc schedstat. */
export function schedOf(pid: number): { main: SchedTimes; all: SchedTimes } | null {
  const main = readSched(`/proc/${pid}/task/${pid}/schedstat`);
  if (!main) return null;
  const all = { runMs: 0, waitMs: 0 };
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  for (const tid of tids) {
    const s = readSched(`/proc/${pid}/task/${tid}/schedstat`);
    if (s) {
      all.runMs += s.runMs;
      all.waitMs += s.waitMs;
    }
  }
  return { main, all };
}

/**
 * Runs the load client's own code hot before a first row's clock starts (issue 18, fourteenth
 * round), against a server of this process that answers every GET with one canned answer of
 * `answerBytes` bytes: `clients` connections, `requests` in all. The appliance is not asked
 * anything. Without it, the first row timed answers with the client's code still being
 * compiled: the bench process spent 0.23 ms of CPU per request in the first row and 0.11 in
 * the next (same answers), on the 2 cores it shares with the appliance.
 */
export async function warmUpLoadClient(opts: { clients: number; requests: number; answerBytes: number; headers: Record<string, string> }): Promise<number> {
  const body = Buffer.alloc(opts.answerBytes, 0x20);
  const answer = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n`), body]);
  const server = net.createServer((socket) => {
    let head = '';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // one answer per complete request head
      head += chunk.toString('latin1');
      let end: number;
      while ((end = head.indexOf('\r\n\r\n')) >= 0) {
        head = head.slice(end + 4);
        socket.write(answer);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  let done = 0;
  try {
    const conns = await Promise.all(Array.from({ length: opts.clients }, () => LoadConnection.open('127.0.0.1', port, opts.headers)));
    let left = opts.requests;
    try {
      await Promise.all(
        conns.map(async (c) => {
          while (left > 0) {
            left--;
            const a = await c.get('/warm-up');
            if (a.status === 200) done++;
          }
        }),
      );
    } finally {
      for (const c of conns) c.close();
    }
  } finally {
    server.close();
  }
  return done;
}
