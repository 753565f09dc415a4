/** The signed-in principal: identity, permissions, two-factor status, sign out. */
import { h } from '../lib/dom.js';
import { session } from '../lib/session.js';
import { badge, dl, fmtDate, section } from '../lib/ui.js';
import { logout } from './auth.js';

export function accountPage(): Node {
  const p = session.info!.principal!;
  return h(
    'div',
    null,
    h('h1', null, 'Account'),
    section(
      'You',
      dl([
        ['Name', p.name],
        ['Email', p.email],
        ['Scope', p.tenantId ? `tenant ${p.tenantId}` : 'operator (all tenants)'],
        ['Role', p.role ?? 'custom'],
        ['Two-factor authentication', p.totpEnabled ? badge('on', 'ok') : badge('off', 'bad')],
        ['Last sign-in', fmtDate(p.lastLoginAt)],
        ['Session ends', fmtDate(session.info!.expiresAt)],
      ]),
      h('h3', null, 'Permissions'),
      h(
        'ul',
        { class: 'perm-list' },
        p.permissions.map((x) => h('li', null, h('code', null, x))),
      ),
      h('p', { class: 'muted' }, 'Lost your authenticator? Sign in with a recovery code, or ask another operator to reset your login.'),
      h('button', { type: 'button', class: 'btn', onclick: () => void logout() }, 'Sign out'),
    ),
  );
}
