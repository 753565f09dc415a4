/** `postern status`: is the appliance ready, and does it accept this token? */
import { call, callPublic, type Ctx, EXIT, RefusedError } from './context.js';
import type { Group } from './command.js';
import { emit, fields, table } from './output.js';

export const statusGroup: Group = {
  name: 'status',
  summary: 'Readiness of the appliance (database, MTA, mail store) and whether the token is accepted',
  commands: {
    '': {
      summary: 'Readiness of every component; exit 1 when not ready or the token is refused',
      usage: '',
      async run(ctx: Ctx) {
        const ready = await callPublic(ctx, '/readyz');
        let token: { accepted: boolean; detail: string };
        try {
          const tenants = await call<unknown[]>(ctx, 'GET', '/tenants?limit=500');
          token = { accepted: true, detail: `accepted (${tenants.length} tenant${tenants.length === 1 ? '' : 's'} visible)` };
        } catch (err) {
          if (!(err instanceof RefusedError)) throw err;
          token = { accepted: false, detail: err.message.replace(/^GET \S+ refused: /, 'refused: ') };
        }
        const components = (ready.body?.components ?? {}) as Record<string, { ok: boolean; detail?: string }>;
        const isReady = ready.status === 200;
        emit(ctx, { api: ctx.apiUrl, ready: isReady, failing: ready.body?.failing ?? [], components, token }, () => {
          fields(ctx, [
            ['control plane', ctx.apiUrl],
            ['ready', isReady ? 'yes' : `NO (failing: ${(ready.body?.failing ?? []).join(', ') || `HTTP ${ready.status}`})`],
            ['token', token.detail],
          ]);
          ctx.out('');
          table(
            ctx,
            Object.entries(components).map(([name, c]) => ({ name, state: c.ok ? 'ok' : 'FAILING', detail: c.detail })),
            [
              ['name', 'component'],
              ['state', 'state'],
              ['detail', 'detail'],
            ],
          );
        });
        return isReady && token.accepted ? EXIT.ok : EXIT.refused;
      },
    },
  },
};
