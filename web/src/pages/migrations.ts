/**
 * Bringing mail in and taking it out (issue 20):
 *  - on the mailbox page: "Migrate mail in" (start an IMAP migration job from another provider),
 *    its jobs with a progress bar per job and per folder (polled while one runs), run again
 *    (retry / incremental pass) and cancel; and the export downloads (mbox, Maildir);
 *  - the tenant's "Migrations" tab: a CSV of source accounts becomes a migration batch;
 *  - the batch page: the plan (bad credentials, sizes per source), apply, the batch's progress
 *    bar and one per mailbox, the report, cancel.
 */
import { api, ApiError, get, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { navigate, type RouteContext } from '../lib/router.js';
import { can } from '../lib/session.js';
import type { Migration, Tenant } from '../lib/types.js';
import { alertBox, badge, confirmDialog, dl, fmtBytes, fmtDate, form, guard, notice, opt, section, table, toast } from '../lib/ui.js';

type JobProgress = Migration['progress'];

const ACTIVE = new Set(['queued', 'running', 'planning', 'applying']);
const POLL_MS = 1000;

export const stateKind = (s: string): 'ok' | 'bad' | 'warn' | 'info' =>
  s === 'done' || s === 'applied' || s === 'ok'
    ? 'ok'
    : s === 'failed' || s === 'bad-credentials' || s === 'unreachable' || s === 'no-mailbox' || s === 'invalid'
      ? 'bad'
      : s === 'cancelled'
        ? 'info'
        : 'warn';

function percentOf(p: { messages: number; bytes: number; totalMessages: number; totalBytes: number }, state: string): number {
  if (state === 'done') return 100;
  const f = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.totalMessages > 0 ? p.messages / p.totalMessages : 0;
  return Math.min(99, Math.floor(f * 100));
}

function bar(percent: number, label: string, text: string): HTMLElement {
  return h('label', { class: 'progress-label' }, text, h('progress', { max: 100, value: percent, 'aria-label': label }));
}

/** Folder rows of a job: one progress bar each. */
function folderBars(job: { progress: JobProgress; state: string }): HTMLElement {
  return table(
    [
      { label: 'Folder', cell: (f) => (f.source === f.target ? f.target : `${f.source} → ${f.target}`) },
      { label: 'Copied', cell: (f) => `${f.copied} of ${f.total}`, class: 'num' },
      {
        label: 'Progress',
        cell: (f) => h('progress', { max: Math.max(f.total, 1), value: f.done ? Math.max(f.total, 1) : f.copied, 'aria-label': `Folder ${f.target}` }),
      },
      { label: '', cell: (f) => (f.done ? badge('done', 'ok') : '') },
    ],
    job.progress.folders,
    'Folders',
    job.state === 'queued' ? 'Waiting to start.' : 'No folders yet.',
  );
}

function jobCard(m: { id: string }, job: Migration, reload: () => void): HTMLElement {
  const p = percentOf(job.progress, job.state);
  const buttons: HTMLElement[] = [];
  if (can('mailboxes.manage') && job.state !== 'running' && job.state !== 'queued') {
    // A run that ended (done, failed, cancelled) wiped the credential: it must be given again; an interrupted job keeps it to resume.
    const token = job.source.auth === 'xoauth2';
    const what = token ? 'OAuth2 access token' : 'password';
    const pw = h('input', {
      type: 'password',
      autocomplete: 'off',
      'aria-label': token ? `Source access token for ${job.source.user}` : `Source password for ${job.source.user}`,
      placeholder: job.credentialsHeld ? `${what} kept` : `source ${what} (required)`,
      required: !job.credentialsHeld,
    });
    buttons.push(
      pw,
      h(
        'button',
        {
          type: 'button',
          class: 'btn',
          onclick: guard(async () => {
            if (!pw.value && !job.credentialsHeld) {
              pw.focus();
              throw new Error(`The source ${what} was wiped when the last run ended: enter it again to run the job.`);
            }
            await post(`/api/v1/migrations/${seg(job.id)}/run`, pw.value ? (token ? { accessToken: pw.value } : { password: pw.value }) : {});
            toast(job.state === 'done' ? 'Copying what is new' : 'Migration queued again');
            reload();
          }),
        },
        job.state === 'done' ? 'Run again (copy what is new)' : 'Retry',
      ),
    );
  }
  if (can('mailboxes.manage') && (job.state === 'queued' || job.state === 'running' || job.state === 'failed' || job.state === 'interrupted')) {
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-danger',
          onclick: guard(async () => {
            const ok = await confirmDialog({
              title: 'Cancel this migration?',
              objectName: `${job.source.user} @ ${job.source.host}`,
              body: h('p', null, 'What was copied stays; the source password is wiped.'),
              confirmLabel: 'Cancel migration',
              danger: true,
            });
            if (!ok) return;
            await post(`/api/v1/migrations/${seg(job.id)}/cancel`, {});
            toast('Migration cancelled');
            reload();
          }),
        },
        'Cancel',
      ),
    );
  }
  return h(
    'div',
    { class: 'card migration-job', 'data-testid': 'migration-job', 'data-state': job.state, 'data-mailbox': m.id },
    h(
      'div',
      { class: 'title-row' },
      h('h3', null, `From ${job.source.user} @ ${job.source.host}:${job.source.port}`),
      h('span', { 'data-testid': 'migration-state' }, badge(job.state, stateKind(job.state))),
    ),
    bar(p, `Migration from ${job.source.host}`, `${job.progress.messages} of ${job.progress.totalMessages} messages, ${fmtBytes(job.progress.bytes)} of ${fmtBytes(job.progress.totalBytes)} (${p}%)`),
    job.error ? alertBox(new Error(job.error)) : null,
    folderBars(job),
    dl([
      ['Started', fmtDate(job.startedAt ?? job.createdAt)],
      ['Finished', fmtDate(job.finishedAt)],
      ...(job.report ? ([['Last run copied', `${job.report.copied} messages, ${fmtBytes(job.report.bytes)}`]] as Array<[string, string]>) : []),
    ]),
    buttons.length ? h('div', { class: 'action-bar' }, buttons) : null,
  );
}

