/**
 * Exports (offboarding a client or a person): a mailbox's or a whole tenant's mail as mbox or
 * Maildir in a tar stream, with the control data as JSON. Streamed: the archive is produced
 * entry by entry as the client reads it (one message in memory at a time), never built whole.
 * Audited when it starts (who, which mailbox or tenant, format, how much); another tenant's
 * mailbox or tenant is NotFound (the scoped repositories).
 *
 * Archive layout (per mailbox, under "<address>/"; a tenant export has one such folder per
 * mailbox and "tenant.json" at the top):
 *   control.json              mailbox, ownership record, forwards, aliases, audit extract
 *   mbox/<folder>.mbox        (format mbox) one mboxrd file per folder
 *   Maildir/[.<folder>/]cur/… (format maildir) Maildir++ as Python's mailbox.Maildir reads it
 *   messages.json             every message: folder, uid, file, flags, internal date, size, sha256
 */
import { createHash } from 'node:crypto';
import { repos } from '../../db/repos/index.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import type { FolderInfo, MailStore, MessageEntry } from '../../mailstore/store.types.js';
import { appendAuditIn } from '../audit/audit.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError } from '../kernel/errors.js';
import { tenantView } from '../portfolio/tenants.service.js';
import { auditExtract, mailboxControl, type MailboxControl, tenantAliases, tenantMailboxes } from './control-data.js';
import { maildirFolder, maildirName, mboxMessage } from './formats.js';
import { tarDir, tarEnd, tarFile, tarFileHead, tarPad } from './tar.js';

export type ExportFormat = 'mbox' | 'maildir';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['mbox', 'maildir'];

/** What an export reads of the mail store (SqlMailStore in production). */
export type ExportMailSource = Pick<MailStore, 'listFolders' | 'listMessages' | 'readMessage'>;

export interface ExportDeps extends CoreDeps {
  /** null: this control plane has no mail store (exports answer 503). */
  mail: ExportMailSource | null;
}

export interface ExportArchive {
  filename: string;
  folders: number;
  messages: number;
  bytes: number;
  /** The tar stream; iterate it once. */
  stream: AsyncGenerator<Buffer>;
}

interface FolderPlan {
  folder: FolderInfo;
  entries: MessageEntry[];
}

interface MailboxPlan {
  mailbox: Mailbox;
  folders: FolderPlan[];
}

function mailOf(deps: ExportDeps): ExportMailSource {
  if (!deps.mail) throw new AppError('TempFailure', 'the mail store is not available to this control plane');
  return deps.mail;
}

async function planMailbox(mail: ExportMailSource, m: Mailbox): Promise<MailboxPlan> {
  const folders: FolderPlan[] = [];
  for (const folder of await mail.listFolders(m.id)) folders.push({ folder, entries: await mail.listMessages(folder.id) });
  return { mailbox: m, folders };
}

const count = (plans: MailboxPlan[]) => {
  const all = plans.flatMap((p) => p.folders);
  return { folders: all.length, messages: all.reduce((n, f) => n + f.entries.length, 0), bytes: all.reduce((n, f) => n + f.entries.reduce((b, e) => b + e.size, 0), 0) };
};

