/** Tenant access policy (reset delivery, emergency approvals, forwarding, offboarding grace) and the forwarding report. */
import { get, put, seg } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { can, isOperator } from '../lib/session.js';
import type { Tenant } from '../lib/types.js';
import { alertBox, badge, fmtDate, form, section, table, toast } from '../lib/ui.js';
import type { AccessPolicy, ForwardingReport } from '../lib/types.js';

export async function accessPolicySection(t: Tenant): Promise<HTMLElement> {
  let p: AccessPolicy;
  try {
    p = await get<AccessPolicy>(`/api/v1/tenants/${seg(t.id)}/access-policy`);
  } catch (err) {
    return section('Access policy', alertBox(err));
  }
  const f = form({
    submitLabel: 'Save access policy',
    fields: [
      { name: 'resetLinkToCaller', label: 'Admins may receive reset links themselves (otherwise links only go by email to the reset destination)', type: 'checkbox', value: p.resetLinkToCaller },
      { name: 'resetRevokesAppPasswords', label: 'A reset also revokes app passwords', type: 'checkbox', value: p.resetRevokesAppPasswords },
      { name: 'resetRatePerHour', label: 'Resets per hour (rate limit)', type: 'number', value: p.resetRatePerHour },
      {
        name: 'emergencyHighValueApprover',
        label: 'Emergency resets of high-value mailboxes are approved by',
        type: 'select',
        value: p.emergencyHighValueApprover,
        options: [
          ['operator', 'an operator'],
          ['tenant', 'a tenant admin (operators only may allow this)'],
        ],
      },
      { name: 'externalForwarding', label: 'Allow forwarding to external addresses', type: 'checkbox', value: p.externalForwarding },
      { name: 'staleForwardDays', label: 'A forward is stale after (days unused)', type: 'number', value: p.staleForwardDays },
      { name: 'offboardingUndoDays', label: 'Offboarding can be undone for (days)', type: 'number', value: p.offboardingUndoDays },
      { name: 'ownersManageSharing', label: 'Mailbox owners may share their own mailbox (IMAP SETACL)', type: 'checkbox', value: p.ownersManageSharing },
      { name: 'reason', label: 'Reason (recorded in the audit log)' },
    ],
    async onSubmit(v) {
      await put(`/api/v1/tenants/${seg(t.id)}/access-policy`, {
        resetLinkToCaller: v.resetLinkToCaller === true,
        resetRevokesAppPasswords: v.resetRevokesAppPasswords === true,
        resetRatePerHour: Number(v.resetRatePerHour),
        ...(isOperator() || v.emergencyHighValueApprover !== p.emergencyHighValueApprover ? { emergencyHighValueApprover: v.emergencyHighValueApprover } : {}),
        externalForwarding: v.externalForwarding === true,
        staleForwardDays: Number(v.staleForwardDays),
        offboardingUndoDays: Number(v.offboardingUndoDays),
        ownersManageSharing: v.ownersManageSharing === true,
        reason: String(v.reason).trim() || undefined,
      });
      toast('Access policy saved');
    },
  });
  return section(
    'Access policy',
    p.updatedAt ? h('p', { class: 'muted' }, `Last changed ${fmtDate(p.updatedAt)} by ${p.updatedBy ?? '—'}`) : null,
    can('policies.manage') ? f.el : h('p', null, 'You may not change the policy.'),
  );
}

export async function forwardingTab(t: Tenant): Promise<HTMLElement> {
  try {
    const r = await get<ForwardingReport>(`/api/v1/tenants/${seg(t.id)}/forwarding-report`);
    return section(
      'Forwarding report',
      h(
        'p',
        null,
        `${r.summary.total} forwards · ${r.summary.active} active · `,
        badge(`${r.summary.external} external`, r.summary.external ? 'warn' : 'ok'),
        ' ',
        badge(`${r.summary.stale} stale`, r.summary.stale ? 'warn' : 'ok'),
        ' ',
        badge(`${r.summary.expired} expired`, 'info'),
        ` · external forwarding ${r.externalForwardingAllowed ? 'allowed' : 'off'} · stale after ${r.staleAfterDays} days unused`,
      ),
      table(
        [
          { label: 'Mailbox', cell: (f) => h('a', { href: `/mailboxes/${seg(f.mailboxId)}` }, f.mailbox) },
          { label: 'To', cell: (f) => f.target },
          { label: 'Type', cell: (f) => badge(f.destinationType, f.destinationType === 'external' ? 'warn' : 'info') },
          { label: 'Status', cell: (f) => badge(f.status) },
          { label: 'Flags', cell: (f) => f.flags.map((x) => [badge(x, 'warn'), ' ']) },
          { label: 'Age', cell: (f) => `${f.ageDays} d`, class: 'num' },
          { label: 'Created by', cell: (f) => [h('span', { title: f.createdBy }, f.createdByName ?? f.createdBy), f.reason ? ` — ${f.reason}` : ''] },
          { label: 'Expires', cell: (f) => fmtDate(f.expiresAt) },
          { label: 'Last used', cell: (f) => fmtDate(f.lastUsedAt) },
        ],
        r.forwards,
        'Forwards',
        'No forwards in this tenant.',
      ),
    );
  } catch (err) {
    return section('Forwarding report', alertBox(err));
  }
}
