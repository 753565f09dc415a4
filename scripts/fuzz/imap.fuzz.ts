/**
 * The long IMAP fuzz run (`npm run fuzz` imports every scripts/fuzz/*.fuzz.ts and calls fuzz()).
 *
 * A real IMAP server over the real store (SQLite + file blobs in a temporary data dir) gets
 * `inputs` seeded random inputs: commands built from IMAP verbs and arguments, literals of both
 * kinds with right and wrong sizes, over-long lines, binary, then mutated (truncated, bytes
 * flipped, repeated). Each input goes twice: through the literal reader and parser in process
 * (split at random points), and over a socket into a session (half the fuzz sessions logged in
 * with a mailbox selected). Every 1,000 inputs a canary logs in, selects and fetches from
 * another address; it must finish within 5 s.
 *
 * Reported: crashes (an exception other than a syntax error from reader or parser, a tagged
 * NO [SERVERBUG], an error-level log line of the server, an uncaught exception), hangs (canary
 * timeouts) and RSS growth of the process from after warm-up to the end.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../appliance/config.js';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { hashPassword } from '../../appliance/core/access/passwords.js';
import { openSqlite } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { ImapSyntaxError, parseCommand } from '../../appliance/imap/parser.js';
import { CommandReader } from '../../appliance/imap/reader.js';
import { startImapServer } from '../../appliance/imap/server.js';
import { createLogger } from '../../appliance/logger.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { generateSelfSigned } from '../../appliance/tls.js';

import type { FuzzOptions, FuzzResult } from './harness.js';
import { prng } from '../lib/prng.js';

const USER = 'canary@fuzz.test';
const PASS = 'canary fuzz passphrase 42';
const SESSIONS = 4;
const BATCH = 25;
const CANARY_EVERY = 1000;

/** Command names the IMAP fuzzers draw from (also the integration test's fuzz sessions). */
export const VERBS = [
  'NOOP',
  'CAPABILITY',
  'SELECT',
  'EXAMINE',
  'FETCH',
  'UID FETCH',
  'STORE',
  'UID STORE',
  'SEARCH',
  'UID SEARCH',
  'COPY',
  'MOVE',
  'LIST',
  'LSUB',
  'STATUS',
  'APPEND',
  'CREATE',
  'DELETE',
  'RENAME',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'IDLE',
  'ENABLE',
  'ID',
  'GETQUOTAROOT',
  'EXPUNGE',
  'UID EXPUNGE',
  'AUTHENTICATE',
  'LOGIN',
  'CLOSE',
  'UNSELECT',
  'NAMESPACE',
  'CHECK',
  'XYZZY',
  '',
];
/** Arguments the IMAP fuzzers draw from: valid, truncated, oversized and hostile. */
export const ARGS = [
  'INBOX',
  '"INBOX"',
  'Sent',
  'fz',
  'fz/sub',
  '1',
  '1:*',
  '*',
  '0',
  '4294967296',
  '1:',
  ',',
  '(',
  ')',
  '((',
  '))',
  '(FLAGS',
  'BODY[',
  'BODY[]<0.>',
  'BODY.PEEK[1.2.3.MIME]',
  'BODY[HEADER.FIELDS (',
  'BODY[HEADER.FIELDS ()]',
  '(FLAGS UID ENVELOPE BODYSTRUCTURE)',
  '(BODY.PEEK[] BODY.PEEK[] BODY.PEEK[])',
  'RFC822',
  '+FLAGS',
  '-FLAGS.SILENT',
  '(\\Seen)',
  '(\\Bogus)',
  '\\Recent',
  '"unterminated',
  '"esc\\"aped"',
  '"bad\\escape"',
  'NIL',
  '~{3}',
  '{3}',
  '{2+}',
  '{999999999999}',
  '{-1}',
  'CHARSET',
  'KOI8-R',
  'OR',
  'NOT',
  'HEADER',
  'SUBJECT',
  'BEFORE',
  '31-Feb-2020',
  'UID',
  '$',
  '(CHANGEDSINCE 1)',
  '(UNCHANGEDSINCE x)',
  'RETURN',
  '(STATUS (MESSAGES))',
  '"&Jjo-"',
  '&&&-',
  '%',
  '*/*/*',
  '"%%%%%%%%%%%%%%%%x"',
  '\u0000',
  '\u00ff\u00fe',
  '\t',
  '  ',
  'PLAIN',
  '=',
  'DONE',
  'nobody@fuzz.test',
  'wrong',
];

