/** `postern domains list|create|dns`: hosted domains and the DNS records they need. */
import type { Group } from './command.js';
import { call, callText, type Ctx, EXIT } from './context.js';
import { emit, fields, table, when } from './output.js';
import { findDomain, findTenant, listAll, tenantNames } from './resolve.js';
import type { Static } from 'typebox';
import type { Domain as DomainSchema } from '../../control/schemas/domains.schemas.js';
import type { DnsCheck, ExpectedRecords } from '../../control/schemas/dns.schemas.js';

type Domain = Static<typeof DomainSchema>;
type Expected = Static<typeof ExpectedRecords>;
type Checked = Static<typeof DnsCheck>;

async function listDomains(ctx: Ctx, tenantRef: string | undefined): Promise<Array<Domain & { tenantName: string }>> {
  const names = await tenantNames(ctx);
  const tenants = tenantRef ? [await findTenant(ctx, tenantRef)] : [...names].map(([id, name]) => ({ id, name }));
  const out: Array<Domain & { tenantName: string }> = [];
  for (const t of tenants) for (const d of await listAll<Domain>(ctx, `/tenants/${t.id}/domains`)) out.push({ ...d, tenantName: t.name });
  return out;
}

export const domainsGroup: Group = {
  name: 'domains',
  summary: 'Hosted domains: list, create, DNS records and live DNS check',
  commands: {
    list: {
      summary: 'Domains of one tenant, or of every tenant the token sees',
      usage: '',
      options: { tenant: { type: 'string', description: 'tenant name (or id)' } },
      async run(ctx, _args, opts) {
        const rows = await listDomains(ctx, opts.tenant as string | undefined);
        const byId = new Map(rows.map((d) => [d.id, d.name]));
        emit(ctx, rows, () =>
          table(
            ctx,
            rows.map((d) => ({
              name: d.name,
              tenant: d.tenantName,
              status: d.status,
              verification: d.verification,
              alias: d.aliasOf ? `alias of ${byId.get(d.aliasOf) ?? d.aliasOf}` : '',
              created: when(d.createdAt),
            })),
            [
              ['name', 'domain'],
              ['tenant', 'tenant'],
              ['status', 'status'],
              ['verification', 'DNS verification'],
              ['alias', 'alias'],
              ['created', 'created'],
            ],
          ),
        );
      },
    },
    create: {
      summary: 'Add a domain to a tenant (DKIM keys are generated), then print the records to publish',
      usage: '<domain>',
      options: { tenant: { type: 'string', description: 'tenant name (or id)', required: true } },
      async run(ctx, [name], opts) {
        const tenant = await findTenant(ctx, String(opts.tenant));
        const d = await call<{ id: string; name: string }>(ctx, 'POST', `/tenants/${tenant.id}/domains`, { name });
        const expected = await call<Expected>(ctx, 'GET', `/domains/${d.id}/dns/expected`);
        emit(ctx, { ...d, tenant: tenant.name, records: expected.records }, () => {
          ctx.out(`Domain ${d.name} added to tenant "${tenant.name}". Publish these records, then run: postern domains dns ${d.name} --check`);
          ctx.out('');
          printExpected(ctx, expected);
        });
      },
    },
    dns: {
      summary: 'Records the domain needs; --check compares them with live DNS (exit 1 unless all required records are right)',
      usage: '<domain>',
      options: {
        check: { type: 'boolean', description: 'look the records up now through the appliance’s resolver (stored as a snapshot)' },
        zone: { type: 'boolean', description: 'print the records as a BIND zone snippet' },
      },
      async run(ctx, [ref], opts) {
        const d = await findDomain(ctx, ref!);
        if (opts.zone) {
          ctx.out((await callText(ctx, `/domains/${d.id}/dns/zone`)).text.replace(/\n$/, ''));
          return;
        }
        if (!opts.check) {
          const expected = await call<Expected>(ctx, 'GET', `/domains/${d.id}/dns/expected`);
          emit(ctx, expected, () => printExpected(ctx, expected));
          return;
        }
        const c = await call<Checked>(ctx, 'POST', `/domains/${d.id}/dns/check`);
        emit(ctx, c, () => {
          fields(ctx, [
            ['domain', c.domain],
            ['DNS status', c.status],
            ['checked', when(c.checkedAt)],
          ]);
          ctx.out('');
          table(
            ctx,
            c.records.map((r) => ({
              status: r.status,
              type: r.type,
              name: r.name,
              purpose: `${r.purpose}${r.required ? '' : ' (recommended)'}`,
              expected: r.expected,
              found: r.found.join(' | ') || r.detail,
            })),
            [
              ['status', 'status'],
              ['type', 'type'],
              ['name', 'name'],
              ['purpose', 'purpose'],
              ['expected', 'expected'],
              ['found', 'found'],
            ],
          );
        });
        return c.status === 'ok' || c.status === 'degraded' ? EXIT.ok : EXIT.refused;
      },
    },
  },
};

function printExpected(ctx: Ctx, e: Expected): void {
  table(
    ctx,
    e.records.map((r) => ({ type: r.type, name: r.name, value: r.value, purpose: `${r.purpose}${r.required ? '' : ' (recommended)'}` })),
    [
      ['type', 'type'],
      ['name', 'name'],
      ['purpose', 'purpose'],
      ['value', 'value'],
    ],
  );
}
