/** `postern queue`: the outbound queue, oldest first; `recover` re-queues a dead node's queue here. */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { parseQueueFileName, readQueueMessage } from '../../appliance/mta/outbound-queue.js';
import type { Group } from './command.js';
import { call, type Ctx, UsageError } from './context.js';
import { emit, table, when } from './output.js';
import { findTenant, tenantNames } from './resolve.js';
import type { Static } from 'typebox';
import type { QueueEntry as QueueEntrySchema } from '../../control/schemas/mailflow.schemas.js';

type QueueEntry = Static<typeof QueueEntrySchema>;

function age(s: number): string {
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export const queueGroup: Group = {
  name: 'queue',
  summary: 'The outbound queue: messages waiting for delivery, attempts, next try, last error',
  commands: {
    list: {
      summary: 'Messages in the outbound queue, oldest first',
      usage: '',
      options: {
        tenant: { type: 'string', description: 'tenant name (or id)' },
        domain: { type: 'string', description: 'destination domain' },
      },
      async run(ctx, _args, opts) {
        const params = new URLSearchParams({ limit: '500' });
        if (opts.tenant) params.set('tenantId', (await findTenant(ctx, String(opts.tenant))).id);
        if (opts.domain) params.set('domain', String(opts.domain));
        const rows = await call<QueueEntry[]>(ctx, 'GET', `/outbound-queue?${params}`);
        const names = await tenantNames(ctx);
        emit(ctx, rows, () =>
          table(
            ctx,
            rows.map((e) => ({
              sender: e.sender || '<> (bounce)',
              to: e.recipients.join(', '),
              tenant: e.tenantId ? (names.get(e.tenantId) ?? e.tenantId) : '',
              age: age(e.ageSeconds),
              attempts: e.attempts,
              next: when(e.nextAttemptAt),
              error: e.lastError,
            })),
            [
              ['sender', 'from'],
              ['to', 'to'],
              ['tenant', 'tenant'],
              ['age', 'age'],
              ['attempts', 'attempts'],
              ['next', 'next attempt'],
              ['error', 'last error'],
            ],
          ),
        );
      },
    },
  },
};
queueGroup.commands[''] = queueGroup.commands.list!;

/** A data dir (its haraka/queue) or a queue dir itself. */
function queueDirOf(from: string): string {
  const nested = path.join(from, 'haraka', 'queue');
  if (existsSync(nested)) return nested;
  if (existsSync(from)) return from;
  throw new UsageError(`no such directory: ${from}`);
}

/**
 * A node died for good and its data dir (or just its haraka/queue) is reachable here: every
 * complete queue file is queued again through this node's API (envelope and bytes unchanged,
 * one audit event each), then moved aside to <queue>/recovered/, so running it again (after an
 * interruption) sends nothing twice. Temporary files (`__tmp__.*`) are messages whose SMTP
 * transaction never got its 250: nobody was promised them, and they are left alone.
 */
async function recoverQueue(ctx: Ctx, from: string, dryRun: boolean): Promise<number> {
  // Progress on stdout; with --json on stderr, so stdout stays one JSON document.
  const say = (line: string) => (ctx.json ? process.stderr.write(`${line}\n`) : ctx.out(line));
  const dir = queueDirOf(path.resolve(from));
  const all = await readdir(dir);
  const files = all.filter((f) => parseQueueFileName(f) !== null).sort();
  const partial = all.filter((f) => f.startsWith('__tmp__.')).length;
  const aside = path.join(dir, 'recovered');
  if (!dryRun) await mkdir(aside, { recursive: true });
  const done: Array<{ id: string; sender: string; recipients: string[]; bytes: number }> = [];
  const failed: Array<{ file: string; error: string }> = [];
  say(`${files.length} queued message(s) in ${dir}${partial ? ` (${partial} incomplete temporary file(s) left alone: never acknowledged)` : ''}`);
  for (const [i, file] of files.entries()) {
    const m = await readQueueMessage(dir, file);
    const step = `[${i + 1}/${files.length}]`;
    if (!m || !m.recipients.length) {
      failed.push({ file, error: 'not a complete Haraka queue file' });
      say(`${step} ${file}: unreadable, left in place`);
      continue;
    }
    const label = `${m.id} ${m.sender || '<>'} -> ${m.recipients.join(', ')} (${m.message.length} bytes)`;
    if (dryRun) {
      say(`${step} ${label}: would be queued`);
      continue;
    }
    try {
      await call(ctx, 'POST', '/outbound-queue/recovered', { sourceId: m.id, sourceNode: from, sender: m.sender, recipients: m.recipients, message: m.message.toString('base64') });
      await rename(path.join(dir, file), path.join(aside, file));
      done.push({ id: m.id, sender: m.sender, recipients: m.recipients, bytes: m.message.length });
      say(`${step} ${label}: queued here`);
    } catch (err) {
      failed.push({ file, error: (err as Error).message });
      say(`${step} ${label}: FAILED, left in place: ${(err as Error).message}`);
    }
  }
  if (ctx.json) ctx.out(JSON.stringify({ queueDir: dir, recovered: done, failed, dryRun }, null, 2));
  say(`${dryRun ? 'dry run: ' : ''}${done.length} recovered, ${failed.length} failed${dryRun ? '' : `; recovered files moved to ${aside}`}`);
  return failed.length ? 1 : 0;
}

queueGroup.commands.recover = {
  summary: "Re-queues a dead node's outbound queue on this node: every queued message, envelope and bytes unchanged; each file moved aside once queued",
  usage: '--from DIR [--dry-run]',
  options: {
    from: { type: 'string', description: "the dead node's POSTERN_DATA_DIR or its haraka/queue directory" },
    'dry-run': { type: 'boolean', description: 'list what would be recovered, send nothing' },
  },
  async run(ctx, _args, opts) {
    if (typeof opts.from !== 'string' || !opts.from) throw new UsageError('queue recover needs --from <dir>');
    return recoverQueue(ctx, opts.from, opts['dry-run'] === true);
  },
};
