/** Domain templates of a tenant (versioned) and the tenant's drift report; apply to every domain. */
import { get, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { can } from '../lib/session.js';
import type { Tenant } from '../lib/types.js';
import { alertBox, badge, confirmDialog, fmtBytes, fmtDate, form, guard, opt, section, table, toast } from '../lib/ui.js';
import { type DriftItem, driftTable } from './domain-dns.js';

interface TemplateSettings {
  defaultAliases: { localParts: string[]; target: string | null };
  namingPolicy: { style: string; minLength: number; maxLength: number };
  defaultQuotaBytes: number;
  passwordPolicy: { minLength: number };
  catchAll: string;
  externalForwarding: string;
  outboundLimits: { messagesPerHour: number; recipientsPerHour: number };
  dmarc: { policy: string; reportLocalPart: string };
  mtaSts: { mode: string; maxAgeSeconds: number };
  dkim: { algorithms: string[]; rotationDays: number };
}
interface Template {
  id: string;
  tenantId: string | null;
  name: string;
  latestVersion: number;
  versions: Array<{ version: number; settings: TemplateSettings; note: string | null; createdBy: string; createdAt: string }>;
}
interface DomainDrift {
  domainId: string;
  domain: string;
  template: { id: string; version: number } | null;
  appliedAt: string | null;
  drift: DriftItem[];
}

const summary = (s: TemplateSettings) =>
  `DMARC p=${s.dmarc.policy} · catch-all ${s.catchAll} · external forwarding ${s.externalForwarding} · quota ${fmtBytes(s.defaultQuotaBytes)} · naming ${s.namingPolicy.style} · aliases ${s.defaultAliases.localParts.join(', ') || 'none'} · DKIM ${s.dkim.algorithms.join('+')} every ${s.dkim.rotationDays} d`;

const settingsFields = (s?: TemplateSettings) => [
  {
    name: 'dmarc',
    label: 'DMARC policy',
    type: 'select' as const,
    value: s?.dmarc.policy ?? 'quarantine',
    options: [
      ['quarantine', 'quarantine (default)'],
      ['reject', 'reject'],
      ['none', 'none (monitor only)'],
    ] as Array<[string, string]>,
  },
  {
    name: 'catchAll',
    label: 'Catch-all',
    type: 'select' as const,
    value: s?.catchAll ?? 'off',
    options: [
      ['off', 'off'],
      ['allowed', 'allowed'],
    ] as Array<[string, string]>,
  },
  {
    name: 'externalForwarding',
    label: 'External forwarding',
    type: 'select' as const,
    value: s?.externalForwarding ?? 'off',
    options: [
      ['off', 'off'],
      ['allowed', 'allowed'],
    ] as Array<[string, string]>,
  },
  {
    name: 'naming',
    label: 'Naming policy',
    type: 'select' as const,
    value: s?.namingPolicy.style ?? 'any',
    options: [
      ['any', 'any'],
      ['first.last', 'first.last'],
      ['flast', 'flast'],
      ['first', 'first'],
    ] as Array<[string, string]>,
  },
  { name: 'quotaMiB', label: 'Default quota (MiB)', type: 'number' as const, value: s ? Math.round(s.defaultQuotaBytes / 1048576) : '' },
  { name: 'aliases', label: 'Default aliases', value: s?.defaultAliases.localParts.join(', ') ?? 'postmaster, abuse', help: 'Local parts created on every domain, comma-separated.' },
  { name: 'note', label: 'Note for this version' },
];

function settingsBody(v: Record<string, unknown>) {
  const quota = opt(v.quotaMiB as string);
  return {
    settings: {
      dmarc: { policy: v.dmarc },
      catchAll: v.catchAll,
      externalForwarding: v.externalForwarding,
      namingPolicy: { style: v.naming },
      ...(quota ? { defaultQuotaBytes: Math.round(Number(quota) * 1048576) } : {}),
      defaultAliases: {
        localParts: String(v.aliases ?? '')
          .split(/[\s,;]+/)
          .filter(Boolean),
      },
    },
    note: opt(v.note as string),
  };
}

export async function templatesTab(t: Tenant): Promise<HTMLElement> {
  const root = h('div');
  const load = async () => {
    const [templates, drift] = await Promise.all([get<Template[]>(`/api/v1/tenants/${seg(t.id)}/templates`), get<DomainDrift[]>(`/api/v1/tenants/${seg(t.id)}/template-drift`)]);
    const manage = can('domains.manage');
    const versionForm = (tpl: Template) => {
      const latest = tpl.versions.find((x) => x.version === tpl.latestVersion)?.settings;
      const f = form({
        submitLabel: `Save as version ${tpl.latestVersion + 1}`,
        fields: settingsFields(latest),
        fieldAlias: { 'settings.defaultQuotaBytes': 'quotaMiB' },
        async onSubmit(v) {
          await post(`/api/v1/templates/${seg(tpl.id)}/versions`, { ...settingsBody(v), basedOn: tpl.latestVersion });
          toast(`${tpl.name}: version ${tpl.latestVersion + 1} saved`);
          await load();
        },
      });
      return h('details', { class: 'inline-edit' }, h('summary', null, 'New version'), f.el);
    };
    const applyAll = (tpl: Template) =>
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          onclick: guard(async () => {
            const ok = await confirmDialog({
              title: 'Apply to every domain?',
              objectName: `${tpl.name} v${tpl.latestVersion} → ${t.name}`,
              body: h('p', null, 'Creates missing default aliases and DKIM keys on every domain of the tenant and fixes drift.'),
              confirmLabel: 'Apply to all domains',
              reason: true,
            });
            if (!ok) return;
            const r = await post<unknown[]>(`/api/v1/tenants/${seg(t.id)}/template`, { templateId: tpl.id, version: tpl.latestVersion, reason: ok.reason || undefined });
            toast(`Applied to ${r.length} domains`);
            await load();
          }),
        },
        'Apply to all domains',
      );
    const create = manage
      ? form({
          submitLabel: 'Create template',
          fields: [{ name: 'name', label: 'Template name', required: true }, ...settingsFields()],
          fieldAlias: { 'settings.defaultQuotaBytes': 'quotaMiB' },
          async onSubmit(v) {
            await post(`/api/v1/tenants/${seg(t.id)}/templates`, { name: String(v.name).trim(), ...settingsBody(v) });
            toast('Template created');
            await load();
          },
        })
      : null;
    const drifted = drift.filter((d) => d.drift.length);
    replace(
      root,
      section(
        'Templates',
        table(
          [
            { label: 'Template', cell: (x) => [x.name, ' ', x.tenantId ? null : badge('platform', 'info')] },
            { label: 'Version', cell: (x) => `v${x.latestVersion}`, class: 'num' },
            { label: 'Settings', cell: (x) => summary(x.versions.find((v) => v.version === x.latestVersion)!.settings) },
            { label: 'Actions', cell: (x) => (manage ? [applyAll(x), x.tenantId ? versionForm(x) : null] : null) },
          ],
          templates,
          'Templates',
        ),
      ),
      section(
        'Drift',
        h('p', null, drifted.length ? badge(`${drifted.length} of ${drift.length} domains drifted`, 'warn') : badge(`no drift on ${drift.length} domains`, 'ok')),
        table(
          [
            { label: 'Domain', cell: (d) => h('a', { href: `/domains/${seg(d.domainId)}` }, d.domain) },
            { label: 'Template', cell: (d) => (d.template ? `${d.template.id} v${d.template.version}` : 'none') },
            { label: 'Applied', cell: (d) => fmtDate(d.appliedAt) },
            { label: 'Drift', cell: (d) => (d.drift.length ? driftTable(d.drift) : badge('none', 'ok')) },
          ],
          drift,
          'Drift by domain',
          'No domains.',
        ),
      ),
      create ? section('New template', create.el) : null,
    );
  };
  try {
    await load();
  } catch (err) {
    replace(root, alertBox(err));
  }
  return root;
}
