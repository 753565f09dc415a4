/**
 * Migration (issue 20): one source account in a private Dovecot (source-dovecot.ts: `migrationMessages`
 * varied messages, a few of about 2 MB, over five folders, nested ones included) is copied IMAP to
 * IMAP, over IMAPS on both ends:
 *   - Postern: a migration job through its API (`POST /api/v1/mailboxes/{id}/migrations`), timed
 *     from the POST until the job reports `done` (polled every 50 ms);
 *   - reference: `mbsync` (Debian `isync`, one channel, `Sync Pull`, `Create Near`) from the
 *     same source into the reference Dovecot, timed from spawn to exit.
 * Each repeat copies into a fresh, empty target mailbox (`migrate<r>`) on each side, and the
 * target's message count is checked afterwards (Postern: its index; Dovecot: the Maildir files).
 * Figures: messages per second and MB (2^20 bytes of source messages) per second.
 */
import { readdirSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { address, type BenchContext } from './context.js';
import { type Samples, sample } from './metrics.js';
import { SourceDovecot, SOURCE_FOLDERS, type SourceCorpus } from './source-dovecot.js';
import { runAsync, sleep } from './util.js';

const SOURCE_USER = 'source@old-provider.test';
const SOURCE_PASSWORD = 'Source-Passw0rd-2026';

let source: SourceDovecot | null = null;
let corpus: SourceCorpus | null = null;
let sourceCert = '';

export const migrationTarget = (repeat: number): string => `migrate${repeat + 1}`;

/** Starts the source Dovecot with its corpus (once per run). */
export async function migrationSetup(ctx: BenchContext, workDir: string, cert: { certFile: string; keyFile: string }): Promise<Samples> {
  ctx.log(`migration: writing ${ctx.sizes.migrationMessages} messages into the source Dovecot`);
  const started = await SourceDovecot.start({
    workDir,
    user: SOURCE_USER,
    password: SOURCE_PASSWORD,
    certFile: cert.certFile,
    keyFile: cert.keyFile,
    messages: ctx.sizes.migrationMessages,
  });
  source = started.source;
  sourceCert = cert.certFile;
  corpus = started.corpus;
  source.warmIndexes();
  ctx.log(`migration: source holds ${corpus.messages} messages, ${(corpus.bytes / 2 ** 20).toFixed(1)} MB in ${SOURCE_FOLDERS.length} folders`);
  return [];
}

export async function stopMigrationSource(): Promise<void> {
  await source?.stop();
  source = null;
}

/** Messages (files in cur/ and new/) under a Maildir++ root, every folder. */
function maildirCount(root: string): number {
  let n = 0;
  const walk = (dir: string) => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e);
      if (e === 'cur' || e === 'new') n += readdirSync(p).length;
      else if (e.startsWith('.') && statSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return n;
}

async function posternRun(ctx: BenchContext, target: string): Promise<number> {
  const src = source!;
  const mailboxId = ctx.postern.mailboxIds.get(target);
  if (!mailboxId) throw new Error(`Postern mailbox ${target} was not provisioned`);
  const before = ctx.postern.storedCount();
  const t0 = performance.now();
  const job = await ctx.postern.expectApi<{ id: string }>(
    'POST',
    `/api/v1/mailboxes/${mailboxId}/migrations`,
    { source: { host: '127.0.0.1', port: src.ports.imaps, tls: 'implicit', user: SOURCE_USER, password: SOURCE_PASSWORD } },
    201,
  );
  let state = 'queued';
  let last: { state: string; error?: unknown; progress?: { messages: number } } = { state };
  while (state === 'queued' || state === 'running') {
    await sleep(50);
    last = await ctx.postern.expectApi('GET', `/api/v1/migrations/${job.id}`, undefined, 200);
    state = last.state;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (state !== 'done') throw new Error(`Postern migration ended ${state}: ${JSON.stringify(last.error ?? last)}`);
  const copied = ctx.postern.storedCount() - before;
  if (copied !== corpus!.messages) throw new Error(`Postern migration stored ${copied} of ${corpus!.messages} messages`);
  return seconds;
}

async function mbsyncRun(ctx: BenchContext, workDir: string, target: string): Promise<number> {
  const src = source!;
  const dir = path.join(workDir, `mbsync-${target}`);
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  const conf = path.join(dir, 'mbsyncrc');
  writeFileSync(
    conf,
    `IMAPAccount source
Host 127.0.0.1
Port ${src.ports.imaps}
User ${SOURCE_USER}
Pass "${SOURCE_PASSWORD}"
SSLType IMAPS
CertificateFile ${sourceCert}

IMAPStore source
Account source

IMAPAccount target
Host 127.0.0.1
Port ${ctx.reference.imapsPort}
User ${address(ctx, target)}
Pass "${ctx.password}"
SSLType IMAPS
CertificateFile ${ctx.postern.certFile}

IMAPStore target
Account target

Channel migrate
Far :source:
Near :target:
Patterns *
Create Near
Sync Pull
Expunge None
CopyArrivalDate yes
SyncState ${dir}/state/
`,
    { mode: 0o600 },
  );
  const t0 = performance.now();
  const r = await runAsync('mbsync', ['-q', '-c', conf, '-a']);
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`mbsync exited ${r.status}: ${r.output.slice(0, 2000)}`);
  const copied = maildirCount(path.join(ctx.reference.dirs.mail, ctx.domain, target, 'Maildir'));
  if (copied !== corpus!.messages) throw new Error(`mbsync stored ${copied} of ${corpus!.messages} messages: ${r.output.slice(0, 2000)}`);
  return seconds;
}

export async function migrationCase(ctx: BenchContext, workDir: string, repeat: number): Promise<Samples> {
  if (!source || !corpus) throw new Error('migration source not started');
  const target = migrationTarget(repeat);
  const seconds: Record<'postern' | 'reference', number> = { postern: NaN, reference: NaN };
  const order = repeat % 2 === 0 ? (['postern', 'reference'] as const) : (['reference', 'postern'] as const);
  for (const side of order) {
    ctx.log(`migration: ${side === 'postern' ? 'Postern job' : 'mbsync'} into ${target}`);
    seconds[side] = side === 'postern' ? await posternRun(ctx, target) : await mbsyncRun(ctx, workDir, target);
  }
  const n = corpus.messages;
  const mb = corpus.bytes / 2 ** 20;
  const what = `${n} msgs, ${mb.toFixed(0)} MB, ${SOURCE_FOLDERS.length} folders`;
  return [
    sample('migration', 'migration.messages', `IMAP migration from Dovecot (${what})`, 'msg/s', 'higher', n / seconds.postern, n / seconds.reference),
    sample('migration', 'migration.bytes', `IMAP migration from Dovecot (${what})`, 'MB/s', 'higher', mb / seconds.postern, mb / seconds.reference),
  ];
}
