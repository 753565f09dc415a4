/** `postern tenants list|create`. */
import type { Group } from './command.js';
import { call } from './context.js';
import { bytes, emit, fields, table, when } from './output.js';

interface Tenant {
  id: string;
  name: string;
  status: string;
  quota: { poolBytes: number | null; allocatedBytes: number; usedBytes: number };
  createdAt: string;
}

export const tenantsGroup: Group = {
  name: 'tenants',
  summary: 'Client organisations: list, create',
  commands: {
    list: {
      summary: 'Tenants visible to the token (a tenant token sees its own)',
      usage: '',
      options: { search: { type: 'string', description: 'only names containing this text' } },
      async run(ctx, _args, opts) {
        const rows = await call<Tenant[]>(ctx, 'GET', `/tenants?limit=500${opts.search ? `&q=${encodeURIComponent(String(opts.search))}` : ''}`);
        emit(ctx, rows, () =>
          table(
            ctx,
            rows.map((t) => ({ name: t.name, status: t.status, used: bytes(t.quota.usedBytes), pool: t.quota.poolBytes === null ? 'no pool' : bytes(t.quota.poolBytes), created: when(t.createdAt), id: t.id })),
            [['name', 'tenant'], ['status', 'status'], ['used', 'used'], ['pool', 'quota pool'], ['created', 'created'], ['id', 'id']],
          ),
        );
      },
    },
    create: {
      summary: 'Create a tenant',
      usage: '<name>',
      async run(ctx, [name]) {
        const t = await call<{ id: string; name: string }>(ctx, 'POST', '/tenants', { name });
        emit(ctx, t, () => {
          ctx.out(`Tenant "${t.name}" created.`);
          fields(ctx, [['id', t.id], ['next', `postern domains create <domain> --tenant "${t.name}"`]]);
        });
      },
    },
  },
};
