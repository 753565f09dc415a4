/**
 * IMAP under concurrent mixed work (issue 18), imaptest-style: `clients` connections share ONE
 * mailbox and folder (INBOX of the `imapmixed` user, seeded with `mixedSeed` messages) and for
 * `mixedSeconds` each runs sessions of LOGIN, SELECT, then a random mix of FETCH (FLAGS
 * ENVELOPE of a few messages, or BODY.PEEK[] of one), STORE (+/-FLAGS \Seen, +FLAGS \Deleted),
 * EXPUNGE, APPEND and NOOP, then LOGOUT and a new session. Every client tracks its folder size
 * from the untagged EXISTS/EXPUNGE it receives, as a real client does. The same seeded random
 * sequence drives both servers, one after the other, with the same raw TLS client.
 * Reported per command: average and p99 latency (time to the tagged reply), target ≤ reference.
 */
import os from 'node:os';
import { address, type BenchContext } from './context.js';
import { ImapClient, type ImapReply } from './imap-client.js';
import { variedMessages } from './messages.js';
import { type Samples, sample } from './metrics.js';
import type { BenchStack } from './stack.js';
import { percentile } from './util.js';

export const MIXED_USER = 'imapmixed';
const COMMANDS = ['LOGIN', 'SELECT', 'FETCH', 'STORE', 'EXPUNGE', 'APPEND', 'NOOP'] as const;
type Command = (typeof COMMANDS)[number];
/** Commands of one session between LOGIN/SELECT and LOGOUT. */
const SESSION_COMMANDS = 25;
/** Every client's first session runs at least this many, however slow the logins (a smoke run on a busy box still times every command). */
const MIN_COMMANDS = 12;

/** A small seeded generator (mulberry32): both servers get the same command sequence. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Timings {
  byCommand: Map<Command, number[]>;
  errors: number;
  /** CPU seconds of the server (Postern: the appliance process, all its threads; reference: Dovecot) and of this bench process, over the run. */
  serverCpu: number;
  clientCpu: number;
}

/** Keeps the client's idea of the folder size current from the untagged responses. */
function track(reply: ImapReply, exists: number): number {
  for (const l of reply.lines) {
    const m = /^\* (\d+) (EXISTS|EXPUNGE)\b/i.exec(l);
    if (!m) continue;
    if (m[2]!.toUpperCase() === 'EXISTS') exists = Number(m[1]);
    else exists--;
  }
  return exists;
}

async function client(stack: BenchStack, user: string, password: string, corpus: Buffer[], seed: number, until: number, t: Timings): Promise<void> {
  const random = rng(seed);
  const pick = (n: number) => 1 + Math.floor(random() * n);
  const time = async (name: Command, fn: () => Promise<ImapReply>): Promise<ImapReply> => {
    const t0 = performance.now();
    const r = await fn();
    t.byCommand.get(name)!.push(performance.now() - t0);
    if (r.status !== 'OK') t.errors++;
    return r;
  };
  let done = 0;
  while (performance.now() < until || done < MIN_COMMANDS) {
    const c = await ImapClient.connect(stack.imapsPort);
    try {
      await time('LOGIN', () => c.login(user, password));
      let exists = track(await time('SELECT', () => c.command('SELECT INBOX', { keep: true })), 0);
      for (let i = 0; i < SESSION_COMMANDS && (performance.now() < until || done < MIN_COMMANDS); i++, done++) {
        const r = random();
        let reply: ImapReply;
        if (r < 0.3 && exists > 0) {
          const n = pick(exists);
          reply =
            random() < 0.5
              ? await time('FETCH', () => c.command(`FETCH ${n}:${Math.min(exists, n + 9)} (UID FLAGS ENVELOPE)`, { keep: true, allowNo: true }))
              : await time('FETCH', () => c.command(`FETCH ${n} (UID BODY.PEEK[])`, { keep: true, allowNo: true }));
        } else if (r < 0.55 && exists > 0) {
          const n = pick(exists);
          const k = random();
          const what = k < 0.4 ? '+FLAGS (\\Deleted)' : k < 0.7 ? '+FLAGS (\\Seen)' : '-FLAGS (\\Seen)';
          reply = await time('STORE', () => c.command(`STORE ${n} ${what}`, { keep: true, allowNo: true }));
        } else if (r < 0.65) {
          reply = await time('EXPUNGE', () => c.command('EXPUNGE', { keep: true, allowNo: true }));
        } else if (r < 0.8) {
          const msg = corpus[pick(corpus.length) - 1]!;
          reply = await time('APPEND', () => c.command('APPEND INBOX', { literal: msg, keep: true, allowNo: true }));
        } else {
          reply = await time('NOOP', () => c.command('NOOP', { keep: true, allowNo: true }));
        }
        exists = track(reply, exists);
      }
      await c.logout();
    } catch (err) {
      c.destroy();
      throw err;
    }
  }
}

