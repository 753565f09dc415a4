/**
 * `npm run bench`: Postern side by side with a private Postfix → Dovecot stack, in the same run,
 * on loopback (issue 9). Prints a table and writes bench/results/<timestamp>.json.
 *
 *   node dist/scripts/bench/run.js [--smoke] [--repeats N] [--only inbound,imap,imap-mixed,submission,memory,control,spam,imap-large,migration]
 *                                  [--out DIR] [--note TEXT] [--keep]
 *
 * The `imap-mixed` case (issue 18, case-imap-mixed.ts) runs 10 clients × mixed commands on one
 * shared folder for 30 s per stack (2 s in --smoke) and reports per-command latency.
 * The `migration` case (issue 20, case-migration.ts) copies a private Dovecot's account into
 * Postern with a migration job and into the reference Dovecot with mbsync.
 * --smoke runs tiny sizes once (the test suite does, so the harness does not rot); --keep leaves
 * the work dir (configs, logs, data) in place for inspection. The `spam` case (inbound with
 * rspamd on both sides, issue 15) runs by default too: it starts its own pair of stacks with
 * their scanners (about 20 s of a smoke run on 2 cores); `--only` without spam leaves it out.
 * The `imap-large` case (a 100,000-message folder against Dovecot, issue 16; imap-sort-large.ts,
 * about 5 minutes) runs by default in full mode, after the others, with its own stacks; not in
 * --smoke (the test suite), where `--only imap-large` runs it on 2,000 messages.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controlCase } from './case-control.js';
import { imapCase, imapSetup } from './case-imap.js';
import { MIXED_USER, imapMixedCase, imapMixedSetup } from './case-imap-mixed.js';
import { inboundCase } from './case-inbound.js';
import { memoryCase } from './case-memory.js';
import { migrationCase, migrationSetup, migrationTarget, stopMigrationSource } from './case-migration.js';
import { sourceCertificate } from './source-dovecot.js';
import { submissionCase } from './case-submission.js';
import { spamCase } from './case-spam.js';
import type { BenchContext } from './context.js';
import { startDnsStub, type DnsStub } from './dns-stub.js';
import { ensurePackages, referenceVersions } from './install.js';
import type { Sample } from './metrics.js';
import { PosternStack } from './postern-stack.js';
import { ReferenceStack } from './reference-stack.js';
import { aggregate, table, writeResults } from './report.js';
import { SmtpSink } from './sink.js';
import { FULL, SMOKE, type Sizes } from './sizes.js';
import { raiseFdLimit, run } from './util.js';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CASES = ['inbound', 'imap', 'imap-mixed', 'submission', 'memory', 'control', 'spam', 'imap-large', 'migration'] as const;
/** What runs without --only: every case (in smoke mode too, the spam case's harness is tested there), but the large folder only in full mode. */
const defaultCases = (sizes: Sizes): CaseName[] => CASES.filter((c) => c !== 'imap-large' || sizes.mode !== 'smoke');
type CaseName = (typeof CASES)[number];

interface Args {
  sizes: Sizes;
  only: Set<CaseName>;
  out: string;
  notes: string[];
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  let sizes: Sizes = { ...FULL };
  let repeats: number | null = null;
  let only: Set<CaseName> | null = null;
  let out = path.join(ROOT, 'bench', 'results');
  const notes: string[] = [];
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--smoke') sizes = { ...SMOKE };
    else if (a === '--repeats') repeats = Number(value());
    else if (a === '--only') only = new Set(value().split(',').map((s) => s.trim()) as CaseName[]);
    else if (a === '--out') out = path.resolve(value());
    else if (a === '--note') notes.push(value());
    else if (a === '--keep') keep = true;
    else throw new Error(`unknown argument ${a} (see the header of scripts/bench/run.ts)`);
  }
  only ??= new Set<CaseName>(defaultCases(sizes));
  for (const c of only) if (!CASES.includes(c)) throw new Error(`unknown case ${c}: one of ${CASES.join(', ')}`);
  if (repeats !== null) {
    if (!Number.isInteger(repeats) || repeats < 1) throw new Error('--repeats takes a positive whole number');
    sizes.repeats = repeats;
  }
  return { sizes, only, out, notes, keep };
}