/** The start form: source host, port, TLS mode, user, password or OAuth2 token, folders. */
function startForm(m: { id: string; address: string }, reload: () => void): HTMLElement {
  const f = form({
    submitLabel: 'Start migration',
    fieldAlias: { 'source.host': 'host', 'source.port': 'port', 'source.tls': 'tls', 'source.user': 'user', 'source.password': 'password', 'source.accessToken': 'accessToken' },
    fields: [
      { name: 'host', label: 'Source IMAP server', required: true, placeholder: 'imap.old-provider.example' },
      { name: 'port', label: 'Port', type: 'number', value: 993, required: true },
      {
        name: 'tls',
        label: 'TLS',
        type: 'select',
        value: 'implicit',
        options: [
          ['implicit', 'Implicit TLS (port 993)'],
          ['starttls', 'STARTTLS (port 143)'],
        ],
      },
      { name: 'user', label: 'Login at the old provider', required: true, autocomplete: 'off' },
      { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', help: 'Stored encrypted for the job only and wiped when it ends; never shown again.' },
      { name: 'accessToken', label: 'or OAuth2 access token (Google, Microsoft)', type: 'password', autocomplete: 'off' },
      { name: 'folders', label: 'Folders', type: 'textarea', help: 'One per line; empty: every folder.' },
    ],
    async onSubmit(v) {
      const folders = String(v.folders ?? '')
        .split('\n')
        .map((x) => x.trim())
        .filter(Boolean);
      const source = { host: String(v.host ?? '').trim(), port: Number(v.port), tls: v.tls, user: String(v.user ?? '').trim(), password: opt(v.password), accessToken: opt(v.accessToken) };
      await post(`/api/v1/mailboxes/${seg(m.id)}/migrations`, { source, folders: folders.length ? folders : undefined });
      toast(`Migration into ${m.address} started`);
      reload();
    },
  });
  return h('details', { class: 'card', 'data-testid': 'migrate-in-card' }, h('summary', null, h('h2', { class: 'inline' }, 'Migrate mail in')), f.el);
}

/** Point-in-time restore of this mailbox (or one folder) from a `postern backup` on the appliance (operators). */
function restoreForm(m: { id: string; address: string }): HTMLElement {
  const result = h('div', { 'data-testid': 'restore-result' });
  const f = form({
    submitLabel: 'Restore',
    fields: [
      { name: 'from', label: 'Backup directory on the appliance', required: true, placeholder: '/var/backups/postern', help: 'Where postern backup --out wrote it.' },
      { name: 'snapshot', label: 'Snapshot', help: 'Empty: the newest.' },
      { name: 'folder', label: 'Only this folder', help: 'Empty: every folder. A deleted folder is re-created.' },
    ],
    async onSubmit(v) {
      const r = await post<{ snapshot: string; created: string; restored: number; skipped: number; folders: Array<{ name: string; restored: number; skipped: number; created: boolean }> }>(
        `/api/v1/mailboxes/${seg(m.id)}/restore-from-backup`,
        { from: String(v.from ?? '').trim(), snapshot: opt(v.snapshot), folder: opt(v.folder) },
      );
      replace(
        result,
        notice(`Snapshot ${r.snapshot} (${fmtDate(r.created)}): ${r.restored} message(s) restored, ${r.skipped} still present and left alone.`),
        table(
          [
            { label: 'Folder', cell: (x) => x.name },
            { label: 'Restored', cell: (x) => String(x.restored) },
            { label: 'Skipped', cell: (x) => String(x.skipped) },
            { label: 'Re-created', cell: (x) => (x.created ? 'yes' : 'no') },
          ],
          r.folders,
          'Restored folders',
        ),
      );
      toast(`${r.restored} message(s) restored into ${m.address}`);
    },
  });
  return h(
    'details',
    { class: 'card', 'data-testid': 'restore-card' },
    h('summary', null, h('h2', { class: 'inline' }, 'Restore from a backup')),
    h('p', null, 'Puts this mailbox’s mail back as it was in a backup; messages still present are skipped, other mailboxes are not touched. Audited.'),
    f.el,
    result,
  );
}

/** The mailbox page's migration and export section (polls while a job is queued or running). */
export async function mailboxMigrationSection(m: { id: string; address: string }): Promise<HTMLElement> {
  const root = h('div', { 'data-testid': 'migrations' });
  let timer: ReturnType<typeof setTimeout> | null = null;
  const load = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    const jobs = await get<Migration[]>(`/api/v1/mailboxes/${seg(m.id)}/migrations`).catch((err: unknown) => (err instanceof ApiError && err.status === 404 ? [] : Promise.reject(err)));
    const reload = () => void load().catch((err: unknown) => root.prepend(alertBox(err)));
    replace(
      root,
      can('mailboxes.manage') ? startForm(m, reload) : null,
      section('Migrations', jobs.length ? jobs.map((j) => jobCard(m, j, reload)) : h('p', { class: 'muted' }, 'No migration into this mailbox yet.')),
      section(
        'Export',
        h('p', null, 'Download this mailbox’s mail (every folder) as an archive.'),
        h(
          'div',
          { class: 'action-bar' },
          h('a', { class: 'btn', href: `/api/v1/mailboxes/${seg(m.id)}/export?format=mbox`, download: '', 'data-testid': 'export-mbox' }, 'Export as mbox'),
          h('a', { class: 'btn', href: `/api/v1/mailboxes/${seg(m.id)}/export?format=maildir`, download: '', 'data-testid': 'export-maildir' }, 'Export as Maildir'),
        ),
      ),
      can('backups.restore') ? restoreForm(m) : null,
    );
    if (jobs.some((j) => ACTIVE.has(j.state))) timer = setTimeout(() => (root.isConnected ? reload() : undefined), POLL_MS);
  };
  await load();
  return root;
}