async function seed(stack: BenchStack, user: string, password: string, corpus: Buffer[], n: number): Promise<void> {
  const c = await ImapClient.connect(stack.imapsPort);
  await c.login(user, password);
  for (let i = 0; i < n; i++) await c.command('APPEND INBOX', { literal: corpus[i % corpus.length]! });
  await c.logout();
}

/** The server's share of cpuParts: the appliance process for Postern (Haraka is its child), Dovecot for the reference. */
const serverCpuOf = (stack: BenchStack) => (stack.name === 'postern' ? stack.cpuParts()[0] : stack.cpuParts()[1]);

async function runMixed(stack: BenchStack, user: string, password: string, corpus: Buffer[], clients: number, seconds: number, repeat: number): Promise<Timings> {
  const t: Timings = { byCommand: new Map(COMMANDS.map((c) => [c, []])), errors: 0, serverCpu: 0, clientCpu: 0 };
  const server0 = serverCpuOf(stack);
  const client0 = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, (_, i) => client(stack, user, password, corpus, 1000 * (repeat + 1) + i, until, t)));
  t.serverCpu = serverCpuOf(stack) - server0;
  const used = process.cpuUsage(client0);
  t.clientCpu = (used.user + used.system) / 1e6;
  return t;
}

/** What issue 18 changed on the IMAP paths these cases time (printed with the table, once). */
export function issue18Notes(ctx: BenchContext): void {
  if (ctx.notes.some((n) => n.startsWith('issue 18'))) return;
  ctx.notes.push(
    'issue 18: SQLite group commits no longer fsync on the event loop (synchronous = NORMAL for the batch, then the WAL fdatasync on the thread pool before any job is answered; concurrent batches share syncs)',
    'issue 18: APPEND fsyncs blob data and directory entry in parallel and parses meanwhile (3 sequential fsyncs → 2); the \\Recent claim skips the WAL sync',
    'issue 18: FETCH writes responses with in-memory literals in ~64 KiB chunks (was 3 TLS writes per message), reads whole blobs with one libuv callback, picks entries of a few UIDs by binary search',
    'issue 18: the write queue writes the next batch while the previous batch\'s WAL sync runs (answers still only after the sync covering each commit, in commit order); WAL checkpoints run in a worker thread once the WAL passes 2 MiB (no checkpoint fsyncs inside a commit on the event loop)',
    'issue 18: ENVELOPE text formatted once per cached message',
    'issue 18 (round 3): APPEND commits the index rows while the blob fsyncs run (answer after both; the blob listed in unsynced_blobs, boot recovery removes rows whose blob did not reach the disk); fsyncs run on sync threads of their own, not libuv\'s pool (FETCH\'s blob reads queued behind them: 15-20 ms per cached blob under mixed load); a FETCH of one or two messages reads them on the loop; \\Recent claims are decided in memory on a single node and written behind',
    'issue 18 (round 4): consecutive blobs share a shard folder (runs of 1,024: a folder\'s messages sit together on disk for cold reads); SORT/THREAD code fast before V8 optimizes it (one numeric key packed with positions and sorted natively, thread nodes of one shape, sibling order keys set once); FETCH text encoded once per ~64 KiB write',
    "issue 18 (round 5): FETCH of many bodies reads each batch of blob files on read threads of its own (plain system calls, one message to the event loop per batch instead of four fs callbacks and a new Buffer per message) into reused 1 MiB buffers, and gathers responses in two reused 128 KiB output buffers instead of Buffer.concat per write (fresh memory costs a page fault per 4 KiB on this VM, more than the copy); the read threads start at LOGIN",
    'issue 18 (round 8): the store keeps where the bytes of a message whose meta it read are (blob id, header prefix), so FETCH BODY[] after an ENVELOPE list looks no rows up (one or two messages read on the loop, batches lent without a reader-thread round trip); every SQLite reader thread starts at boot (the second used to boot inside the first cold FETCH of many bodies); a lent message larger than the room left in the output buffer goes through the reused buffers in pieces, not a fresh copy; an APPEND to the user\'s own folder skips the folder lookup before the store; new messages gather into search-index batches of up to 16 (200 ms at most) instead of a transaction per message',
    'issue 18 (round 8, second wave): the check for untagged updates after each command is answered from the folder index kept in memory (its MODSEQs and a log of recent expunges): one state read when nothing changed, none when another session already caught the index up to the change events heard, one journal read shared by the folder\'s sessions when something changed; the member store view binds each method once; FETCH builds responses that need no read synchronously (no promise per message) and formats each distinct flag list once',
    'issue 18 (round 9): the ENVELOPE text kept per message is one flat string (joined, not concatenated: each response built around a concatenated text flattened it again when written, about two thirds of a warm FETCH 1:* (FLAGS ENVELOPE)\'s CPU); SEARCH of SUBJECT/FROM/TO/CC/BCC with flag keys is evaluated by one test function per key made once per search instead of an entry object refilled and the whole key switch walked per message',
    'issue 18 (round 9, APPEND): the search indexer takes the bytes an APPEND already holds (up to 8 MiB waiting) instead of reading each new message back from the blob store, and the ingest\'s statements, pragmas and savepoints are compiled once per database handle (appliance CPU per APPEND 4.7-5.5 -> 3.7-4.2 ms in three pairs on a shared machine; system calls per APPEND 122 -> 89)',
    'issue 18 (round 10): a command\'s responses, the untagged updates it owes and its tagged reply leave in one socket write (the session corks its socket while the command runs; released after the tagged reply, before any wait on the client, and once the turn\'s queued work ran); UID SEARCH on flags alone answers from the folder\'s UID and flag columns without mapping UIDs to sequence numbers while the session\'s view is still the folder\'s own UID column; a large folder\'s sort-key copy follows its index copy (brought up to date in the background when the index writes its persisted copy), so a folder\'s first SORT/THREAD reads one row instead of building the copy on its answer path (first SORT of a fresh 1,200-message store 7.0-10.2 -> 2.4-3.7 ms CPU); a cold SELECT sums and checks UIDs in one pass',
    'issue 18 (round 10, APPEND): the APPEND that fills a 16-message search-index batch no longer extracts the batch\'s text before its answer (one message per turn after it); the batch is a background job of the write queue, run right after the next durable commit while its WAL sync runs (SQLite), its rows one insert; system calls per APPEND 95-98 -> 84 (WAL writes 41-43 -> 34), fsyncs unchanged',
    'issue 18 (round 11): a command that waited for its commit holds its output again, so STORE\'s and EXPUNGE\'s untagged responses leave with the tagged reply in one socket write (two before); EXPUNGE reads back only the rows whose flags may hold \\Deleted, not every row of the folder, inside its write transaction; a plain SEARCH or UID SEARCH on flags alone answers with numbers taken from the flag columns into one typed array joined natively (no object per match), and a view holding exactly the folder\'s UIDs maps entry i to message i + 1 after one byte comparison (no merge walk after FETCH swapped the narrow index for the full one)',
    'issue 18 (round 11, APPEND): the search index writes no batch while messages keep arriving (a batch waits for 200 ms without a new message, at most 10 s once its oldest message waited that long; SEARCH scans unindexed messages meanwhile), so the FTS5 insert (0.5-1 ms of the serving loop per message) no longer lands every 16th APPEND; the preview at ingest stops reading text once its 200 characters are known; the target folder is found by the update that takes its UID (one statement fewer); a small blob\'s file is closed by the sync thread after its fdatasync',
    'issue 18 (round 12): a cold SELECT makes three reads (the folder by name with its \\Recent mark, its state, the narrow index copy), each statement compiled once; the folder is watched before its columns are read, so no state is read after the answer; the first unseen message is found per flag list with a native indexOf; at start the server compiles those statements and runs the folder index on a made-up two-entry folder in memory (a warm-up of code that reads no data: first-run compilation was about 40% of a fresh process\'s first SELECT of 100,000 messages, 12.5 ms of CPU against 7.2 with every function compiled up front)',
    "issue 18 (round 12, FETCH and SEARCH): FETCH of FLAGS, UID and MODSEQ makes the prefix and the tens of a sequence number or UID once per ten numbers (about 30% less CPU per line of FETCH 1:* (FLAGS)); a sort-key copy lacking keys for an eighth or more of a folder is brought up from the folder's own rows, not from every message's row (after a fresh process's first SELECT of 1,200 messages the refresh read all of them from a cold disk ahead of the FETCH ENVELOPE, which still reads its own message rows cold); a SEARCH answer is written as bytes of the exact size, a flag-only search gathers hits in a scratch array kept between searches, and the general search and the ESEARCH answer are functions of their own (a fresh process's first SEARCH SUBJECT compiled both)",
    'issue 18 (round 13, SEARCH and FETCH FLAGS): SEARCH of SUBJECT/FROM/TO/CC/BCC with flag keys is decided key by key for all messages at once (SUBJECT: one native search of the subjects joined and lower-cased once, a match counted only inside one subject); FETCH (FLAGS) alone is written as bytes into two reused 64 KiB buffers, straight from the folder\'s columns when the session\'s view is the column itself (server CPU for 100,000 lines 132 -> 44 ms cold, 114 -> 33 warm); at start the server runs FETCH (FLAGS)\' line writer, SELECT\'s session-free code and SEARCH on made-up folders in memory (a warm-up of code that reads no data: a cold SEARCH SUBJECT\'s main-thread CPU 4.0 -> 3.1 ms, median of 8 alternating pairs)',
    'issue 18 (round 14, FETCH ENVELOPE and header SEARCH): a large folder keeps an envelope copy (folder_envelope_chunks, migration 0061) that FETCH ENVELOPE and SEARCH of SUBJECT/FROM/TO/CC/BCC both read: per message its ENVELOPE text, decoded Subject, address search texts and where its bytes are, in chunks by message id (never wrong, only incomplete: what it lacks is read from the rows); new messages go in from what the ingest held (no read) a second after deliveries stop, rows a command had to read two seconds after its answer. A fresh process reads a folder\'s chunks once, in one statement: FETCH 1:* (FLAGS ENVELOPE) of 1,200 read 2.7 MB instead of 12.4 and used 31-44 ms of main-thread CPU instead of 80-117 (alternating fresh processes, page cache dropped), and the SEARCH SUBJECT after it reads nothing',
    'issue 18 (round 14, FETCH BODY[] cold): a FETCH of many bodies asks its read threads for the batch the writer waits for first, then the ones ahead (the first batch waited behind the second on one thread: first batch ready 32 -> 17 ms, the main thread waiting on reads 59 -> 31 ms, means of 5 alternating cold pairs at load 14); the read threads\' 1 MiB buffers are made and touched at start, not by the first FETCH (page faults of a read 203-211 -> 2-4). During a cold FETCH of 1,000 (18.6 MB of messages) the disk\'s queue is 0.3-0.6 deep: on 2 cores the cost is CPU, about half of it a fresh process\'s compilation and garbage collection; 8 read threads or a batch split across threads cost more read-thread CPU and were not kept',
    'issue 18 (round 15, SORT): a SORT answer is written as bytes of the exact size (the old writer zeroed a 64 KiB buffer per answer and built a string), a plain SORT of the whole folder from a session that sees every message answers with the bytes kept for its order (at most 4 orders; a new or expunged message replaces the order and its answer), the sort-key columns are kept while the folder holds the same messages, and the answer writer is warmed up at start on a made-up folder: server CPU per SORT (REVERSE DATE) of 1,200, warm 0.85 -> 0.45 ms (mean of 200, load 12), cold 12.7 -> 8.4 ms (median of 8 alternating fresh processes, load 25)',
    'issue 18 (round 15, SEARCH BODY cold): which of the folder\'s messages the search index covers is read from the index itself for the message ids the session holds (SQLite; the plan used to read every entry row of the folder), and the indexer merges the FTS5 index\'s segments after its batches, in small non-durable steps while no message waits (13 segments after the 1,200 APPENDs, 1 after): a cold SEARCH BODY after the page-cache drop makes 90 reads instead of 173 (2.4 MB from disk instead of 3.3) and uses 20 ms of main-thread CPU instead of 28 (medians of 6 alternating fresh processes); the cold SEARCH SUBJECT had no background work of the store running beside it in traced runs: its swings are the server waiting for a CPU',
    'issue 18 (round 15, review): the start-up warm-ups share one made-up folder (mailstore/warm-up-folder.ts); the envelope copy\'s bookkeeping is a class of its own (EnvelopeCopies), and new messages of folders below UID 1,000 wait for it only while they keep coming less than 10 s apart (small folders\' deliveries kept up to 4,096 metas, about 8 MiB)',
  );
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);

