/** `postern queue`: the outbound queue, oldest first. */
import type { Group } from './command.js';
import { call } from './context.js';
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