// ——— migration batches (tenant) ———

interface BatchItem {
  row: number;
  address: string;
  mailboxId: string | null;
  source: { host: string; port: number; tls: string; user: string };
  check: { state: string; error: string | null; messages: number | null; bytes: number | null; folders: Array<{ name: string; messages: number; bytes: number }> };
  status: string;
  migration: { id: string; state: string; error: string | null; percent: number; progress: JobProgress } | null;
}
interface BatchSummary {
  id: string;
  tenantId: string;
  name: string;
  state: string;
  concurrency: number;
  plan: { total: number; checked: number; ok: number; badCredentials: number; unreachable: number; noMailbox: number; invalid: number; messages: number; bytes: number };
  progress: { mailboxes: number; ended: number; running: number; messages: number; bytes: number; totalMessages: number; totalBytes: number; percent: number };
  report: { done: number; failed: number; cancelled: number; skipped: number; messages: number; bytes: number };
  error: string | null;
  createdAt: string;
  appliedAt: string | null;
  finishedAt: string | null;
}
interface Batch extends BatchSummary {
  items: BatchItem[];
}

const CHECK_LABEL: Record<string, string> = {
  pending: 'checking…',
  ok: 'login ok',
  'bad-credentials': 'bad credentials',
  unreachable: 'unreachable',
  'no-mailbox': 'no such mailbox',
  invalid: 'invalid row',
};

