/**
 * `postern import batch plan|apply|status|list|cancel` (issue 20): bulk IMAP migration from a CSV
 * of source accounts (header: address,source_host,source_port,tls,user,password; see
 * appliance/core/portfolio/migration-batch-input.ts). The CSV is read here and sent as JSON rows;
 * passwords are never printed.
 */
import { readFileSync } from 'node:fs';
import type { Static } from 'typebox';
import { migrationRowsFromCsv } from '../../appliance/core/portfolio/migration-batch-input.js';
import type { MigrationBatch as MigrationBatchSchema, MigrationBatchSummary } from '../../control/schemas/migration-batches.schemas.js';
import type { Command } from './command.js';
import { call, type Ctx, UsageError } from './context.js';
import { bytes, emit, fields, table, when } from './output.js';
import { findTenant } from './resolve.js';

type Batch = Static<typeof MigrationBatchSchema>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CHECK: Record<string, string> = {
  ok: 'ok',
  pending: 'checking…',
  'bad-credentials': 'BAD CREDENTIALS',
  unreachable: 'UNREACHABLE',
  'no-mailbox': 'NO MAILBOX',
  invalid: 'INVALID ROW',
};

function printBatch(ctx: Ctx, b: Batch): void {
  emit(ctx, b, () => {
    fields(ctx, [
      ['batch', `${b.name} (${b.id})`],
      ['state', b.state],
      [
        'plan',
        `${b.plan.checked}/${b.plan.total} checked: ${b.plan.ok} ok, ${b.plan.badCredentials} bad credentials, ${b.plan.unreachable} unreachable, ${b.plan.noMailbox} no mailbox, ${b.plan.invalid} invalid`,
      ],
      ['to copy', `${b.plan.messages} messages, ${bytes(b.plan.bytes)}`],
      ['progress', `${b.progress.percent}% — ${b.progress.ended}/${b.progress.mailboxes} mailboxes ended, ${b.progress.running} running, ${b.progress.messages} messages (${bytes(b.progress.bytes)})`],
      ['report', `${b.report.done} done, ${b.report.failed} failed, ${b.report.cancelled} cancelled, ${b.report.skipped} skipped`],
      ['concurrency', b.concurrency],
      ['created', when(b.createdAt)],
      ...(b.error ? [['error', b.error] as [string, string]] : []),
    ]);
    ctx.out('');
    table(
      ctx,
      b.items.map((i) => ({
        row: i.row,
        mailbox: i.address,
        source: `${i.source.user} @ ${i.source.host}:${i.source.port}`,
        check: `${CHECK[i.check.state] ?? i.check.state}${i.check.error && i.check.state !== 'ok' ? `: ${i.check.error}` : ''}`,
        size: i.check.messages === null ? '' : `${i.check.messages} msgs, ${bytes(i.check.bytes ?? 0)}`,
        status: i.migration ? `${i.migration.state} ${i.migration.percent}%` : i.status,
        folders: i.migration ? i.migration.progress.folders.map((f) => `${f.target} ${f.copied}/${f.total}`).join('; ') : '',
      })),
      [
        ['row', '#'],
        ['mailbox', 'mailbox'],
        ['source', 'source'],
        ['check', 'check'],
        ['size', 'size'],
        ['status', 'status'],
        ['folders', 'folders'],
      ],
    );
  });
}

/** Polls the batch until `done(batch)` holds (or `timeoutS` passes), printing progress lines in human mode. */
async function follow(ctx: Ctx, id: string, done: (b: Batch) => boolean, timeoutS: number): Promise<Batch> {
  const deadline = Date.now() + timeoutS * 1000;
  let last = '';
  for (;;) {
    const b = await call<Batch>(ctx, 'GET', `/migration-batches/${encodeURIComponent(id)}`);
    if (done(b) || Date.now() > deadline) return b;
    const line =
      b.state === 'planning'
        ? `checking sources: ${b.plan.checked}/${b.plan.total}`
        : `${b.progress.percent}% (${b.progress.ended}/${b.progress.mailboxes} mailboxes, ${b.progress.messages} messages)`;
    if (!ctx.json && line !== last) process.stderr.write(`${line}\n`);
    last = line;
    await sleep(1000);
  }
}

