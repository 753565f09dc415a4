/**
 * `postern import start|status|run|cancel` (issue 20): IMAP migration jobs from the command line.
 * The source password (or OAuth2 access token) is never a command-line argument (process lists
 * show those): it comes from POSTERN_IMPORT_PASSWORD / POSTERN_IMPORT_ACCESS_TOKEN or a file.
 * `--wait` follows the job and prints its progress until it ends.
 */
import { readFileSync } from 'node:fs';
import type { Static } from 'typebox';
import type { Migration as MigrationSchema } from '../../control/schemas/migrations.schemas.js';
import type { Group } from './command.js';
import { call, type Ctx, UsageError } from './context.js';
import { bytes, emit, fields, table, when } from './output.js';
import { findMailbox } from './resolve.js';

/** The API's answer (control/schemas: the one contract). */
type Migration = Static<typeof MigrationSchema>;

const q = encodeURIComponent;
const ENDED = new Set(['done', 'failed', 'cancelled', 'interrupted']);

/** The source credential from a file or the environment; null when none is given. */
function credential(opts: Record<string, string | boolean | undefined>): { password?: string; accessToken?: string } | null {
  const file = opts['password-file'];
  if (typeof file === 'string') return { password: readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
  const token = opts['token-file'];
  if (typeof token === 'string') return { accessToken: readFileSync(token, 'utf8').trim() };
  if (process.env.POSTERN_IMPORT_ACCESS_TOKEN) return { accessToken: process.env.POSTERN_IMPORT_ACCESS_TOKEN };
  if (process.env.POSTERN_IMPORT_PASSWORD) return { password: process.env.POSTERN_IMPORT_PASSWORD };
  return null;
}

function percent(done: number, total: number): string {
  return total > 0 ? `${Math.floor((100 * done) / total)}%` : '—';
}

/** One progress line: state, messages, bytes, the folder being copied. */
export function progressLine(m: Migration): string {
  const p = m.progress;
  const current = p.folders.find((f) => !f.done && f.total > 0);
  const where = current && m.state === 'running' ? ` — ${current.source} ${current.copied}/${current.total}` : '';
  return `${m.mailbox.address}: ${m.state} ${p.messages}/${p.totalMessages} messages (${percent(p.messages, p.totalMessages)}), ${bytes(p.bytes)} of ${bytes(p.totalBytes)}${where}`;
}

function show(ctx: Ctx, m: Migration): void {
  emit(ctx, m, () => {
    fields(ctx, [
      ['job', m.id],
      ['mailbox', m.mailbox.address],
      ['source', `${m.source.user} at ${m.source.host}:${m.source.port} (${m.source.tls}, ${m.source.auth})`],
      ['state', m.state],
      ['progress', progressLine(m)],
      ['runs', m.runs],
      [
        'last run',
        m.report ? `copied ${m.report.copied} (${bytes(m.report.bytes)}), ${m.report.deduplicated} already present, ${m.report.skipped.length} skipped, ${m.report.reconnects} reconnects` : null,
      ],
      ['error', m.error],
      ['credential held', m.credentialsHeld ? 'yes (sealed)' : 'no (wiped)'],
      ['started', when(m.startedAt)],
      ['finished', when(m.finishedAt)],
    ]);
    ctx.out('');
    table(
      ctx,
      m.progress.folders.map((f) => ({ source: f.source, target: f.target, copied: `${f.copied}/${f.total}`, size: `${bytes(f.bytes)}/${bytes(f.totalBytes)}`, done: f.done ? 'yes' : 'no' })),
      [
        ['source', 'source folder'],
        ['target', 'our folder'],
        ['copied', 'messages'],
        ['size', 'bytes'],
        ['done', 'done'],
      ],
    );
  });
}

/** Polls the job until it ends, printing a line whenever its progress changes; exit 0 only when done. */
async function follow(ctx: Ctx, id: string): Promise<number> {
  let last = '';
  for (;;) {
    const m = await call<Migration>(ctx, 'GET', `/migrations/${q(id)}`);
    const line = progressLine(m);
    if (line !== last && !ctx.json) ctx.out(line);
    last = line;
    if (ENDED.has(m.state)) {
      show(ctx, m);
      return m.state === 'done' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export const importGroup: Group = {
  name: 'import',
  summary: 'IMAP migration jobs: copy a mailbox from another provider (incremental, resumable)',
  commands: {
    start: {
      summary: 'Start copying a mailbox from a source IMAP server (password from POSTERN_IMPORT_PASSWORD or --password-file)',
      usage: '<address>',
      options: {
        host: { type: 'string', description: 'source IMAP server', required: true },
        port: { type: 'string', description: 'source port (default 993 for implicit TLS, 143 for STARTTLS)' },
        tls: { type: 'string', description: 'implicit (default) or starttls' },
        user: { type: 'string', description: 'login at the source', required: true },
        'password-file': { type: 'string', description: 'file holding the source password' },
        'token-file': { type: 'string', description: 'file holding an OAuth2 access token (XOAUTH2) instead of a password' },
        folders: { type: 'string', description: 'comma-separated source folders (default: all)' },
        wait: { type: 'boolean', description: 'follow the progress until the job ends' },
      },
      async run(ctx, [address], opts) {
        if (!address) throw new UsageError('postern import start <address> --host H --user U');
        const secret = credential(opts);
        if (!secret) throw new UsageError('give the source password in POSTERN_IMPORT_PASSWORD or --password-file (or a token: POSTERN_IMPORT_ACCESS_TOKEN, --token-file)');
        const tls = (opts.tls as string | undefined) ?? 'implicit';
        if (tls !== 'implicit' && tls !== 'starttls') throw new UsageError('--tls is implicit or starttls');
        const port = opts.port === undefined ? (tls === 'implicit' ? 993 : 143) : Number(opts.port);
        if (!Number.isInteger(port)) throw new UsageError('--port must be a number');
        const mailbox = await findMailbox(ctx, address);
        const folders =
          typeof opts.folders === 'string'
            ? opts.folders
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : undefined;
        const m = await call<Migration>(ctx, 'POST', `/mailboxes/${q(mailbox.id)}/migrations`, { source: { host: opts.host, port, tls, user: opts.user, ...secret }, ...(folders ? { folders } : {}) });
        if (!ctx.json) ctx.out(`Migration ${m.id} queued for ${m.mailbox.address}.`);
        return opts.wait ? follow(ctx, m.id) : show(ctx, m);
      },
    },
    status: {
      summary: "A job's progress per folder (a job id), or a mailbox's jobs (an address)",
      usage: '<migration-id|address>',
      options: { wait: { type: 'boolean', description: 'follow the progress until the job ends' } },
      async run(ctx, [ref], opts) {
        if (!ref) throw new UsageError('postern import status <migration-id|address>');
        if (/^mig_[0-9a-f]+$/.test(ref)) return opts.wait ? follow(ctx, ref) : show(ctx, await call<Migration>(ctx, 'GET', `/migrations/${q(ref)}`));
        const mailbox = await findMailbox(ctx, ref);
        const list = await call<Migration[]>(ctx, 'GET', `/mailboxes/${q(mailbox.id)}/migrations`);
        emit(ctx, list, () =>
          table(
            ctx,
            list.map((m) => ({
              id: m.id,
              source: `${m.source.user}@${m.source.host}`,
              state: m.state,
              progress: `${m.progress.messages}/${m.progress.totalMessages}`,
              size: bytes(m.progress.bytes),
              runs: m.runs,
              finished: when(m.finishedAt),
            })),
            [
              ['id', 'job'],
              ['source', 'source'],
              ['state', 'state'],
              ['progress', 'messages'],
              ['size', 'copied'],
              ['runs', 'runs'],
              ['finished', 'finished'],
            ],
          ),
        );
      },
    },
    run: {
      summary: 'Run a job again: copies only what is new (resumes an interrupted or failed one; the final pass before the MX switch)',
      usage: '<migration-id>',
      options: {
        'password-file': { type: 'string', description: 'the source password again (an ended job no longer holds it; or POSTERN_IMPORT_PASSWORD)' },
        'token-file': { type: 'string', description: 'an OAuth2 access token instead' },
        wait: { type: 'boolean', description: 'follow the progress until the job ends' },
      },
      async run(ctx, [id], opts) {
        if (!id) throw new UsageError('postern import run <migration-id>');
        const secret = credential(opts);
        if (!secret) {
          // A run that ended (done, failed, cancelled) wiped the credential; only an interrupted job keeps it to resume.
          const job = await call<Migration>(ctx, 'GET', `/migrations/${q(id)}`);
          if (!job.credentialsHeld)
            throw new UsageError(
              job.source.auth === 'xoauth2'
                ? `job ${id} (${job.state}) no longer holds its source credential: give a fresh OAuth2 access token in POSTERN_IMPORT_ACCESS_TOKEN or --token-file`
                : `job ${id} (${job.state}) no longer holds its source password: give it again in POSTERN_IMPORT_PASSWORD or --password-file`,
            );
        }
        const m = await call<Migration>(ctx, 'POST', `/migrations/${q(id)}/run`, secret ?? {});
        if (!ctx.json) ctx.out(`Migration ${m.id} queued again.`);
        return opts.wait ? follow(ctx, m.id) : show(ctx, m);
      },
    },
    cancel: {
      summary: 'Cancel a job (a running copy stops at the next batch); its source credential is wiped',
      usage: '<migration-id>',
      async run(ctx, [id]) {
        if (!id) throw new UsageError('postern import cancel <migration-id>');
        show(ctx, await call<Migration>(ctx, 'POST', `/migrations/${q(id)}/cancel`));
      },
    },
  },
};
