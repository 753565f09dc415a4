/**
 * Mailbox owners' self-service: their mailbox and ownership record, password change, app
 * passwords for mail clients, recovery codes (their second way back in).
 */
import { ApiError, del, get, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { navigate } from '../lib/router.js';
import { clearSession, loadSession, session } from '../lib/session.js';
import { badge, confirmDialog, copyButton, dl, fmtBytes, form, notice, section, toast } from '../lib/ui.js';
import { appPasswordsTable } from './resets.js';

interface AppPassword {
  id: string;
  name: string;
  scopes: string[];
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
}

function passwordSection(): HTMLElement {
  const f = form({
    submitLabel: 'Change password',
    fields: [
      { name: 'currentPassword', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password' },
      { name: 'newPassword', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', help: 'At least 12 characters. Every session ends: mail clients using the main password must sign in again.' },
      { name: 'repeat', label: 'Repeat the new password', type: 'password', required: true, autocomplete: 'new-password' },
    ],
    async onSubmit(v) {
      if (v.newPassword !== v.repeat) throw new ApiError(400, 'Invalid', 'the passwords differ', { issues: [{ field: 'repeat', message: 'The two passwords differ' }] });
      await post('/api/v1/self/password', { currentPassword: String(v.currentPassword), newPassword: String(v.newPassword) });
      clearSession();
      navigate('/login?as=owner&changed=1', { replace: true });
    },
  });
  return section('Password', f.el);
}

async function appPasswordsBox(): Promise<HTMLElement> {
  const box = h('div');
  const created = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    const list = await get<AppPassword[]>('/api/v1/self/app-passwords');
    replace(
      box,
      appPasswordsTable(list, async (a) => {
        const ok = await confirmDialog({ title: 'Revoke this app password?', objectName: a.name, body: h('p', null, 'The mail client using it stops working at once.'), confirmLabel: 'Revoke', danger: true });
        if (!ok) return;
        await del(`/api/v1/self/app-passwords/${seg(a.id)}`);
        toast('App password revoked');
        await load();
      }),
    );
  };
  await load();
  const f = form({
    submitLabel: 'Create app password',
    fields: [
      { name: 'name', label: 'Name', required: true, placeholder: 'Phone mail app', help: 'Which device or program uses it.' },
      { name: 'imap', label: 'Read mail (IMAP)', type: 'checkbox', value: true },
      { name: 'smtp', label: 'Send mail (SMTP)', type: 'checkbox', value: true },
    ],
    fieldAlias: { scopes: 'imap' },
    async onSubmit(v, handle) {
      const scopes = [v.imap === true ? 'imap' : null, v.smtp === true ? 'smtp' : null].filter(Boolean);
      const r = await post<{ name: string; password: string }>('/api/v1/self/app-passwords', { name: String(v.name).trim(), scopes });
      handle.el.reset();
      replace(created, notice(h('div', null, h('p', null, `App password “${r.name}” (shown only now; type it into the mail client):`), h('p', null, h('code', { class: 'secret', 'data-testid': 'app-password' }, r.password), ' ', copyButton(r.password, 'Copy password'))), 'ok'));
      await load();
    },
  });
  return section('App passwords', h('p', { class: 'muted' }, 'Give each mail client its own password, so you can revoke one without changing your main password.'), created, box, h('h3', null, 'New app password'), f.el);
}

async function recoverySection(): Promise<HTMLElement> {
  const r = await get<{ remaining: number }>('/api/v1/self/recovery-codes').catch(() => null);
  const out = h('div', { 'aria-live': 'polite' });
  const f = form({
    submitLabel: 'Create new recovery codes',
    fields: [{ name: 'currentPassword', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password' }],
    async onSubmit(v, handle) {
      const res = await post<{ recoveryCodes: string[] }>('/api/v1/self/recovery-codes', { currentPassword: String(v.currentPassword) });
      handle.el.reset();
      replace(out, notice(h('div', null, h('p', null, 'Your new recovery codes (the old ones no longer work). Each signs you back in once if you forget your password. Store them safely: they are shown only now.'), h('ul', { class: 'codes', 'aria-label': 'Recovery codes' }, res.recoveryCodes.map((c) => h('li', null, h('code', null, c)))), copyButton(res.recoveryCodes.join('\n'), 'Copy all codes')), 'ok'));
    },
  });
  return section('Recovery codes', h('p', null, r ? `${r.remaining} unused recovery codes.` : ''), out, f.el);
}

export async function selfPage(): Promise<Node> {
  await loadSession();
  const m = session.info?.mailbox;
  if (!m) return h('div', null, h('h1', null, 'My mailbox'), notice('No mailbox session.', 'warn'));
  const [apps, recovery] = await Promise.all([appPasswordsBox(), recoverySection()]);
  return h(
    'div',
    null,
    h('h1', null, m.address),
    section(
      'My mailbox',
      dl([
        ['Status', badge(m.status)],
        ['Display name', m.displayName ?? '—'],
        ['Storage', `${fmtBytes(m.usedBytes)} of ${fmtBytes(m.quotaBytes)} · ${m.messageCount} messages`],
        ['Owner of record', `${m.owner.name} <${m.owner.email}>`],
        ['Reset links go to', h('code', null, m.resetDestination)],
      ]),
      h('p', { class: 'muted' }, 'If the reset destination is wrong, ask your administrator to correct it: whoever reads it can reset this mailbox.'),
    ),
    passwordSection(),
    apps,
    recovery,
  );
}
