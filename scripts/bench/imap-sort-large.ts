/**
 * A large folder (issue 16: SORT and THREAD are "what webmails call on every page view"): one
 * mailbox with N messages (100,000 by default) in Postern and in a private Dovecot, compared
 * command by command over IMAPS: SELECT, FETCH 1:* (FLAGS), UID SEARCH by flag, SORT (REVERSE
 * DATE), SORT (SUBJECT), ESORT RETURN (PARTIAL 1:50) as a webmail page asks it, THREAD
 * REFERENCES and THREAD ORDEREDSUBJECT.
 *
 * The same corpus goes to both: Postern stores it through its ingest path (MULTIAPPEND batches,
 * as an import would), Dovecot gets the files written into its Maildir (the usual migration
 * path). Dovecot runs from the main bench's reference stack (reference-stack.ts, with its
 * Postfix). Before timing, each server sees the folder once (Dovecot builds its index and
 * cache files, as it would have done long before on a real server; Postern's index is built
 * at ingest). "Cold": a fresh server process (Postern: a new store and IMAP server on the same
 * data; Dovecot: restarted) and, when the kernel lets us, the page cache dropped; "warm": the
 * same commands again on a new connection to the same process.
 *
 *   node dist/scripts/bench/imap-sort-large.js [--messages 100000] [--no-reference] [--data DIR]
 *
 * `--data DIR` keeps Postern's data in DIR and reuses a folder stored there by an earlier run
 * (for profiling: `node --cpu-prof` on this script with `--no-reference`; the Postern child inherits
 * the flags and writes a profile of its own).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../appliance/config.js';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { hashPassword } from '../../appliance/core/access/passwords.js';
import { openSqlite } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { startImapServer } from '../../appliance/imap/server.js';
import { createLogger } from '../../appliance/logger.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { dropCaches } from './case-imap.js';
import { ImapClient } from './imap-client.js';
import { ReferenceStack } from './reference-stack.js';
import { freePorts, run } from './util.js';

const WORDS = ['budget', 'lunch', 'release', 'invoice', 'meeting', 'report', 'party', 'travel', 'review', 'plan', 'draft', 'update'];
const DOMAIN = 'sort.bench';
const LOCAL = 'bench';
const USER = `${LOCAL}@${DOMAIN}`;
const PASSWORD = 'sort bench password';

function message(i: number): Buffer {
  // Threads of up to 8 messages: every 8th starts one, the others reply to the previous one.
  const root = i - (i % 8);
  const subject = `${i % 8 ? 'Re: ' : ''}${WORDS[root % WORDS.length]} ${Math.floor(root / 8)}`;
  const refs = i % 8 ? `References: ${Array.from({ length: i % 8 }, (_, k) => `<m${root + k}@bench>`).join(' ')}\r\nIn-Reply-To: <m${i - 1}@bench>\r\n` : '';
  const date = new Date(Date.UTC(2024, 0, 1) + ((i * 7919) % 100_000) * 60_000).toUTCString().replace('GMT', '+0000');
  return Buffer.from(
    `From: "Sender ${i % 97}" <s${i % 97}@example.org>\r\nTo: ${USER}\r\nSubject: ${subject}\r\nDate: ${date}\r\nMessage-ID: <m${i}@bench>\r\n${refs}\r\nbody ${i}\r\n`,
  );
}

/** Every third message seen, every tenth flagged (the same on both servers). */
const flagsOf = (i: number): string[] => [...(i % 3 === 0 ? ['\\Seen'] : []), ...(i % 10 === 0 ? ['\\Flagged'] : [])];

