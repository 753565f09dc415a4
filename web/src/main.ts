/** The console shell: header, navigation, session handling and the routes of every screen. */
import './styles.css';
import { handleActivity, handleUnauthorized } from './lib/api.js';
import { h, replace } from './lib/dom.js';
import { navigate, onRender, route, startRouter } from './lib/router.js';
import { can, clearSession, IDLE_MS, isOperator, loadSession, ownTenant, session } from './lib/session.js';
import { alertBox, loading } from './lib/ui.js';
import { accountPage } from './pages/account.js';
import { auditPage } from './pages/audit.js';
import { batchPage } from './pages/bulk.js';
import { enrolPage, loginPage, logout, mailboxSetupPage, principalSetupPage } from './pages/auth.js';
import { dashboardPage } from './pages/dashboard.js';
import { domainPage } from './pages/domain.js';
import { mailboxPage } from './pages/mailbox.js';
import { offboardingPage } from './pages/offboarding.js';
import { peoplePage } from './pages/people.js';
import { approvalsPage } from './pages/resets.js';
import { selfPage } from './pages/self.js';
import { outboundQueuePage } from './pages/mailflow.js';
import { tenantPage, tenantsPage } from './pages/tenants.js';
import { spamPage } from './pages/spam.js';
import { migrationBatchPage } from './pages/migrations.js';

route('/login', loginPage, 'public');
route('/setup/:token', mailboxSetupPage, 'public');
route('/principal-setup/:token', principalSetupPage, 'public');
route('/enrol', enrolPage, 'any');
route('/self', selfPage, 'mailbox');
route('/', dashboardPage);
route('/tenants', tenantsPage);
route('/tenants/:tenantId', tenantPage);
route('/domains/:domainId', domainPage);
route('/mailboxes/:mailboxId', mailboxPage);
route('/mailboxes/:mailboxId/offboarding', offboardingPage);
route('/approvals', approvalsPage);
route('/queue', outboundQueuePage);
route('/batches/:batchId', batchPage);
route('/migration-batches/:batchId', migrationBatchPage);
route('/audit', auditPage);
route('/people', peoplePage);
route('/account', accountPage);
route('/spam', spamPage);

const app = document.getElementById('app')!;
const nav = h('nav', { class: 'nav', 'aria-label': 'Main' });
const userBox = h('div', { class: 'user' });
const menuButton = h('button', { type: 'button', class: 'btn menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'main-nav' }, 'Menu');
nav.id = 'main-nav';
const main = h('main', { id: 'main', tabindex: -1 });
const banner = h('div', { class: 'session-banner', role: 'status', 'aria-live': 'polite' });
replace(app, h('a', { class: 'skip', href: '#main' }, 'Skip to content'), h('header', { class: 'top' }, h('a', { class: 'brand', href: '/' }, 'Postern'), menuButton, nav, userBox), banner, main);
menuButton.addEventListener('click', () => {
  const open = nav.classList.toggle('open');
  menuButton.setAttribute('aria-expanded', String(open));
});
document.querySelector<HTMLAnchorElement>('.skip')!.addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

function link(href: string, label: string, current: string): HTMLElement {
  const here = current + location.search;
  const active = href === '/' ? current === '/' : href.includes('?') ? here === href : here === href || current.startsWith(`${href}/`) || (current === href && /tab=(domains)?$/.test(location.search));
  return h('a', { href, 'aria-current': active ? 'page' : null }, label);
}

function renderChrome(path: string): void {
  const s = session.info;
  nav.classList.remove('open');
  menuButton.setAttribute('aria-expanded', 'false');
  if (!s || (s.kind === 'principal' && s.mfa !== 'ok')) {
    replace(nav);
    replace(userBox, s ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => void logout() }, 'Sign out') : null);
    menuButton.hidden = true;
    return;
  }
  menuButton.hidden = false;
  const items: HTMLElement[] = [];
  if (s.kind === 'mailbox') items.push(link('/self', 'My mailbox', path));
  else {
    items.push(link('/', 'Dashboard', path));
    const own = ownTenant();
    if (isOperator() && can('tenants.read')) items.push(link('/tenants', 'Tenants', path));
    else if (own) {
      items.push(link(`/tenants/${own}`, 'Domains', path));
      items.push(link(`/tenants/${own}?tab=mailboxes`, 'Mailboxes', path));
      items.push(link(`/tenants/${own}?tab=aliases`, 'Aliases', path));
      items.push(link(`/tenants/${own}?tab=bulk`, 'Bulk import', path));
    }
    if (can('tenants.read')) items.push(link('/spam', 'Spam', path));
    if (can('resets.approve')) items.push(link('/approvals', 'Approvals', path));
    if (can('mailflow.read')) items.push(link('/queue', 'Outbound queue', path));
    if (can('audit.read')) items.push(link('/audit', 'Audit log', path));
    if (can('principals.read')) items.push(link('/people', 'People', path));
    items.push(link('/account', 'Account', path));
  }
  replace(
    nav,
    h(
      'ul',
      null,
      items.map((i) => h('li', null, i)),
    ),
  );
  const who = s.kind === 'mailbox' ? s.mailbox?.address : `${s.principal?.name} · ${s.principal?.role ?? (isOperator() ? 'operator' : 'tenant admin')}`;
  replace(userBox, h('span', { class: 'who' }, who ?? ''), h('button', { type: 'button', class: 'btn btn-small', onclick: () => void logout() }, 'Sign out'));
}