export function migrationsTab(t: Tenant): HTMLElement {
  const list = h('div');
  void get<BatchSummary[]>(`/api/v1/tenants/${seg(t.id)}/migration-batches`)
    .then((batches) =>
      replace(
        list,
        table(
          [
            { label: 'Batch', cell: (b) => h('a', { href: `/migration-batches/${seg(b.id)}` }, b.name) },
            { label: 'State', cell: (b) => badge(b.state, stateKind(b.state)) },
            { label: 'Sources', cell: (b) => `${b.plan.total} (${b.plan.ok} ok, ${b.plan.badCredentials} bad credentials, ${b.plan.unreachable} unreachable)` },
            { label: 'Progress', cell: (b) => `${b.progress.percent}%` },
            { label: 'Planned', cell: (b) => fmtDate(b.createdAt) },
          ],
          batches,
          'Migration batches',
          'No migration batches yet.',
        ),
      ),
    )
    .catch((err: unknown) => replace(list, alertBox(err)));
  const upload = can('mailboxes.manage')
    ? form({
        submitLabel: 'Upload and check the sources',
        fields: [
          {
            name: 'file',
            label: 'CSV file of source accounts',
            type: 'file',
            required: true,
            accept: '.csv,text/csv',
            help: 'Header row: address,source_host,source_port,tls,user,password (tls: implicit or starttls; address: the mailbox here). Every source is test-logged-in and measured; nothing is copied until you apply. Passwords are stored encrypted and never shown.',
          },
          { name: 'name', label: 'Batch name', placeholder: 'Onboarding ACME' },
          { name: 'concurrency', label: 'Mailboxes at once', type: 'number', value: 4 },
        ],
        fieldAlias: { body: 'file', rows: 'file' },
        async onSubmit(v) {
          const file = v.file as File | null;
          if (!file) throw new ApiError(400, 'Invalid', 'choose a CSV file', { issues: [{ field: 'file', message: 'Choose a CSV file' }] });
          const b = await api<Batch>('POST', `/api/v1/tenants/${seg(t.id)}/migration-batches`, {
            raw: await file.text(),
            contentType: 'text/csv',
            query: { name: opt(v.name), concurrency: v.concurrency ? String(v.concurrency) : undefined },
          });
          toast('Checking the sources: nothing is copied yet');
          navigate(`/migration-batches/${seg(b.id)}`);
        },
      })
    : null;
  return h('div', null, upload ? section('Migrate mailboxes from another provider (CSV)', upload.el) : null, section('Migration batches', list));
}

function itemsTable(b: Batch): HTMLElement {
  return table(
    [
      { label: '#', cell: (i) => i.row, class: 'num' },
      { label: 'Mailbox', cell: (i) => (i.mailboxId ? h('a', { href: `/mailboxes/${seg(i.mailboxId)}` }, i.address) : i.address) },
      { label: 'Source', cell: (i) => `${i.source.user} @ ${i.source.host}:${i.source.port}` },
      {
        label: 'Check',
        cell: (i) =>
          h('span', { 'data-testid': 'check' }, badge(CHECK_LABEL[i.check.state] ?? i.check.state, stateKind(i.check.state)), i.check.error && i.check.state !== 'ok' ? ` ${i.check.error}` : ''),
      },
      { label: 'Size', cell: (i) => (i.check.messages === null ? '—' : `${i.check.messages} messages, ${fmtBytes(i.check.bytes ?? 0)} in ${i.check.folders.length} folders`) },
      {
        label: 'Migration',
        cell: (i) =>
          i.migration
            ? h(
                'div',
                { 'data-testid': 'item-progress' },
                bar(i.migration.percent, `Migration of ${i.address}`, `${i.migration.state}: ${i.migration.progress.messages} of ${i.migration.progress.totalMessages} (${i.migration.percent}%)`),
                h('details', null, h('summary', null, 'Folders'), folderBars(i.migration)),
                i.migration.error ? h('p', { class: 'error' }, i.migration.error) : null,
              )
            : badge(i.status, stateKind(i.status)),
      },
    ],
    b.items,
    'Sources',
  );
}