const COMMANDS: Array<[label: string, command: string]> = [
  ['SELECT INBOX', 'SELECT INBOX'],
  ['FETCH 1:* (FLAGS)', 'FETCH 1:* (FLAGS)'],
  ['UID SEARCH FLAGGED', 'UID SEARCH FLAGGED'],
  ['SORT (REVERSE DATE) ALL', 'SORT (REVERSE DATE) UTF-8 ALL'],
  ['SORT (SUBJECT) ALL', 'SORT (SUBJECT) UTF-8 ALL'],
  ['SORT RETURN (PARTIAL 1:50) (REVERSE DATE)', 'SORT RETURN (PARTIAL 1:50) (REVERSE DATE) UTF-8 ALL'],
  ['THREAD REFERENCES ALL', 'THREAD REFERENCES UTF-8 ALL'],
  ['THREAD ORDEREDSUBJECT ALL', 'THREAD ORDEREDSUBJECT UTF-8 ALL'],
];

type Pass = Map<string, { ms: number; status: string; size: number }>;

/** One connection running every command once; `size` counts the numbers answered (a cross-check). */
async function pass(port: number): Promise<Pass> {
  const c = await ImapClient.connect(port, 600_000);
  await c.login(USER, PASSWORD);
  const out: Pass = new Map();
  for (const [label, cmd] of COMMANDS) {
    const t = performance.now();
    const r = await c.command(cmd, { keep: !cmd.startsWith('FETCH') });
    const ms = performance.now() - t;
    const size = cmd.startsWith('FETCH') ? r.fetches : r.lines.reduce((n, l) => n + (l.match(/\d+/g)?.length ?? 0), 0);
    out.set(label, { ms, status: r.status, size });
  }
  await c.logout();
  return out;
}

interface PosternSide {
  port: number;
  stop(): Promise<void>;
}

/**
 * Postern in a process of its own, as Dovecot is (issue 18): run in this one, the server shared
 * the bench client's event loop and heap, and the client's parsing of 100,000 responses (about
 * half of a FETCH 1:* here, and its garbage) counted as Postern's time. The child opens the store
 * on the data dir and starts the IMAP server (a fresh process's state), then prints its port.
 */
