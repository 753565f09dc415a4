/** Login (operators/tenant admins with password + TOTP; mailbox owners), TOTP enrolment, setup links, logout. */
import { ApiError, get, post, seg, setCsrf } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { qrSvg } from '../lib/qr.js';
import { navigate, type RouteContext } from '../lib/router.js';
import { clearSession, loadSession, session } from '../lib/session.js';
import type { Principal } from '../lib/types.js';
import { alertBox, copyButton, fmtDate, form, notice, opt } from '../lib/ui.js';

function nextPath(ctx: RouteContext): string {
  const n = ctx.query.get('next');
  return n && n.startsWith('/') && !n.startsWith('//') ? n : '/';
}

export function loginPage(ctx: RouteContext): Node {
  const ownerMode = ctx.query.get('as') === 'owner';
  const banner = ctx.query.get('expired')
    ? notice('Your session has expired. Please sign in again.', 'warn')
    : ctx.query.get('out')
      ? notice('You are signed out.', 'ok')
      : ctx.query.get('setup')
        ? notice('Your password is set. Sign in now.', 'ok')
        : ctx.query.get('changed')
          ? notice('Your password is changed and every session has ended. Sign in with the new password.', 'ok')
          : null;
  const useRecovery = h('button', { type: 'button', class: 'btn-link' }, 'Use a recovery code instead');
  const principalForm = form({
    submitLabel: 'Sign in',
    fields: [
      { name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'username' },
      { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password' },
      {
        name: 'totp',
        label: 'Authenticator code',
        inputmode: 'numeric',
        autocomplete: 'one-time-code',
        pattern: '[0-9]{6}',
        maxlength: 6,
        help: 'The 6-digit code from your authenticator app. Leave empty on your first sign-in, before you have set one up.',
      },
      { name: 'recoveryCode', label: 'Recovery code', autocomplete: 'off', help: 'One of the codes you saved when you set up your authenticator; each works once.' },
    ],
    extraButtons: [useRecovery],
    async onSubmit(v) {
      const r = await post<{ csrfToken: string; mfa: string; principal: Principal }>('/api/v1/auth/login', {
        email: String(v.email).trim(),
        password: String(v.password),
        totp: opt(v.totp),
        recoveryCode: opt(v.recoveryCode),
      });
      setCsrf(r.csrfToken);
      await loadSession();
      navigate(r.mfa === 'enrol' ? '/enrol' : nextPath(ctx), { replace: true });
    },
  });
  const recoveryWrap = principalForm.fields.get('recoveryCode')!.wrap;
  recoveryWrap.hidden = true;
  useRecovery.addEventListener('click', () => {
    recoveryWrap.hidden = !recoveryWrap.hidden;
    principalForm.fields.get('totp')!.wrap.hidden = !recoveryWrap.hidden;
    useRecovery.textContent = recoveryWrap.hidden ? 'Use a recovery code instead' : 'Use the authenticator code';
    (recoveryWrap.hidden ? principalForm.fields.get('totp')! : principalForm.fields.get('recoveryCode')!).input.focus();
  });

  const ownerForm = form({
    submitLabel: 'Sign in to my mailbox',
    fields: [
      { name: 'address', label: 'Mailbox address', type: 'email', required: true, autocomplete: 'username' },
      { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password' },
      { name: 'totp', label: 'Authenticator code', autocomplete: 'one-time-code', maxlength: 16, help: 'Only if you turned on two-step sign-in (6 digits), or one of your recovery codes.' },
    ],
    async onSubmit(v) {
      const code = String(v.totp ?? '').trim();
      const second = code === '' ? {} : /^[0-9]{6}$/.test(code) ? { totp: code } : { recoveryCode: code };
      const r = await post<{ csrfToken: string }>('/api/v1/self/login', { address: String(v.address).trim(), password: String(v.password), ...second });
      setCsrf(r.csrfToken);
      await loadSession();
      navigate('/self', { replace: true });
    },
  });
  return h(
    'div',
    { class: 'auth-page' },
    h('h1', { tabindex: -1 }, ownerMode ? 'Mailbox owner sign-in' : 'Sign in to Postern'),
    banner,
    ownerMode ? ownerForm.el : principalForm.el,
    ownerMode ? forgotPassword() : null,
    h('p', { class: 'auth-switch' }, ownerMode ? h('a', { href: '/login' }, 'Administrators sign in here') : h('a', { href: '/login?as=owner' }, 'Mailbox owners: manage your own mailbox')),
  );
}

export async function enrolPage(): Promise<Node> {
  const me = session.info?.principal;
  const box = h('div', { class: 'auth-page' }, h('h1', { tabindex: -1 }, 'Set up two-factor authentication'));
  let enrolment: { secret: string; otpauthUri: string };
  try {
    enrolment = await post<{ secret: string; otpauthUri: string }>('/api/v1/auth/totp/enrol');
  } catch (err) {
    box.appendChild(alertBox(err));
    return box;
  }
  const confirm = form({
    submitLabel: 'Confirm',
    fields: [{ name: 'code', label: 'Code from your authenticator app', required: true, inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6 }],
    async onSubmit(v) {
      const r = await post<{ recoveryCodes: string[] }>('/api/v1/auth/totp/confirm', { code: String(v.code).trim() });
      await loadSession();
      const list = r.recoveryCodes.join('\n');
      replace(
        box,
        h('h1', { tabindex: -1 }, 'Save your recovery codes'),
        notice('Two-factor authentication is on. Each recovery code below signs you in once if you lose your authenticator. They are shown only now: store them somewhere safe.', 'ok'),
        h(
          'ul',
          { class: 'codes', 'aria-label': 'Recovery codes' },
          r.recoveryCodes.map((c) => h('li', null, h('code', null, c))),
        ),
        h('p', null, copyButton(list, 'Copy all codes')),
        h('p', null, h('a', { class: 'btn btn-primary', href: '/' }, 'I have saved them — continue')),
      );
      box.querySelector<HTMLElement>('h1')?.focus();
    },
  });
  box.append(
    h('p', null, `Signed in as ${me?.email ?? ''}. Scan this code with an authenticator app, or type the secret by hand, then enter the 6-digit code it shows.`),
    h('div', { class: 'qr-wrap' }, qrSvg(enrolment.otpauthUri, 'QR code for your authenticator app')),
    h('p', null, 'Secret: ', h('code', { class: 'secret', 'data-testid': 'totp-secret' }, enrolment.secret), ' ', copyButton(enrolment.secret, 'Copy secret')),
    confirm.el,
  );
  return box;
}

interface SetupLinkInfo {
  kind: 'mailbox-setup' | 'mailbox-reset' | 'console-account';
  address: string;
  name?: string;
  expiresAt: string;
  passwordRules: string[];
}

/**
 * The page a setup or reset link opens: which address (or console account) it sets up, until
 * when the link works, and the password rules, all before the first attempt.
 */
async function setupPage(infoUrl: string, submit: (password: string) => Promise<void>): Promise<Node> {
  let info: SetupLinkInfo;
  try {
    info = await get<SetupLinkInfo>(infoUrl);
  } catch (err) {
    return h('div', { class: 'auth-page' }, h('h1', { tabindex: -1 }, 'This link cannot be used'), alertBox(err), h('p', null, 'Ask whoever sent it for a new one.'));
  }
  const title = info.kind === 'console-account' ? 'Choose your console password' : info.kind === 'mailbox-reset' ? 'Choose a new mailbox password' : 'Choose your mailbox password';
  const intro =
    info.kind === 'console-account'
      ? [
          'This single-use invitation sets the password of ',
          h('strong', { 'data-testid': 'setup-address' }, info.address),
          info.name ? ` (${info.name})` : '',
          '. You will set up an authenticator app right after your first sign-in.',
        ]
      : ['This single-use link sets the password of the mailbox ', h('strong', { 'data-testid': 'setup-address' }, info.address), '. Use this address and the password in your mail program.'];
  const f = form({
    submitLabel: 'Set password',
    fields: [
      { name: 'password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password' },
      { name: 'repeat', label: 'Repeat the password', type: 'password', required: true, autocomplete: 'new-password' },
    ],
    async onSubmit(v) {
      if (v.password !== v.repeat) throw new ApiError(400, 'Invalid', 'the passwords differ', { issues: [{ field: 'repeat', message: 'The two passwords differ' }] });
      await submit(String(v.password));
    },
  });
  return h(
    'div',
    { class: 'auth-page' },
    h('h1', { tabindex: -1 }, title),
    h('p', null, intro),
    h(
      'div',
      { class: 'password-rules', 'data-testid': 'password-rules' },
      h('p', null, 'The password needs to be:'),
      h(
        'ul',
        null,
        info.passwordRules.map((r) => h('li', null, r)),
      ),
    ),
    f.el,
    h('p', { class: 'muted small' }, `The link works until ${fmtDate(info.expiresAt)}, once.`),
  );
}

export function mailboxSetupPage(ctx: RouteContext): Promise<Node> {
  return setupPage(`/api/v1/setup/${seg(ctx.params.token!)}`, async (password) => {
    await post(`/api/v1/setup/${seg(ctx.params.token!)}`, { password });
    navigate('/login?as=owner&setup=1', { replace: true });
  });
}

export function principalSetupPage(ctx: RouteContext): Promise<Node> {
  return setupPage(`/api/v1/principal-setup/${seg(ctx.params.token!)}`, async (password) => {
    await post(`/api/v1/principal-setup/${seg(ctx.params.token!)}`, { password });
    navigate('/login?setup=1', { replace: true });
  });
}

export async function logout(): Promise<void> {
  try {
    await post('/api/v1/auth/logout');
  } catch {
    /* the session may be gone already */
  }
  clearSession();
  navigate('/login?out=1', { replace: true });
}

/** Mailbox owners who forgot their password: a link to their reset destination, or a recovery code. */
function forgotPassword(): HTMLElement {
  const sent = h('div', { 'aria-live': 'polite' });
  const link = form({
    submitLabel: 'Send me a reset link',
    fields: [{ name: 'address', label: 'Mailbox address for the reset link', type: 'email', required: true, autocomplete: 'username' }],
    async onSubmit(v) {
      const r = await post<{ message: string }>('/api/v1/self/password/reset-link', { address: String(v.address).trim() });
      replace(sent, notice(r.message, 'ok'));
    },
  });
  const recover = form({
    submitLabel: 'Set a new password',
    fields: [
      { name: 'address', label: 'Mailbox address to recover', type: 'email', required: true, autocomplete: 'username' },
      { name: 'recoveryCode', label: 'Recovery code', required: true, autocomplete: 'off' },
      { name: 'newPassword', label: 'New password', type: 'password', required: true, autocomplete: 'new-password' },
    ],
    async onSubmit(v) {
      await post('/api/v1/self/password/recover', { address: String(v.address).trim(), recoveryCode: String(v.recoveryCode).trim(), newPassword: String(v.newPassword) });
      navigate('/login?as=owner&changed=1', { replace: true });
    },
  });
  return h(
    'details',
    { class: 'forgot' },
    h('summary', null, 'Forgot your password?'),
    h('h2', null, 'Reset link'),
    h('p', { class: 'muted' }, 'A single-use link goes to the reset destination your administrator recorded.'),
    sent,
    link.el,
    h('h2', null, 'Recovery code'),
    recover.el,
  );
}