function intOption(raw: unknown, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} takes a positive whole number`);
  return n;
}

const SUBCOMMANDS = 'plan <tenant> --csv FILE | apply <batch-id> | status <batch-id> | list <tenant> | cancel <batch-id>';

export const importBatchCommand: Command = {
  summary: 'Bulk IMAP migration from a CSV (address,source_host,source_port,tls,user,password): plan (test logins, sizes), apply, status',
  usage: '<plan|apply|status|list|cancel> <tenant|batch-id>',
  options: {
    csv: { type: 'string', description: 'plan: the CSV file of source accounts' },
    name: { type: 'string', description: 'plan: a name for the batch' },
    concurrency: { type: 'string', description: 'plan/apply: migration jobs at once (1-20, default 4)' },
    wait: { type: 'boolean', description: 'plan: wait for the test logins; apply: follow until every mailbox has ended' },
    timeout: { type: 'string', description: 'with --wait: give up after this many seconds (default 3600)' },
  },
  async run(ctx, args, opts) {
    const [verb, ref] = args;
    if (!verb || !ref) throw new UsageError(`usage: postern import batch ${SUBCOMMANDS}`);
    const timeout = intOption(opts.timeout, 'timeout') ?? 3600;
    if (verb === 'plan') {
      if (typeof opts.csv !== 'string') throw new UsageError('plan needs --csv FILE');
      const tenant = await findTenant(ctx, ref);
      const rows = migrationRowsFromCsv(readFileSync(opts.csv, 'utf8'));
      let b = await call<Batch>(ctx, 'POST', `/tenants/${tenant.id}/migration-batches`, { rows, name: opts.name, concurrency: intOption(opts.concurrency, 'concurrency') });
      if (opts.wait) b = await follow(ctx, b.id, (x) => x.state !== 'planning', timeout);
      printBatch(ctx, b);
      return b.plan.ok === b.plan.total || b.state === 'planning' ? 0 : 1;
    }
    if (verb === 'apply') {
      let b = await call<Batch>(ctx, 'POST', `/migration-batches/${encodeURIComponent(ref)}/apply`, { concurrency: intOption(opts.concurrency, 'concurrency') });
      if (opts.wait) b = await follow(ctx, b.id, (x) => x.state === 'applied' || x.state === 'cancelled', timeout);
      printBatch(ctx, b);
      return b.report.failed > 0 ? 1 : 0;
    }
    if (verb === 'status') return printBatch(ctx, await call<Batch>(ctx, 'GET', `/migration-batches/${encodeURIComponent(ref)}`));
    if (verb === 'cancel') return printBatch(ctx, await call<Batch>(ctx, 'POST', `/migration-batches/${encodeURIComponent(ref)}/cancel`));
    if (verb === 'list') {
      const tenant = await findTenant(ctx, ref);
      const rows = await call<Array<Static<typeof MigrationBatchSummary>>>(ctx, 'GET', `/tenants/${tenant.id}/migration-batches`);
      return emit(ctx, rows, () =>
        table(
          ctx,
          rows.map((b) => ({ name: b.name, state: b.state, ok: `${b.plan.ok}/${b.plan.total}`, progress: `${b.progress.percent}%`, created: when(b.createdAt), id: b.id })),
          [
            ['name', 'batch'],
            ['state', 'state'],
            ['ok', 'sources ok'],
            ['progress', 'progress'],
            ['created', 'created'],
            ['id', 'id'],
          ],
        ),
      );
    }
    throw new UsageError(`unknown batch command "${verb}": ${SUBCOMMANDS}`);
  },
};