function gitCommit(): string {
  return run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { allowFail: true }).stdout.trim() || 'unknown';
}

function harakaVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'Haraka', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const { sizes } = args;
  const startedAt = new Date();
  const t0 = Date.now();
  const log = (msg: string) => process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
  log(`mode ${sizes.mode}, ${sizes.repeats} repeat(s), cases ${[...args.only].join(', ')}`);

  ensurePackages(log, { spam: args.only.has('spam') });
  // the memory case holds `idleConnections` sockets in this process and as many in the appliance (which inherits the limit)
  if (args.only.has('memory')) raiseFdLimit(sizes.idleConnections + 4096, log);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'postern-bench-'));
  chmodSync(workDir, 0o755); // Dovecot's mail user (nobody) walks through it to the Maildirs
  let dns: DnsStub | null = null;
  let sink: SmtpSink | null = null;
  let postern: PosternStack | null = null;
  let reference: ReferenceStack | null = null;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.allSettled([postern?.stop(), reference?.stop(), stopMigrationSource()]);
    await Promise.allSettled([sink?.stop(), dns?.close()]);
    if (!args.keep) rmSync(workDir, { recursive: true, force: true });
    else log(`work dir kept: ${workDir}`);
  };
  // bounded: whatever happens, everything stops by itself
  const watchdog = setTimeout(() => {
    log(`deadline of ${sizes.deadlineMs / 60_000} min passed: stopping`);
    void cleanup().finally(() => process.exit(3));
  }, sizes.deadlineMs);
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const samples: Sample[] = [];
  const errors: string[] = [];
  const notes = [...args.notes];
  const load: { start: number[]; end?: number[] } = { start: os.loadavg() };
  try {
    const domain = 'bench.test';
    const password = 'Bench-Passw0rd-2026!';
    const localParts = Array.from({ length: sizes.mailboxes }, (_, i) => `box${i + 1}`);
    const imapUser = 'imapbench';
    // the shared folder of the concurrent mixed IMAP case (issue 18)
    const mixedUsers = args.only.has('imap-mixed') ? [MIXED_USER] : [];
    // one empty target per repeat for the migration case (issue 20), on both sides
    const migrationTargets = args.only.has('migration') ? Array.from({ length: sizes.repeats }, (_, r) => migrationTarget(r)) : [];
    dns = await startDnsStub();
    sink = await SmtpSink.start(path.join(workDir, 'sink'));
    log('starting Postern');
    // the migration source's certificate, trusted by Postern from its start
    const sourceCert = args.only.has('migration') ? sourceCertificate(path.join(workDir, 'migration-source')) : null;
    postern = await PosternStack.start({
      dataDir: path.join(workDir, 'postern-data'),
      domain,
      dnsResolver: dns.address,
      smarthostPort: sink.port,
      ...(sourceCert ? { env: { NODE_EXTRA_CA_CERTS: sourceCert.certFile } } : {}),
    });
    log(`provisioning ${localParts.length + 1} mailboxes in Postern`);
    await postern.provision([...localParts, imapUser, ...mixedUsers, ...migrationTargets], password);
    log('starting Postfix + Dovecot');
    reference = await ReferenceStack.start({
      workDir: path.join(workDir, 'reference'),
      domain,
      localParts: [...localParts, imapUser, ...mixedUsers, ...migrationTargets],
      password,
      certFile: postern.certFile,
      keyFile: postern.keyFile,
      smarthostPort: sink.port,
    });
    const ctx: BenchContext = { sizes, domain, password, localParts, imapUser, postern, reference, sink, log, notes };

    const attempt = async (name: string, fn: () => Promise<Sample[]>) => {
      try {
        samples.push(...(await fn()));
      } catch (err) {
        const msg = `${name}: ${(err as Error).stack ?? String(err)}`;
        log(`FAILED ${msg}`);
        errors.push(msg);
      }
    };
    if (args.only.has('imap')) await attempt('imap setup', () => imapSetup(ctx));
    if (args.only.has('imap-mixed')) await attempt('imap-mixed setup', () => imapMixedSetup(ctx));
    if (args.only.has('migration')) await attempt('migration setup', () => migrationSetup(ctx, path.join(workDir, 'migration-source'), sourceCert!));
    for (let r = 0; r < sizes.repeats; r++) {
      log(`repeat ${r + 1} of ${sizes.repeats}`);
      if (args.only.has('inbound')) await attempt('inbound', () => inboundCase(ctx, r));
      if (args.only.has('imap')) await attempt('imap', () => imapCase(ctx, r));
      if (args.only.has('imap-mixed')) await attempt('imap-mixed', () => imapMixedCase(ctx, r));
      if (args.only.has('submission')) await attempt('submission', () => submissionCase(ctx, r));
      if (args.only.has('memory')) await attempt('memory', () => memoryCase(ctx, r));
      if (args.only.has('control')) await attempt('control', () => controlCase(ctx));
      if (args.only.has('spam')) await attempt('spam', () => spamCase(ctx, r, dns!.address));
      if (args.only.has('migration')) await attempt('migration', () => migrationCase(ctx, workDir, r));
    }
    if (args.only.has('migration')) notes.push('migration: the reference column is mbsync (isync) copying the same source into the reference Dovecot, IMAPS on both ends');
  } catch (err) {
    errors.push(`setup: ${(err as Error).stack ?? String(err)}`);
    log(`FAILED setup: ${(err as Error).message}`);
  } finally {
    load.end = os.loadavg();
    await cleanup();
    clearTimeout(watchdog);
  }

  const rows = aggregate(samples);
  const ref = referenceVersions();
  const cpus = os.cpus();
  const record = {
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - t0) / 1000),
    mode: sizes.mode,
    repeats: sizes.repeats,
    sizes,
    machine: { cores: cpus.length, cpu: cpus[0]?.model ?? 'unknown', memoryMiB: Math.round(os.totalmem() / 2 ** 20), kernel: os.release(), loadavg: load },
    versions: { node: process.version, postern: `${postern?.version() ?? 'unknown'} (${gitCommit()})`, haraka: harakaVersion(), postfix: ref.postfix, dovecot: ref.dovecot, ...(args.only.has('spam') ? { rspamd: ref.rspamd } : {}) },
    notes,
    errors,
    rows,
  };
  const file = writeResults(args.out, record, startedAt);
  const v = record.versions;
  process.stdout.write(
    `\nPostern benchmark (${sizes.mode}) — ${startedAt.toISOString()}, ${record.machine.cores} cores (${record.machine.cpu}), ` +
      `load ${load.start.map((x) => x.toFixed(2)).join('/')} → ${(load.end ?? []).map((x) => x.toFixed(2)).join('/')}\n` +
      `node ${v.node}, postern ${v.postern}, haraka ${v.haraka}, postfix ${v.postfix}, dovecot ${v.dovecot}${'rspamd' in v ? `, rspamd ${v.rspamd}` : ''}; medians of ${sizes.repeats} repeat(s)\n\n` +
      `${table(rows)}\n\n` +
      notes.map((n) => `note: ${n}\n`).join('') +
      errors.map((e) => `error: ${e.split('\n')[0]}\n`).join('') +
      `results: ${path.relative(process.cwd(), file) || file}\n`,
  );
  let large = 0;
  if (args.only.has('imap-large')) {
    // Its own stacks and its own table (SELECT, FETCH, SEARCH, SORT, THREAD on one large folder, cold and warm).
    const messages = sizes.mode === 'smoke' ? 2000 : 100_000;
    process.stdout.write(`\nLarge folder (${messages} messages), Postern vs Dovecot:\n`);
    large = spawnSync(process.execPath, [path.join(__dirname, 'imap-sort-large.js'), '--messages', String(messages)], { stdio: 'inherit' }).status ?? 1;
  }
  return errors.length || large ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