const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 1)}\n`);

interface MessageRecord {
  folder: string;
  uid: number;
  file: string;
  flags: string[];
  internalDate: string;
  size: number;
  sha256: string;
}

/** The messages.json entry of one exported message. */
function recordOf(folder: string, e: { uid: number; flags: MessageRecord['flags']; internalDate: number }, file: string, raw: Buffer): MessageRecord {
  return { folder, uid: e.uid, file, flags: e.flags, internalDate: new Date(e.internalDate).toISOString(), size: raw.length, sha256: createHash('sha256').update(raw).digest('hex') };
}

async function* maildirEntries(mail: ExportMailSource, base: string, plan: MailboxPlan, host: string, records: MessageRecord[]): AsyncGenerator<Buffer> {
  for (const { folder, entries } of plan.folders) {
    const dir = `${base}/Maildir${folder.name === 'INBOX' ? '' : `/${maildirFolder(folder.name)}`}`;
    for (const sub of ['cur', 'new', 'tmp']) yield* tarDir(`${dir}/${sub}`, Date.now() - 1000);
    for (const e of entries) {
      const raw = await mail.readMessage(e.messageId);
      const file = `${dir}/cur/${maildirName(e, host)}`;
      records.push(recordOf(folder.name, e, file, raw));
      yield* tarFile(file, raw, e.internalDate);
    }
  }
}

async function* mboxEntries(mail: ExportMailSource, base: string, plan: MailboxPlan, records: MessageRecord[]): AsyncGenerator<Buffer> {
  for (const { folder, entries } of plan.folders) {
    const file = `${base}/mbox/${folder.name}.mbox`;
    // A tar header carries the size first: one pass to measure, one to write (bytes are immutable).
    let size = 0;
    for (const e of entries) size += mboxMessage(e, await mail.readMessage(e.messageId)).length;
    yield* tarFileHead(file, size, Date.now());
    let written = 0;
    for (const e of entries) {
      const raw = await mail.readMessage(e.messageId);
      const chunk = mboxMessage(e, raw);
      written += chunk.length;
      if (written > size) throw new AppError('Conflict', `folder ${folder.name} changed during the export`);
      records.push(recordOf(folder.name, e, file, raw));
      yield chunk;
    }
    yield tarPad(size);
  }
}

async function* mailboxArchive(mail: ExportMailSource, plan: MailboxPlan, control: unknown, format: ExportFormat, host: string): AsyncGenerator<Buffer> {
  const base = plan.mailbox.address.toLowerCase();
  yield* tarFile(`${base}/control.json`, json(control), Date.now());
  const records: MessageRecord[] = [];
  if (format === 'maildir') yield* maildirEntries(mail, base, plan, host, records);
  else yield* mboxEntries(mail, base, plan, records);
  yield* tarFile(`${base}/messages.json`, json({ format, messages: records }), Date.now());
}

async function recordExport(actor: Actor, deps: CoreDeps, input: { action: string; targetType: string; targetId: string; tenantId: string; after: Record<string, unknown> }): Promise<void> {
  const r = repos(deps.db, scopeOf(actor));
  await r.transaction((t) => appendAuditIn(t, actor, { action: input.action, targetType: input.targetType, targetId: input.targetId, tenantId: input.tenantId, after: input.after }, deps.now()));
}

const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace(/[:T]/g, '-');

/** One mailbox's mail and control data (permission mailboxes.export). */
export async function exportMailbox(actor: Actor, deps: ExportDeps, mailboxId: string, format: ExportFormat): Promise<ExportArchive> {
  authorize(actor, 'mailboxes.export');
  const m = await repos(deps.db, scopeOf(actor)).mailboxes.get(mailboxId);
  const mail = mailOf(deps);
  const plan = await planMailbox(mail, m);
  const totals = count([plan]);
  await recordExport(actor, deps, { action: 'mailbox.export', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after: { format, ...totals } });
  const control = {
    format: 'postern-export',
    version: 1,
    created: new Date(deps.now()).toISOString(),
    scope: 'mailbox',
    ...(await mailboxControl(actor, deps, m, await tenantAliases(actor, deps, m.tenant_id))),
    folders: plan.folders.map((f) => ({ name: f.folder.name, specialUse: f.folder.specialUse, messages: f.entries.length })),
    audit: await auditExtract(actor, deps, { tenantId: m.tenant_id, targetId: m.id }),
  };
  async function* stream(): AsyncGenerator<Buffer> {
    yield* mailboxArchive(mail, plan, control, format, deps.config.hostname);
    yield tarEnd();
  }
  return { filename: `postern-${m.address.toLowerCase()}-${stamp(deps.now())}-${format}.tar`, ...totals, stream: stream() };
}

/** Every mailbox of a tenant, with the tenant's control data (permission mailboxes.export). */
export async function exportTenant(actor: Actor, deps: ExportDeps, tenantId: string, format: ExportFormat): Promise<ExportArchive> {
  authorize(actor, 'mailboxes.export');
  const tenant = await repos(deps.db, scopeOf(actor)).tenants.get(tenantId);
  const mail = mailOf(deps);
  const mailboxes = await tenantMailboxes(actor, deps, tenant.id);
  const plans: MailboxPlan[] = [];
  for (const m of mailboxes) plans.push(await planMailbox(mail, m));
  const totals = count(plans);
  await recordExport(actor, deps, { action: 'tenant.export', targetType: 'tenant', targetId: tenant.id, tenantId: tenant.id, after: { format, mailboxes: plans.length, ...totals } });
  const aliases = await tenantAliases(actor, deps, tenant.id);
  const controls: MailboxControl[] = [];
  for (const m of mailboxes) controls.push(await mailboxControl(actor, deps, m, aliases));
  const tenantJson = {
    format: 'postern-export',
    version: 1,
    created: new Date(deps.now()).toISOString(),
    scope: 'tenant',
    tenant: tenantView(tenant),
    mailboxes: controls,
    aliases,
    audit: await auditExtract(actor, deps, { tenantId: tenant.id }),
  };
  async function* stream(): AsyncGenerator<Buffer> {
    yield* tarFile('tenant.json', json(tenantJson), Date.now());
    for (const [i, plan] of plans.entries())
      yield* mailboxArchive(
        mail,
        plan,
        { scope: 'mailbox', ...controls[i], folders: plan.folders.map((f) => ({ name: f.folder.name, specialUse: f.folder.specialUse, messages: f.entries.length })) },
        format,
        deps.config.hostname,
      );
    yield tarEnd();
  }
  const safeName = tenant.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  return { filename: `postern-tenant-${safeName}-${stamp(deps.now())}-${format}.tar`, ...totals, stream: stream() };
}