export async function migrationBatchPage(ctx: RouteContext): Promise<Node> {
  const id = ctx.params.batchId!;
  const root = h('div');
  let timer: ReturnType<typeof setTimeout> | null = null;
  const load = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    const b = await get<Batch>(`/api/v1/migration-batches/${seg(id)}`);
    const reload = () => void load().catch((err: unknown) => root.prepend(alertBox(err)));
    const actions: HTMLElement[] = [];
    if (b.state === 'planned' && can('mailboxes.manage') && b.plan.ok > 0) {
      const f = form({
        submitLabel: `Apply: migrate ${b.plan.ok} mailbox${b.plan.ok === 1 ? '' : 'es'}`,
        fields: [{ name: 'concurrency', label: 'Mailboxes at once', type: 'number', value: b.concurrency }],
        async onSubmit(v) {
          const ok = await confirmDialog({
            title: 'Start these migrations?',
            objectName: b.name,
            body: h('p', null, `Copies ${b.plan.messages} messages (${fmtBytes(b.plan.bytes)}) into ${b.plan.ok} mailboxes. Sources that failed the check are skipped.`),
            confirmLabel: 'Apply',
          });
          if (!ok) return;
          await post(`/api/v1/migration-batches/${seg(b.id)}/apply`, { concurrency: Number(v.concurrency) || undefined });
          toast('Migrating…');
          reload();
        },
      });
      actions.push(section('Apply', f.el));
    }
    if ((b.state === 'planning' || b.state === 'planned' || b.state === 'applying') && can('mailboxes.manage')) {
      actions.push(
        h(
          'div',
          { class: 'action-bar' },
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-danger',
              onclick: guard(async () => {
                const ok = await confirmDialog({
                  title: 'Cancel this batch?',
                  objectName: b.name,
                  body: h('p', null, 'Sources not started are left out, running migrations stop; what was copied stays.'),
                  confirmLabel: 'Cancel batch',
                  danger: true,
                });
                if (!ok) return;
                await post(`/api/v1/migration-batches/${seg(b.id)}/cancel`, {});
                reload();
              }),
            },
            'Cancel batch',
          ),
        ),
      );
    }
    const planText =
      b.state === 'planning'
        ? `Checking the sources: ${b.plan.checked} of ${b.plan.total}`
        : `${b.plan.ok} of ${b.plan.total} sources ok · ${b.plan.badCredentials} bad credentials · ${b.plan.unreachable} unreachable · ${b.plan.noMailbox} without a mailbox here · ${b.plan.invalid} invalid`;
    replace(
      root,
      h('p', { class: 'crumbs' }, h('a', { href: `/tenants/${seg(b.tenantId)}?tab=migrations` }, 'Migrations'), ' / batch'),
      h('div', { class: 'title-row' }, h('h1', null, b.name), h('span', { 'data-testid': 'batch-state' }, badge(b.state, stateKind(b.state)))),
      b.error ? alertBox(new Error(b.error)) : null,
      section(
        'Progress',
        b.state === 'planning' ? bar(Math.floor((b.plan.checked * 100) / Math.max(b.plan.total, 1)), 'Source checks', planText) : h('p', { 'data-testid': 'plan-summary' }, planText),
        bar(
          b.progress.percent,
          'Batch progress',
          `${b.progress.ended} of ${b.progress.mailboxes} mailboxes ended, ${b.progress.running} running · ${b.progress.messages} messages, ${fmtBytes(b.progress.bytes)} (${b.progress.percent}%)`,
        ),
        dl([
          ['To copy', `${b.plan.messages} messages, ${fmtBytes(b.plan.bytes)}`],
          ['Mailboxes at once', String(b.concurrency)],
          ['Planned', fmtDate(b.createdAt)],
          ['Applied', fmtDate(b.appliedAt)],
          ['Finished', fmtDate(b.finishedAt)],
        ]),
        b.state === 'applied' || b.state === 'cancelled'
          ? h(
              'div',
              { 'data-testid': 'batch-report' },
              h('h3', null, 'Report'),
              dl([
                ['Done', String(b.report.done)],
                ['Failed', String(b.report.failed)],
                ['Cancelled', String(b.report.cancelled)],
                ['Skipped (check failed)', String(b.report.skipped)],
                ['Copied', `${b.report.messages} messages, ${fmtBytes(b.report.bytes)}`],
              ]),
            )
          : b.state === 'planned'
            ? notice('This is a plan: nothing has been copied yet.')
            : null,
      ),
      actions,
      section('Sources', itemsTable(b)),
    );
    if (ACTIVE.has(b.state)) timer = setTimeout(() => (root.isConnected ? reload() : undefined), POLL_MS);
  };
  await load();
  return root;
}
