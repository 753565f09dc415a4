/**
 * Mailbox owners' self-service: their mailbox and ownership record, password change, app
 * passwords for mail clients, two-step sign-in (TOTP), their forwards, recovery codes, and the
 * settings to type into a mail client (with an Apple profile to download).
 */
import { ownSpamSection } from './spam.js';
import { ApiError, del, get, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { navigate } from '../lib/router.js';
import { clearSession, loadSession, session } from '../lib/session.js';
import { qrSvg } from '../lib/qr.js';
import { badge, confirmDialog, copyButton, dl, fmtBytes, fmtDate, form, notice, opt, section, table, toast } from '../lib/ui.js';
import { appPasswordsTable } from './resets.js';
import type { AppPassword, OwnForward } from '../lib/types.js';

function passwordSection(): HTMLElement {
  const f = form({
    submitLabel: 'Change password',
    fields: [
      { name: 'currentPassword', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password' },
      {
        name: 'newPassword',
        label: 'New password',
        type: 'password',
        required: true,
        autocomplete: 'new-password',
        help: 'At least 12 characters. Every session ends: mail clients using the main password must sign in again.',
      },
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
        const ok = await confirmDialog({
          title: 'Revoke this app password?',
          objectName: a.name,
          body: h('p', null, 'The mail client using it stops working at once.'),
          confirmLabel: 'Revoke',
          danger: true,
        });
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
      replace(
        created,
        notice(
          h(
            'div',
            null,
            h('p', null, `App password “${r.name}” (shown only now; type it into the mail client):`),
            h('p', null, h('code', { class: 'secret', 'data-testid': 'app-password' }, r.password), ' ', copyButton(r.password, 'Copy password')),
          ),
          'ok',
        ),
      );
      await load();
    },
  });
  return section(
    'App passwords',
    h('p', { class: 'muted' }, 'Give each mail client its own password, so you can revoke one without changing your main password.'),
    created,
    box,
    h('h3', null, 'New app password'),
    f.el,
  );
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
      replace(
        out,
        notice(
          h(
            'div',
            null,
            h('p', null, 'Your new recovery codes (the old ones no longer work). Each signs you back in once if you forget your password. Store them safely: they are shown only now.'),
            h(
              'ul',
              { class: 'codes', 'aria-label': 'Recovery codes' },
              res.recoveryCodes.map((c) => h('li', null, h('code', null, c))),
            ),
            copyButton(res.recoveryCodes.join('\n'), 'Copy all codes'),
          ),
          'ok',
        ),
      );
    },
  });
  return section('Recovery codes', h('p', null, r ? `${r.remaining} unused recovery codes.` : ''), out, f.el);
}