/** One random input (bytes), seeded. Never the canary's credentials. */
function randomInput(rnd: () => number, n: number): Buffer {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const parts = [rnd() < 0.05 ? '' : `z${n}`, pick(VERBS)];
  const count = Math.floor(rnd() * 7);
  for (let i = 0; i < count; i++) parts.push(pick(ARGS));
  const line = parts.join(rnd() < 0.92 ? ' ' : '');
  const r = rnd();
  let out: Buffer;
  if (r < 0.08) out = Buffer.from(line.slice(0, Math.floor(rnd() * line.length)) + '\r\n');
  else if (r < 0.11) out = Buffer.from(`${line} ${'A'.repeat(20_000 + Math.floor(rnd() * 60_000))}\r\n`);
  else if (r < 0.25) {
    const size = Math.floor(rnd() * (rnd() < 0.1 ? 6000 : 60));
    const plus = rnd() < 0.5 ? '+' : '';
    const sent = rnd() < 0.7 ? size : Math.floor(rnd() * 80);
    out = Buffer.from(`${line} {${size}${plus}}\r\n${'x'.repeat(sent)}\r\n`);
  } else out = Buffer.from(line + (rnd() < 0.9 ? '\r\n' : '\n'));
  // Mutations: flip bytes, repeat a slice.
  if (rnd() < 0.1) {
    const b = Buffer.from(out);
    for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    out = b;
  }
  if (rnd() < 0.03) out = Buffer.concat(Array.from({ length: 2 + Math.floor(rnd() * 20) }, () => out));
  return out;
}

