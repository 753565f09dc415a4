/**
 * The addresses every mail domain must have (postmaster@, abuse@, the DMARC/TLS-RPT report
 * address): where they deliver, and the tenant's choice of destination. Shown on the domain's
 * overview (with each address of that domain) and in the tenant's settings.
 */
import { get, put, seg } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { can } from '../lib/session.js';
import type { Domain } from '../lib/types.js';
import { alertBox, badge, form, section, table, toast } from '../lib/ui.js';

export interface RequiredDestination {
  chosen: string | null;
  effective: string;
  source: string;
  repointed?: string[];
}

const SOURCE: Record<string, string> = {
  'tenant-choice': 'the tenant’s choice',
  'tenant-contact': 'default: the tenant’s contact (its oldest administrator)',
  operator: 'default: the operator’s address (the tenant has no administrator with an address)',
  'appliance-postmaster': 'default: the appliance’s postmaster mailbox, which the operator reads in the console (no administrator or operator has an address)',
};

export const sourceText = (s: string) => SOURCE[s] ?? s;

/** The choice form (or a read-only line without domains.manage); `after` runs after a change. */
function destinationForm(tenantId: string, dest: RequiredDestination, after: (d: RequiredDestination) => void, folded = false): HTMLElement {
  const line = h('p', { 'data-testid': 'required-destination' }, 'They deliver to ', h('strong', null, dest.effective), ` (${sourceText(dest.source)}).`);
  if (!can('domains.manage')) return h('div', null, line);
  const f = form({
    submitLabel: 'Save destination',
    fields: [
      {
        name: 'target',
        label: 'Deliver postmaster@, abuse@ and report mail to',
        value: dest.chosen ?? '',
        placeholder: dest.effective,
        help: 'A mailbox or alias of this tenant, or an outside address. Empty: the default (the tenant’s contact, else the operator). Required aliases still pointing at the old destination follow.',
      },
      { name: 'reason', label: 'Reason (recorded in the audit log)' },
    ],
    async onSubmit(v) {
      const target = String(v.target ?? '').trim();
      const r = await put<RequiredDestination>(`/api/v1/tenants/${seg(tenantId)}/required-addresses`, { target: target || null, reason: String(v.reason ?? '').trim() || undefined });
      toast(`Required addresses now deliver to ${r.effective}${r.repointed?.length ? ` (${r.repointed.length} re-pointed)` : ''}`);
      after(r);
    },
  });
  return h('div', null, line, folded ? h('details', { class: 'fold' }, h('summary', null, 'Change where they deliver…'), f.el) : f.el);
}

/** The tenant's settings: where its required addresses deliver. */
export async function requiredDestinationSection(tenantId: string, reload: () => void): Promise<HTMLElement> {
  try {
    const dest = await get<RequiredDestination>(`/api/v1/tenants/${seg(tenantId)}/required-addresses`);
    return section(
      'Required addresses',
      h('p', null, 'Every domain of the tenant has postmaster@ (RFC 5321), abuse@ (RFC 2142) and the address its DMARC and TLS-RPT records publish for reports.'),
      destinationForm(tenantId, dest, reload),
    );
  } catch (err) {
    return section('Required addresses', alertBox(err));
  }
}

/** The domain's overview: its required addresses, where each delivers, and the tenant's choice. */
export async function domainRequiredSection(d: Domain, reload: () => void): Promise<HTMLElement | null> {
  if (d.aliasOf) return null; // an alias domain's mail goes to the primary domain's addresses
  const dest = await get<RequiredDestination>(`/api/v1/tenants/${seg(d.tenantId)}/required-addresses`).catch(() => null);
  return section(
    'Required addresses',
    table(
      [
        { label: 'Address', cell: (r) => h('code', null, r.address) },
        { label: 'Why', cell: (r) => r.purpose },
        {
          label: 'Delivers to',
          cell: (r) =>
            r.kind === 'missing'
              ? badge('missing: mail to it is refused', 'bad')
              : r.kind === 'mailbox'
                ? [badge('a mailbox', 'info'), ' its own mailbox']
                : [badge('alias', 'info'), ' ', r.deliversTo.join(', ')],
        },
      ],
      d.requiredAddresses ?? [],
      'Required addresses of the domain',
      'None listed.',
    ),
    dest ? destinationForm(d.tenantId, dest, reload, true) : null,
  );
}