/** Two-step sign-in for this console (TOTP); mail clients keep using app passwords. */
async function totpSection(): Promise<HTMLElement> {
  const box = h('div', { 'aria-live': 'polite' });
  const load = async (): Promise<void> => {
    const st = await get<{ enabled: boolean; enabledAt: string | null }>('/api/v1/self/totp');
    if (st.enabled) {
      const off = form({
        submitLabel: 'Turn off two-step sign-in',
        fields: [
          { name: 'currentPassword', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password' },
          { name: 'code', label: 'Authenticator code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6, required: true },
        ],
        async onSubmit(v) {
          await post('/api/v1/self/totp/disable', { currentPassword: String(v.currentPassword), code: String(v.code).trim() });
          toast('Two-step sign-in is off');
          await load();
        },
      });
      replace(
        box,
        h('p', { 'data-testid': 'owner-totp-status' }, badge('on', 'ok'), ` since ${fmtDate(st.enabledAt)}. Signing in here needs a code from your authenticator app (or a recovery code).`),
        off.el,
      );
      return;
    }
    const start = h('button', { type: 'button', class: 'btn' }, 'Set up two-step sign-in');
    start.addEventListener('click', async () => {
      const e = await post<{ secret: string; otpauthUri: string }>('/api/v1/self/totp/enrol');
      const confirm = form({
        submitLabel: 'Confirm',
        fields: [{ name: 'code', label: 'Code from the app', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6, required: true }],
        async onSubmit(v) {
          await post('/api/v1/self/totp/confirm', { code: String(v.code).trim() });
          toast('Two-step sign-in is on');
          await load();
        },
      });
      replace(
        box,
        h('p', null, 'Scan the code with your authenticator app, or type the secret, then enter the 6-digit code it shows.'),
        h('div', { class: 'qr-wrap' }, qrSvg(e.otpauthUri, 'QR code for your authenticator app')),
        h('p', null, 'Secret: ', h('code', { class: 'secret', 'data-testid': 'owner-totp-secret' }, e.secret), ' ', copyButton(e.secret, 'Copy secret')),
        confirm.el,
      );
      confirm.fields.get('code')!.input.focus();
    });
    replace(box, h('p', { 'data-testid': 'owner-totp-status' }, badge('off', 'warn'), ' Signing in here needs only your password.'), start);
  };
  await load();
  return section('Two-step sign-in', box);
}

/** The mailbox's forwards: the owner adds internal ones, external ones where the policy allows. */
async function forwardsSection(): Promise<HTMLElement> {
  const box = h('div');
  const load = async (): Promise<void> => {
    const r = await get<{ forwards: OwnForward[]; policy: { externalAllowed: boolean; externalMaxDays: number } }>('/api/v1/self/forwards');
    const remove = async (f: OwnForward) => {
      const ok = await confirmDialog({ title: 'Remove this forward?', objectName: f.target, body: h('p', null, 'Mail stops going to this address at once.'), confirmLabel: 'Remove', danger: true });
      if (!ok) return;
      await del(`/api/v1/self/forwards/${seg(f.id)}`);
      toast('Forward removed');
      await load();
    };
    const list = table<OwnForward>(
      [
        { label: 'To', cell: (f) => [f.target, f.external ? [' ', badge('outside', 'warn')] : null] },
        { label: 'Copy kept', cell: (f) => (f.keepCopy ? 'yes' : 'no') },
        { label: 'Status', cell: (f) => badge(f.status, f.status === 'active' ? 'ok' : 'bad') },
        { label: 'Ends', cell: (f) => (f.expiresAt ? fmtDate(f.expiresAt) : '—') },
        { label: 'Set up by', cell: (f) => (f.removable ? 'you' : 'your administrator') },
        { label: '', cell: (f) => (f.removable ? h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => void remove(f) }, 'Remove') : null) },
      ],
      r.forwards,
      'Forwards',
      'Your mail is not forwarded anywhere.',
    );
    const p = r.policy;
    const f = form({
      submitLabel: 'Add forward',
      fields: [
        {
          name: 'target',
          label: 'Forward to',
          type: 'email',
          required: true,
          help: p.externalAllowed
            ? `An address in your organisation, or outside it with a reason and an end date (at most ${p.externalMaxDays} days).`
            : 'An address in your organisation (forwarding outside it is off by your organisation’s policy).',
        },
        { name: 'keepCopy', label: 'Keep a copy in this mailbox', type: 'checkbox', value: true },
        ...(p.externalAllowed
          ? [
              { name: 'reason', label: 'Reason (outside addresses)', help: 'Your administrator sees it in the forwarding report.' },
              { name: 'expiresAt', label: 'End date (outside addresses)', type: 'datetime-local' as const },
            ]
          : []),
      ],
      async onSubmit(v, handle) {
        const expires = opt(v.expiresAt);
        await post('/api/v1/self/forwards', {
          target: String(v.target).trim(),
          keepCopy: v.keepCopy === true,
          reason: opt(v.reason),
          expiresAt: expires ? new Date(expires).toISOString() : undefined,
        });
        handle.el.reset();
        toast('Forward added');
        await load();
      },
    });
    replace(box, list, h('h3', null, 'New forward'), f.el);
  };
  await load();
  return section('Forwarding', h('p', { class: 'muted' }, 'Every forward is recorded with you as its creator and shown to your administrator.'), box);
}

interface MailServer {
  protocol: string;
  host: string;
  port: number;
  socket: string;
}

/** What to type into a mail client: user name, servers, ports and encryption; an Apple profile to download. */
async function mailClientSection(): Promise<HTMLElement> {
  const s = await get<{ email: string; username: string; incoming: MailServer[]; outgoing: MailServer[]; mobileconfigUrl: string }>('/api/v1/self/mail-settings').catch(() => null);
  if (!s) return section('Mail client settings', notice('The settings could not be loaded.', 'warn'));
  const enc = (x: MailServer) => (x.socket === 'SSL' ? 'SSL/TLS' : 'STARTTLS');
  const row = (label: string, x: MailServer) => [label, h('span', null, h('code', null, x.host), ` · port ${x.port} · ${enc(x)}`)] as [string, HTMLElement];
  return section(
    'Mail client settings',
    h('p', { class: 'muted' }, 'Most mail apps find these by themselves from your address. If yours asks, type these:'),
    dl([
      ['Email address', h('code', null, s.email)],
      ['User name (incoming and outgoing)', h('code', { 'data-testid': 'mail-username' }, s.username)],
      ['Password', 'your mailbox password, or an app password (below)'],
      row('Incoming mail (IMAP)', s.incoming[0]!),
      ...s.incoming.slice(1).map((x) => row('… or', x)),
      row('Outgoing mail (SMTP)', s.outgoing[0]!),
      ...s.outgoing.slice(1).map((x) => row('… or', x)),
      ['Sign-in method', 'normal password'],
    ]),
    h(
      'p',
      null,
      h('a', { href: s.mobileconfigUrl, download: `${s.email}.mobileconfig`, 'data-testid': 'mobileconfig' }, 'Download the profile for iPhone, iPad and Mac Mail'),
      h('span', { class: 'muted' }, ' (the device asks for the password).'),
    ),
  );
}

export async function selfPage(): Promise<Node> {
  await loadSession();
  const m = session.info?.mailbox;
  if (!m) return h('div', null, h('h1', null, 'My mailbox'), notice('No mailbox session.', 'warn'));
  const [apps, recovery, totp, forwards, client, spam] = await Promise.all([appPasswordsBox(), recoverySection(), totpSection(), forwardsSection(), mailClientSection(), ownSpamSection()]);
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
    client,
    passwordSection(),
    totp,
    apps,
    forwards,
    spam,
    recovery,
  );
}