/** A raw socket from a loopback source address, with a response buffer. */
class Client {
  buf = '';
  closed = false;
  private wake: (() => void) | null = null;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      if (this.buf.length > 1_000_000) this.buf = this.buf.slice(-100_000);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, source: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: source }, () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  /** Waits until `re` matches the buffer, the socket closes, or `ms` pass; true when matched. */
  async until(re: RegExp, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!re.test(this.buf)) {
      if (this.closed) return re.test(this.buf);
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
    return true;
  }

  async cmd(tag: string, line: string, ms = 5000): Promise<string | null> {
    this.buf = '';
    this.socket.write(`${tag} ${line}\r\n`);
    return (await this.until(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)`), ms)) ? this.buf : null;
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const { log } = opts;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'postern-fuzz-imap-'));
  let crashes = 0;
  let hangs = 0;
  const crash = (what: string) => {
    crashes++;
    if (crashes <= 20) log(`imap fuzz: crash: ${what.slice(0, 300)}`);
  };
  // Error-level lines of the server count as crashes (a command that failed unexpectedly).
  const errorLines = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.includes('"level":50') || line.includes('"level":60')) crash(`server log: ${line}`);
      cb();
    },
  });
  const onUncaught = (err: Error) => crash(`uncaught: ${err.stack ?? err.message}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  const config = loadConfig({ POSTERN_DATA_DIR: dataDir, POSTERN_LOG_LEVEL: 'error', POSTERN_ALLOW_PLAINTEXT_AUTH_LOOPBACK: 'true', POSTERN_IMAP_COMMAND_TIMEOUT_SECONDS: '5' });
  const logger = createLogger('error', { destination: errorLines });
  const { db, close: closeDb } = openSqlite(path.join(dataDir, 'postern.db'));
  await migrateToLatest(db);
  const blobs = await FileBlobStore.open(path.join(dataDir, 'blobs'));
  const store = new SqlMailStore({ db, blobs, maxMessageBytes: config.maxMessageBytes });
  const credentials = new CredentialService(db, logger);
  await store.provisionStandaloneMailbox({
    tenantId: 'tnt_fuzz',
    domainId: 'dom_fuzz',
    domain: 'fuzz.test',
    mailboxId: 'mbx_fuzz',
    localPart: 'canary',
    passwordHash: await hashPassword(PASS),
    quotaBytes: config.defaultQuotaBytes,
  });
  for (let i = 0; i < 3; i++) {
    await store.append('mbx_fuzz', 'INBOX', Buffer.from(`From: a@fuzz.test\r\nSubject: m${i}\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b--\r\n`));
  }
  const server = await startImapServer({ config, logger, store, credentials, tls: generateSelfSigned('mail.fuzz.test') });
  const port = server.ports.imap;

  const rnd = prng(opts.seed);
  const reader: CommandReader = new CommandReader(
    { maxLineBytes: 64 * 1024, maxCommandBytes: 1024 * 1024, maxLiteral: () => 256 * 1024, maxNonSyncLiteral: Infinity, abortOversizedNonSync: false },
    {
      unit: (u) => {
        try {
          parseCommand(u);
        } catch (err) {
          if (!(err instanceof ImapSyntaxError)) crash(`parser: ${(err as Error).stack}`);
        }
      },
      rejected: () => undefined,
      literalRequest: (u, size) => reader.literalDecision(reader.fits(u, size)),
    },
  );

  const sessions: Array<Client | null> = Array(SESSIONS).fill(null);
  const open = async (i: number): Promise<Client> => {
    const c = await Client.connect(port, `127.0.0.${10 + i}`);
    await c.until(/\r\n/, 5000);
    if (i % 2 === 1) {
      // Logged-in sessions fuzz the selected state.
      await c.cmd('l', `LOGIN ${USER} "${PASS}"`, 10_000);
      await c.cmd('s', 'SELECT INBOX', 10_000);
    }
    sessions[i] = c;
    return c;
  };
  const canary = async (): Promise<boolean> => {
    const t = Date.now();
    let c: Client | null = null;
    try {
      c = await Client.connect(port, '127.0.0.1');
      if (!(await c.until(/\r\n/, 5000))) return false;
      const steps: Array<[string, string]> = [
        ['l', `LOGIN ${USER} "${PASS}"`],
        ['s', 'SELECT INBOX'],
        ['f', 'FETCH 1 (FLAGS BODY.PEEK[HEADER])'],
      ];
      for (const [tag, line] of steps) {
        const left = 5000 - (Date.now() - t);
        const r = left > 0 ? await c.cmd(tag, line, left) : null;
        if (!r || !new RegExp(`${tag} OK`).test(r)) return false;
      }
      return true;
    } catch {
      return false;
    } finally {
      c?.close();
    }
  };

  const rss = () => process.memoryUsage().rss / 1024 / 1024;
  let rssStart = 0;
  let rssGrowthMb = 0;
  const started = Date.now();
  let sent = 0;
  let stalled = 0;
  try {
    while (sent < opts.inputs) {
      const i = Math.floor(sent / BATCH) % SESSIONS;
      let c = sessions[i];
      if (!c || c.closed) c = await open(i);
      const batch: Buffer[] = [];
      for (let k = 0; k < BATCH && sent < opts.inputs; k++, sent++) batch.push(randomInput(rnd, sent));
      const bytes = Buffer.concat(batch);
      // In process: the same bytes through the reader, split at random points.
      try {
        let at = 0;
        while (at < bytes.length) {
          const step = 1 + Math.floor(rnd() * 4096);
          reader.push(bytes.subarray(at, at + step));
          at += step;
        }
      } catch (err) {
        crash(`reader: ${(err as Error).stack}`);
      }
      // Over the socket, then a marker; inputs that leave a literal open never see it: start over.
      c.buf = '';
      c.socket.write(bytes);
      c.socket.write(`\r\nmk${sent} NOOP\r\n`);
      const answered = await c.until(new RegExp(`mk${sent} (OK|BAD|NO)`), 500);
      if (/\[SERVERBUG\]/.test(c.buf)) crash(`SERVERBUG after inputs ${sent - batch.length}..${sent}: ${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`);
      if (!answered) stalled++;
      if (!answered || /\* BYE/.test(c.buf)) {
        c.close();
        sessions[i] = null;
      }
      if (sent % CANARY_EVERY < BATCH || sent >= opts.inputs) {
        if (!(await canary())) {
          hangs++;
          log(`imap fuzz: canary timed out after ${sent} inputs`);
        }
        if (!rssStart && sent >= Math.min(5000, opts.inputs / 10)) {
          (globalThis as { gc?: () => void }).gc?.();
          rssStart = rss();
        }
        if (sent % (CANARY_EVERY * 10) < BATCH)
          log(`imap fuzz: ${sent}/${opts.inputs} inputs, ${crashes} crashes, ${hangs} hangs, rss ${rss().toFixed(0)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    }
  } finally {
    for (const c of sessions) c?.close();
    reader.dispose();
    (globalThis as { gc?: () => void }).gc?.();
    const end = rss();
    await server.close();
    await store.queue.drain();
    await closeDb();
    await rm(dataDir, { recursive: true, force: true });
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    opts.log(
      `imap fuzz: done (${stalled} batches left a literal open), ${sent} inputs in ${((Date.now() - started) / 1000).toFixed(0)} s, ${crashes} crashes, ${hangs} hangs, rss ${rssStart.toFixed(0)} → ${end.toFixed(0)} MB`,
    );
    rssGrowthMb = rssStart ? end - rssStart : 0;
  }
  return { inputs: sent, crashes, hangs, rssGrowthMb: Math.round(rssGrowthMb * 10) / 10 };
}