async function startPostern(dir: string): Promise<PosternSide> {
  const child = spawn(process.execPath, [...process.execArgv, __filename, '--serve', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the Postern child exited (${code}) before listening`)));
  });
  return {
    port,
    async stop() {
      child.stdin.end(); // the child stops its server and store, then exits
      await exited;
    },
  };
}

/** The child's side of startPostern: serves until its stdin closes. */
async function servePostern(dir: string): Promise<void> {
  const side = await openPostern(dir);
  process.stdout.write(`port ${side.port}\n`);
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('end', () => resolve()));
  await side.stop();
  process.exit(0);
}

/** Opens the store on the data dir and starts the IMAP server in this process. */
async function openPostern(dir: string): Promise<PosternSide> {
  const config = loadConfig({ POSTERN_DATA_DIR: dir, POSTERN_LOG_LEVEL: 'silent' });
  const logger = createLogger('silent', { pretty: false });
  const { db, close } = openSqlite(path.join(dir, 'postern.db'));
  const blobs = await FileBlobStore.open(path.join(dir, 'blobs'));
  const store = new SqlMailStore({ db, blobs, maxMessageBytes: config.maxMessageBytes });
  const cfg = Object.freeze({ ...config, ports: { ...config.ports, imap: 0, imaps: 0 } });
  const server = await startImapServer({
    config: cfg,
    logger,
    store,
    credentials: new CredentialService(db, logger),
    tls: { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') },
  });
  return {
    port: server.ports.imaps,
    async stop() {
      await server.close();
      await store.queue.drain();
      await close();
    },
  };
}

async function loadPostern(dir: string, n: number): Promise<void> {
  const config = loadConfig({ POSTERN_DATA_DIR: dir, POSTERN_LOG_LEVEL: 'silent' });
  const { db, close } = openSqlite(path.join(dir, 'postern.db'));
  await migrateToLatest(db);
  const blobs = await FileBlobStore.open(path.join(dir, 'blobs'));
  const store = new SqlMailStore({ db, blobs, maxMessageBytes: config.maxMessageBytes });
  await store.provisionStandaloneMailbox({ tenantId: 'tnt_bench', domainId: 'dom_bench', domain: DOMAIN, mailboxId: 'mbx_bench', localPart: LOCAL, passwordHash: await hashPassword(PASSWORD), quotaBytes: 1e12 });
  const t0 = performance.now();
  // Batches in parallel: their blob writes (each fsynced) overlap; the write queue commits them together.
  const BATCH = 250;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const from = next;
      next = Math.min(n, next + BATCH);
      const items = [];
      for (let k = from; k < next; k++) items.push({ raw: message(k), flags: flagsOf(k) });
      await store.appendMany('mbx_bench', 'INBOX', items);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  console.log(`postern: stored ${n} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s (MULTIAPPEND batches of ${BATCH}, 8 at a time)`);
  await store.queue.drain();
  await close();
}

/** Writes the corpus into the Dovecot user's Maildir (cur/, flags in the names). */
function loadMaildir(ref: ReferenceStack, n: number): void {
  const t0 = performance.now();
  const base = path.join(ref.dirs.mail, DOMAIN, LOCAL, 'Maildir');
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(base, sub), { recursive: true });
  const letters = (i: number) => [i % 10 === 0 ? 'F' : '', i % 3 === 0 ? 'S' : ''].join('');
  for (let i = 0; i < n; i++) writeFileSync(path.join(base, 'cur', `${1_700_000_000 + i}.M${i}P1.sortbench:2,${letters(i)}`), message(i));
  run('chown', ['-R', 'nobody:nogroup', path.join(ref.dirs.mail, DOMAIN)]);
  console.log(`dovecot: wrote ${n} Maildir files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? 'n/a' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

function report(results: Record<string, { cold: Pass; warm: Pass } | undefined>): void {
  const p = results.postern!;
  const d = results.dovecot;
  console.log(`\n${'command'.padEnd(42)} ${'Postern cold'.padStart(12)} ${'Dovecot cold'.padStart(12)} ${'ratio'.padStart(6)}   ${'Postern warm'.padStart(12)} ${'Dovecot warm'.padStart(12)} ${'ratio'.padStart(6)}   (ms; ratio = Postern / Dovecot)`);
  for (const [label] of COMMANDS) {
    const cells: string[] = [];
    for (const temp of ['cold', 'warm'] as const) {
      const a = p[temp].get(label);
      const b = d?.[temp].get(label);
      const ok = (x: typeof a) => x && x.status === 'OK';
      cells.push(fmt(ok(a) ? a!.ms : undefined).padStart(12), fmt(ok(b) ? b!.ms : undefined).padStart(12), (ok(a) && ok(b) ? (a!.ms / b!.ms).toFixed(2) : 'n/a').padStart(6));
    }
    console.log(`${label.padEnd(42)} ${cells.slice(0, 3).join(' ')}   ${cells.slice(3).join(' ')}`);
    const a = p.warm.get(label);
    const b = d?.warm.get(label);
    if (/^(SORT|THREAD|UID SEARCH)/.test(label) && a && b && a.status === 'OK' && b.status === 'OK' && a.size !== b.size) console.log(`  note: answers differ in size (Postern ${a.size} numbers, Dovecot ${b.size})`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--serve') return servePostern(argv[1]!);
  const at = argv.indexOf('--messages');
  const n = at >= 0 ? Number(argv[at + 1]) : 100_000;
  const withReference = !argv.includes('--no-reference');
  if (!Number.isInteger(n) || n < 1) throw new Error('--messages takes a positive whole number');
  const dataAt = argv.indexOf('--data');
  const keep = dataAt >= 0 ? argv[dataAt + 1] : undefined;
  if (keep !== undefined) mkdirSync(keep, { recursive: true });
  const dir = keep ?? mkdtempSync(path.join(tmpdir(), 'postern-sortbench-'));
  const reuse = keep !== undefined && existsSync(path.join(dir, 'postern.db'));
  chmodSync(dir, 0o755);
  let ref: ReferenceStack | null = null;
  const results: Record<string, { cold: Pass; warm: Pass } | undefined> = {};
  try {
    if (!reuse) {
      spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${DOMAIN}`, '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
      await loadPostern(dir, n);
    } else {
      // A folder stored by an earlier build: its database gets this build's migrations.
      const { db, close } = openSqlite(path.join(dir, 'postern.db'));
      await migrateToLatest(db);
      await close();
      console.log(`postern: reusing the folder stored in ${dir}`);
    }
    if (withReference) {
      const [smarthost] = await freePorts(1);
      ref = await ReferenceStack.start({ workDir: path.join(dir, 'reference'), domain: DOMAIN, localParts: [LOCAL], password: PASSWORD, certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem'), smarthostPort: smarthost! });
      loadMaildir(ref, n);
      // Dovecot's first look at the new Maildir builds its index and cache files (done once, untimed).
      const t0 = performance.now();
      await pass(ref.imapsPort);
      await pass(ref.imapsPort);
      console.log(`dovecot: first look at the folder (index and cache built, untimed in the table) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    let dropped = true;
    const postern = await startPostern(dir);
    await pass(postern.port); // the folder once, as for Dovecot
    await postern.stop();
    const fresh = await startPostern(dir);
    dropped = dropCaches() && dropped;
    results.postern = { cold: await pass(fresh.port), warm: await pass(fresh.port) };
    await fresh.stop();
    if (ref) {
      await ref.restart();
      dropped = dropCaches() && dropped;
      results.dovecot = { cold: await pass(ref.imapsPort), warm: await pass(ref.imapsPort) };
    }
    console.log(`\n${n} messages in one folder; cold = fresh server process${dropped ? ' and page cache dropped' : ' (page cache could not be dropped)'}; load average at the end ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    report(results);
    console.log(
      '\nnote (issue 18): Postern keeps a compact copy of a large folder\'s entries (folder_index_snapshots, as of one MODSEQ): a cold SELECT reads that row and the change journal since, not every entry row; FETCH 1:* resolves ranges without a per-number set.',
    );
    console.log(
      'note (issue 18, third round): a large folder\'s sort keys have a compact copy too (folder_sort_keys, by message id, each distinct string once): the first SORT/THREAD of a fresh process reads one row instead of every entry row\'s JSON keys; SORT by DATE/ARRIVAL/SIZE ranks the keys and sorts natively (no JavaScript comparator per comparison); flag searches run in one pass without per-message arrays.',
    );
    console.log(
      "note (issue 18, fourth round): the folder index is kept as typed-array columns (UIDs, MODSEQs, dates, sizes, one flag-list number each): the persisted copy loads as a buffer, SELECT, FETCH (FLAGS) and flag searches walk arrays and format each distinct flag list once, and no object is made per message.",
    );
    console.log(
      'note (issue 18, fifth round): SORT orders and THREAD trees are kept per folder while no message is added or removed (an append or expunge updates a kept order by one merge walk and a binary search per new message), a search result filters the kept order; string keys are ranked (only distinct values compared) and sorted natively; answers are written as bytes, not a string per number; the sort-key copy stores each column as narrow as its values (6.0 MB instead of 8.3 for this folder).',
    );
    console.log(
      'note (issue 18, sixth round): a folder keeps its entry count (folders.message_count, kept by the statements that add or remove entries), so a fresh process checks its index copy against one row instead of count(*) over the folder; the copy stores each column as differences between neighbours, as narrow as they allow (1.0 MB instead of 4.8 for this folder).',
    );
    console.log(
      'note (issue 18, seventh round): a large folder has a narrow index copy as well (folder_index_heads: UIDs, MODSEQs and flag lists, 0.3 MB for this folder, written with the full copy): SELECT, FETCH (FLAGS) and flag searches of a fresh process read only it, the full copy waits for a command that needs dates, sizes or message ids (SORT, THREAD); a session\'s sequence view borrows the folder\'s UID column instead of copying it (most of a warm SELECT).',
    );
    console.log(
      'note (issue 18, eighth round): SORT by one key (DATE, SUBJECT, FROM, TO, CC, DISPLAYFROM, DISPLAYTO) and THREAD REFERENCES / ORDEREDSUBJECT of a large folder read their keys from the sort-key copy as columns (dates, string ranks, Message-ID and reference codes in typed arrays), without a sort row or key object per message; sort rows, where still needed, are built from the index columns instead of entry objects.',
    );
    console.log(
      "note (issue 18, ninth round): a THREAD tree is kept in typed arrays (parent, linked children and sibling keys per node number) instead of an object per message and per missing parent; the sort-key copy's table leads with the sort fields' strings in code-unit order (version 3), so SORT by a string key and THREAD of a fresh process read no string of it and rank none, and keys in a range about the folder's size are ordered by counting; SELECT walks the folder for FLAGS only when a flag list holds a keyword not known yet.",
    );
    console.log(
      "note (issue 18, tenth and eleventh rounds): the sort-key copy is refreshed in the background when the folder index writes its persisted copy; the narrow index copy (folder_index_heads, version 2) stores UIDs and flag-list numbers as they are, so a fresh process's SELECT reads them through views of the stored bytes instead of decoding every entry in code V8 has not compiled yet; MODSEQs are worked out when a command first reads them (a flag-only SEARCH reads none) and a CRC-32 replaces the per-entry checks (0.6 MB for 100,000 messages, 0.3 before; version 1 copies are written again on first use); a plain SEARCH on flags alone answers from the flag columns into one typed array joined natively",
    );
    console.log(
      "note (issue 18, twelfth round): a cold SELECT makes three reads, each statement compiled once (the \\Recent mark comes with the folder row; the folder is watched before its columns are read, so no state read follows the answer) and the first unseen message is found per flag list natively; the server compiles those statements and runs the folder index on a made-up two-entry folder in memory at start (a warm-up of code, reading no data); FETCH 1:* (FLAGS) makes the prefix and tens of each sequence number once per ten lines; a flag-only UID SEARCH gathers its hits in a scratch array kept between searches and writes the answer as bytes",
    );
    console.log(
      "note (issue 18, thirteenth round): FETCH 1:* (FLAGS) is written as bytes into two reused 64 KiB buffers, straight from the folder's columns when the session's view is the column itself (sequence number = position + 1, no per-message array or string): server CPU for 100,000 lines 132 -> 44 ms cold and 114 -> 33 ms warm (medians of 4 alternating runs); the server warms FETCH (FLAGS)' line writer and SELECT's session-free code at start on made-up data. A cold SELECT is now mostly reads of the 0.6 MB narrow index copy after the page-cache drop (149 reads of 4 KB), not code compilation",
    );
    console.log(
      "note (issue 18, fourteenth round): the narrow index copy (version 3) stores a folder's UIDs as runs of consecutive values when they make few (0.2 MB instead of 0.6 for this folder): after the page-cache drop a cold SELECT was SQLite reading the copy's overflow pages one after another while the kernel's read-ahead ramped up (150 reads, 2.0 MB from the disk), and a copy rewritten in place gets freed pages in descending order, where read-ahead never starts; now 52 reads and 0.2 MB (main-thread CPU 8.6 -> 7.3 ms, medians of 5 alternating fresh processes). The loop that fills the UID column from the runs and the flag-only search are warmed up at start on made-up folders, so a fresh process's first UID SEARCH FLAGGED no longer runs in the interpreter (main-thread CPU cold 7.0 -> 4.4 ms, warm 3.1 -> 2.5)",
    );
    console.log(
      "note (issue 18, fifteenth round): the narrow index copy (version 4) packs flag-list numbers into 1, 2 or 4 bits when a folder has at most 16 lists and stores MODSEQs that rise one by one along the UIDs as runs (this folder's copy 200 KB -> 25 KB: a cold SELECT after the page-cache drop makes 9 reads of 4 KB instead of 51; its CPU, mostly decoding into 100,000-entry arrays, did not move); FETCH 1:* of flags alone answers from the session's view without an array of every UID (server CPU of a warm FETCH 1:* (FLAGS) 19 -> 11 ms on the main thread, 35 -> 11 ms over all threads, medians of 6 alternating fresh processes)",
    );
  } finally {
    await ref?.stop().catch(() => undefined);
    if (keep === undefined) spawnSync('rm', ['-rf', dir]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
