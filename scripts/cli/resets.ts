/** `postern resets list|approve`: the approvers' queue of emergency resets and the reset history. */
import type { Group } from './command.js';
import { call } from './context.js';
import { emit, table, when } from './output.js';
import { findTenant, tenantNames } from './resolve.js';
import type { Static } from 'typebox';
import type { TenantReset as TenantResetSchema } from '../../control/schemas/reset-queue.schemas.js';

type TenantReset = Static<typeof TenantResetSchema>;

export const resetsGroup: Group = {
  name: 'resets',
  summary: 'Password resets: list (the approvers’ queue with --status pending-approval), approve',
  commands: {
    list: {
      summary: 'Resets, newest first',
      usage: '',
      options: {
        status: { type: 'string', description: 'pending-approval | issued | completed | cancelled | expired' },
        tenant: { type: 'string', description: 'tenant name (or id)' },
      },
      async run(ctx, _args, opts) {
        const status = opts.status ? `?status=${encodeURIComponent(String(opts.status))}` : '';
        const url = opts.tenant ? `/tenants/${(await findTenant(ctx, String(opts.tenant))).id}/resets${status}` : `/resets${status}`;
        const rows = await call<TenantReset[]>(ctx, 'GET', url);
        const names = await tenantNames(ctx);
        emit(ctx, rows, () =>
          table(
            ctx,
            rows.map((r) => ({
              id: r.id,
              mailbox: r.mailboxAddress,
              tenant: names.get(r.tenantId) ?? r.tenantId,
              kind: r.kind,
              status: r.status + (r.requiresOperatorApproval && r.status === 'pending-approval' ? ' (operator)' : ''),
              requested: when(r.requestedAt),
              reason: r.reason,
            })),
            [
              ['mailbox', 'mailbox'],
              ['tenant', 'tenant'],
              ['kind', 'kind'],
              ['status', 'status'],
              ['requested', 'requested'],
              ['reason', 'reason'],
              ['id', 'reset id'],
            ],
          ),
        );
      },
    },
    approve: {
      summary: 'Approve an emergency reset (a second person, never its requester); the link goes to the new destination',
      usage: '<reset-id>',
      options: { note: { type: 'string', description: 'recorded in the audit log' } },
      async run(ctx, [id], opts) {
        const r = await call<{ id: string; status: string; mailboxId: string; destination: string | null }>(
          ctx,
          'POST',
          `/resets/${encodeURIComponent(id!)}/approve`,
          opts.note ? { note: String(opts.note) } : undefined,
        );
        const m = await call<{ address: string }>(ctx, 'GET', `/mailboxes/${r.mailboxId}`);
        emit(ctx, r, () => ctx.out(`Reset ${r.id} of ${m.address} approved: ${r.status}${r.destination ? `, link sent to ${r.destination}` : ''}.`));
      },
    },
  },
};
