/**
 * IMAP migration jobs (issue 20), the use cases: start a job for a mailbox, read it, list a
 * mailbox's jobs, run it again (incremental: only what is new is copied) and cancel it. Every
 * function takes the actor first and authorizes before it reads; another tenant's mailbox or
 * job is NotFound (the scoped repositories). The source credential is sealed (secret-box) at
 * once, never returned or logged, and wiped when a run ends (done, failed, cancelled; an
 * interrupted job keeps it until its resumed run ends). The copy runs
 * in the background (runner.ts); these calls only record and enqueue.
 */
import { appendAudit } from '../audit/audit.js';
import { sealSecret } from '../access/secret-box.js';
import { type Repos, repos, trxOf } from '../../db/repos/index.js';
import type { MigrationRow } from '../../db/repos/migrations.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError, notFound } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import type { MigrationDeps, MigrationView, StartMigrationInput } from './migration.types.js';
import { checkFolders, checkSecret, checkSource, migrationView } from './view.js';

async function viewOf(r: Repos, row: MigrationRow): Promise<MigrationView> {
  const mailbox = await r.mailboxes.find(row.mailbox_id);
  return migrationView(row, mailbox?.address ?? '', await r.migrations.folders(row.id));
}

async function jobOf(r: Repos, id: string): Promise<MigrationRow> {
  const row = await r.migrations.find(id);
  if (!row) throw notFound('migration');
  return row;
}

function auditTarget(row: { tenant_id: string; mailbox_id: string }) {
  return { targetType: 'mailbox', targetId: row.mailbox_id, tenantId: row.tenant_id } as const;
}

/** Records a job for the mailbox (state queued) and hands it to the runner. */
export async function startMigration(actor: Actor, deps: MigrationDeps, mailboxId: string, input: StartMigrationInput): Promise<MigrationView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const mailbox = await r.mailboxes.get(mailboxId);
  const source = checkSource(input?.source);
  const folders = checkFolders(input?.folders);
  if (mailbox.status !== 'active') throw new AppError('Conflict', `a ${mailbox.status} mailbox cannot receive a migration`, { status: mailbox.status });
  const now = deps.now();
  const id = newId('mig');
  await r.transaction(async (t) => {
    const active = await t.migrations.activeForMailbox(mailbox.id);
    if (active) throw new AppError('Conflict', 'this mailbox already has a migration queued or running', { migrationId: active });
    await t.migrations.insert({
      id,
      tenant_id: mailbox.tenant_id,
      mailbox_id: mailbox.id,
      state: 'queued',
      source_host: source.host,
      source_port: source.port,
      source_tls: source.tls,
      source_user: source.user,
      source_auth: source.auth,
      source_secret: sealSecret(source.secret),
      folders: folders ? JSON.stringify(folders) : null,
      report: null,
      error: null,
      created_by: actor.principalId,
      created_from: actor.origin?.sourceIp ?? null,
      created_at: now,
      started_at: null,
      finished_at: null,
      updated_at: now,
    });
    await appendAudit(
      trxOf(t),
      actor,
      {
        action: 'mailbox.migration.start',
        ...auditTarget({ tenant_id: mailbox.tenant_id, mailbox_id: mailbox.id }),
        after: { migrationId: id, host: source.host, port: source.port, tls: source.tls, user: source.user, auth: source.auth, folders: folders ?? 'all' },
      },
      now,
    );
  });
  // The answer shows the job as recorded (queued): the runner may claim it right after.
  const view = await viewOf(r, await jobOf(r, id));
  deps.migrations?.enqueue(id);
  return view;
}

export async function getMigration(actor: Actor, deps: MigrationDeps, id: string): Promise<MigrationView> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  return viewOf(r, await jobOf(r, id));
}

/** A mailbox's jobs, newest first. */
export async function listMigrations(actor: Actor, deps: MigrationDeps, mailboxId: string): Promise<MigrationView[]> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  const mailbox = await r.mailboxes.get(mailboxId);
  const rows = await r.migrations.listForMailbox(mailbox.id);
  return Promise.all(rows.map(async (row) => migrationView(row, mailbox.address, await r.migrations.folders(row.id))));
}

/**
 * Runs the job again: an incremental pass (only what is new since the last run is copied), the
 * retry of a failed job, the resumption of an interrupted one, or the final pass before the MX
 * switch. A job that ended has no credential any more: the caller gives it again.
 */
export async function runMigration(actor: Actor, deps: MigrationDeps, id: string, input: { password?: string; accessToken?: string } = {}): Promise<MigrationView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const row = await jobOf(r, id);
  const given = input.password || input.accessToken ? checkSecret(input) : null;
  if (row.state === 'running') throw new AppError('Conflict', 'the migration is running');
  if (!given && !row.has_secret) {
    const what = row.source_auth === 'xoauth2' ? 'a fresh OAuth2 access token (accessToken)' : 'the source password (password)';
    throw new AppError('Invalid', `the source credential was wiped when the job's last run ended (${row.state}): give ${what} again`, {
      field: row.source_auth === 'xoauth2' ? 'accessToken' : 'password',
    });
  }
  const now = deps.now();
  await r.transaction(async (t) => {
    const active = await t.migrations.activeForMailbox(row.mailbox_id);
    if (active && active !== id) throw new AppError('Conflict', 'this mailbox already has another migration queued or running', { migrationId: active });
    const moved = await t.migrations.transition(id, ['queued', 'done', 'failed', 'cancelled', 'interrupted'], {
      state: 'queued',
      error: null,
      finished_at: null,
      updated_at: now,
      ...(given ? { source_auth: given.auth, source_secret: sealSecret(given.secret) } : {}),
    });
    if (!moved) throw new AppError('Conflict', 'the migration is running');
    await appendAudit(trxOf(t), actor, { action: 'mailbox.migration.run', ...auditTarget(row), before: { migrationId: id, state: row.state }, after: { state: 'queued' } }, now);
  });
  // The answer shows the job as recorded (queued): the runner may claim it right after.
  const view = await viewOf(r, await jobOf(r, id));
  deps.migrations?.enqueue(id);
  return view;
}

/** Cancels a job that has not ended; a running copy stops at the next message boundary. The credential is wiped. */
export async function cancelMigration(actor: Actor, deps: MigrationDeps, id: string): Promise<MigrationView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const row = await jobOf(r, id);
  if (row.state === 'cancelled') return viewOf(r, row);
  if (row.state === 'done') throw new AppError('Conflict', 'the migration is done; nothing to cancel');
  const now = deps.now();
  await r.transaction(async (t) => {
    const moved = await t.migrations.transition(id, ['queued', 'running', 'failed', 'interrupted'], { state: 'cancelled', source_secret: null, finished_at: now, updated_at: now });
    if (!moved) throw new AppError('Conflict', 'the migration ended meanwhile');
    await appendAudit(
      trxOf(t),
      actor,
      { action: 'mailbox.migration.cancel', ...auditTarget(row), before: { migrationId: id, state: row.state }, after: { state: 'cancelled', copied: row.messages } },
      now,
    );
  });
  deps.migrations?.abort(id);
  return viewOf(r, await jobOf(r, id));
}
