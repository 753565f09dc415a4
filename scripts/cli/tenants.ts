/** `postern tenants list|create|required-addresses`. */
import type { Group } from './command.js';
import { call, UsageError } from './context.js';
import { bytes, emit, fields, table, when } from './output.js';
import { findTenant, listAll } from './resolve.js';
import type { Static } from 'typebox';
import type { Tenant as TenantSchema } from '../../control/schemas/tenants.schemas.js';

type Tenant = Static<typeof TenantSchema>;

interface Destination {
  chosen: string | null;
  effective: string;
  source: string;
}

const SOURCE: Record<string, string> = {
  'tenant-choice': 'the tenant’s choice',
  'tenant-contact': 'default: the tenant’s contact (its oldest administrator)',
  operator: 'default: the operator’s address',
  'appliance-postmaster': 'default: the appliance’s postmaster (the operator); with no operator address, postmaster@ of each domain keeps it in a mailbox of its own',
};

export const tenantsGroup: Group = {
  name: 'tenants',
  summary: 'Client organisations: list, create, where their required addresses deliver',
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
            rows.map((t) => ({
              name: t.name,
              status: t.status,
              used: bytes(t.quota.usedBytes),
              pool: t.quota.poolBytes === null ? 'no pool' : bytes(t.quota.poolBytes),
              created: when(t.createdAt),
              id: t.id,
            })),
            [
              ['name', 'tenant'],
              ['status', 'status'],
              ['used', 'used'],
              ['pool', 'quota pool'],
              ['created', 'created'],
              ['id', 'id'],
            ],
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
          fields(ctx, [
            ['id', t.id],
            ['next', `postern domains create <domain> --tenant "${t.name}"`],
          ]);
        });
      },
    },
    'required-addresses': {
      summary: 'Where postmaster@, abuse@ and the DMARC/TLS-RPT report address of the tenant’s domains deliver; --set or --default to change it',
      usage: '<tenant>',
      options: {
        set: { type: 'string', description: 'deliver them to this mailbox or alias of the tenant, or an outside address' },
        default: { type: 'boolean', description: 'back to the default (the tenant’s contact, else the operator)' },
        reason: { type: 'string', description: 'reason recorded in the audit log' },
      },
      async run(ctx, [ref], opts) {
        if (opts.set !== undefined && opts.default) throw new UsageError('--set and --default exclude each other');
        if (opts.reason !== undefined && opts.set === undefined && !opts.default) throw new UsageError('--reason goes with --set or --default');
        const tenant = await findTenant(ctx, ref!);
        const url = `/tenants/${encodeURIComponent(tenant.id)}/required-addresses`;
        const change = opts.set !== undefined || opts.default === true;
        const dest: Destination & { repointed?: string[] } = change
          ? await call<Destination & { repointed: string[] }>(ctx, 'PUT', url, { target: opts.default ? null : String(opts.set), ...(opts.reason ? { reason: String(opts.reason) } : {}) })
          : await call<Destination>(ctx, 'GET', url);
        const domains = (await listAll<{ id: string; name: string; aliasOf: string | null }>(ctx, `/tenants/${encodeURIComponent(tenant.id)}/domains`)).filter((d) => !d.aliasOf);
        const addresses: Array<{ domain: string; address: string; kind: string; deliversTo: string[]; purpose: string }> = [];
        for (const d of domains) {
          const full = await call<{ requiredAddresses?: Array<{ address: string; kind: string; deliversTo: string[]; purpose: string }> }>(ctx, 'GET', `/domains/${encodeURIComponent(d.id)}`);
          for (const r of full.requiredAddresses ?? []) addresses.push({ domain: d.name, ...r });
        }
        emit(ctx, { tenant: { id: tenant.id, name: tenant.name }, ...dest, addresses }, () => {
          if (change) ctx.out(`Required addresses of "${tenant.name}" now deliver to ${dest.effective}.`);
          fields(ctx, [
            ['tenant', tenant.name],
            ['chosen', dest.chosen ?? 'none (the default applies)'],
            ['delivers to', dest.effective],
            ['because', SOURCE[dest.source] ?? dest.source],
            ...(change ? ([['re-pointed', (dest.repointed ?? []).join(', ') || 'none']] as Array<[string, string]>) : []),
          ]);
          ctx.out('');
          table(
            ctx,
            addresses.map((a) => ({ address: a.address, to: a.kind === 'missing' ? 'MISSING: mail to it is refused' : a.kind === 'mailbox' ? 'its own mailbox' : a.deliversTo.join(', ') })),
            [
              ['address', 'address'],
              ['to', 'delivers to'],
            ],
          );
        });
      },
    },
  },
};