/** Seeds the shared folder on both stacks (once per run). */
export async function imapMixedSetup(ctx: BenchContext): Promise<Samples> {
  const user = address(ctx, MIXED_USER);
  const corpus = variedMessages(Math.max(ctx.sizes.mixedSeed, 50), user).messages;
  for (const stack of [ctx.postern, ctx.reference] as BenchStack[]) {
    ctx.log(`imap-mixed: seeding ${ctx.sizes.mixedSeed} messages in ${stack.name}`);
    await seed(stack, user, ctx.password, corpus, ctx.sizes.mixedSeed);
  }
  return [];
}

export async function imapMixedCase(ctx: BenchContext, repeat: number): Promise<Samples> {
  const user = address(ctx, MIXED_USER);
  const corpus = variedMessages(50, user).messages;
  const { mixedClients: clients, mixedSeconds: seconds } = ctx.sizes;
  issue18Notes(ctx);
  const results: Partial<Record<BenchStack['name'], Timings>> = {};
  const order: BenchStack[] = repeat % 2 === 0 ? [ctx.postern, ctx.reference] : [ctx.reference, ctx.postern];
  for (const stack of order) {
    ctx.log(`imap-mixed: ${stack.name}, ${clients} clients for ${seconds} s`);
    results[stack.name] = await runMixed(stack, user, ctx.password, corpus, clients, seconds, repeat);
  }
  const p = results.postern!;
  const r = results.reference!;
  const out: Samples = [];
  for (const cmd of COMMANDS) {
    const a = p.byCommand.get(cmd)!;
    const b = r.byCommand.get(cmd)!;
    const key = cmd.toLowerCase();
    out.push(
      sample('imap-mixed', `imapMixed.${key}.avg`, `${cmd} average, ${clients} clients mixed`, 'ms', 'lower', avg(a), avg(b)),
      sample('imap-mixed', `imapMixed.${key}.p99`, `${cmd} p99, ${clients} clients mixed`, 'ms', 'lower', percentile(a, 99), percentile(b, 99)),
    );
  }
  const total = (t: Timings) => [...t.byCommand.values()].reduce((s, xs) => s + xs.length, 0);
  out.push(sample('imap-mixed', 'imapMixed.commands', `commands answered in ${seconds} s, ${clients} clients`, 'count', 'higher', total(p), total(r)));
  // CPU per command answered: what the closed loop's queueing is made of on 2 shared cores (no target).
  const perCommand = (cpu: number, t: Timings) => (1000 * cpu) / Math.max(1, total(t));
  out.push(
    sample('imap-mixed', 'imapMixed.cpuPerCommand', 'CPU per command: appliance process | Dovecot', 'ms', 'lower', perCommand(p.serverCpu, p), perCommand(r.serverCpu, r)),
    sample('imap-mixed', 'imapMixed.clientCpuPerCommand', 'CPU per command: the bench client (same TLS client for both)', 'ms', 'lower', perCommand(p.clientCpu, p), perCommand(r.clientCpu, r)),
  );
  ctx.notes.push(`imap-mixed: load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} after the run`);
  if (p.errors || r.errors) ctx.notes.push(`imap-mixed: NO/BAD replies (races on the shared folder) postern ${p.errors}, reference ${r.errors}`);
  return out;
}