let renderSeq = 0;
onRender(async (r, ctx) => {
  const seq = ++renderSeq;
  replace(banner);
  if (r && r.access !== 'public' && !session.info) {
    try {
      await loadSession();
    } catch (err) {
      replace(main, alertBox(err));
      return;
    }
  }
  const s = session.info;
  if (r && r.access !== 'public') {
    if (!s) return navigate(`/login?next=${encodeURIComponent(ctx.path + location.search)}`, { replace: true });
    if (s.kind === 'principal' && s.mfa !== 'ok' && ctx.path !== '/enrol') return navigate('/enrol', { replace: true });
    if (r.access === 'principal' && s.kind !== 'principal') return navigate('/self', { replace: true });
    if (r.access === 'mailbox' && s.kind !== 'mailbox') return navigate('/', { replace: true });
  }
  if (r?.access === 'public' && ctx.path === '/login' && s && !ctx.query.get('expired')) {
    return navigate(s.kind === 'mailbox' ? '/self' : '/', { replace: true });
  }
  renderChrome(ctx.path);
  replace(main, loading());
  try {
    const view = r ? await r.view(ctx) : h('div', null, h('h1', { tabindex: -1 }, 'Page not found'), h('p', null, h('a', { href: '/' }, 'Back to the dashboard')));
    if (seq !== renderSeq) return;
    replace(main, view);
  } catch (err) {
    if (seq !== renderSeq) return;
    replace(main, h('h1', { tabindex: -1 }, 'Something went wrong'), alertBox(err));
  }
  const h1 = main.querySelector<HTMLElement>('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
    document.title = `${h1.textContent ?? ''} · Postern`;
  }
  window.scrollTo(0, 0);
});

// Session expiry: any 401 from the API, and an idle check against the server's 30-minute window.
handleUnauthorized(() => {
  if (!session.info) return;
  clearSession();
  navigate(`/login?expired=1&next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
});
handleActivity(() => {
  session.lastActivity = Date.now();
  replace(banner);
});
setInterval(() => {
  const s = session.info;
  if (!s) return;
  const now = Date.now();
  const idleLeft = session.lastActivity + IDLE_MS - now;
  const hardLeft = Date.parse(s.expiresAt) - now;
  const left = Math.min(idleLeft, hardLeft);
  if (left <= 0) {
    void loadSession().then((info) => {
      if (!info) {
        clearSession();
        navigate('/login?expired=1', { replace: true });
      }
    });
  } else if (left < 2 * 60_000 && !banner.firstChild) {
    replace(banner, h('p', null, 'Your session ends in less than two minutes. ', h('button', { type: 'button', class: 'btn btn-small', onclick: () => void loadSession() }, 'Stay signed in')));
  }
}, 15_000);

startRouter();
