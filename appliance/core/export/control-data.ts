/**
 * The control data of an export, as JSON inside the archive: the mailboxes, their ownership
 * records and forwards, the aliases that deliver to them, and the audit extract of what they
 * are (events on the mailboxes, or on the whole tenant). Read through the actor's scoped
 * repositories and the features' own views, so an export shows what the API shows.
 */
import type { Mailbox } from '../../db/tables/control.table.js';
import { repos } from '../../db/repos/index.js';
import { auditEventView, type AuditEventView } from '../audit/audit.service.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, scopeOf } from '../kernel/authz.js';
import { aliasView, type AliasView } from '../mailboxes/aliases.service.js';
import { mailboxView, type MailboxView } from '../mailboxes/mailboxes.service.js';
import { mailboxOwnership } from '../portfolio/ownership.service.js';
import { forwardView } from '../sending/forwards.service.js';

/** At most this many audit events in an export's extract (the full log: `postern audit export`). */
export const AUDIT_EXTRACT_MAX = 100_000;
const PAGE = 500;

export interface MailboxControl {
  mailbox: MailboxView;
  ownership: unknown;
  forwards: unknown[];
  aliases: AliasView[];
}

export async function tenantMailboxes(actor: Actor, deps: CoreDeps, tenantId: string): Promise<Mailbox[]> {
  const r = repos(deps.db, scopeOf(actor));
  const out: Mailbox[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await r.mailboxes.listInTenant(tenantId, {}, { limit: PAGE, after });
    out.push(...page.filter((m) => m.status !== 'deleted'));
    if (page.length < PAGE) return out;
    after = page[page.length - 1]!.id;
  }
}

export async function tenantAliases(actor: Actor, deps: CoreDeps, tenantId: string): Promise<AliasView[]> {
  const r = repos(deps.db, scopeOf(actor));
  const out: AliasView[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await r.aliases.listInTenant(tenantId, {}, { limit: PAGE, after });
    out.push(...page.map(aliasView));
    if (page.length < PAGE) return out;
    after = page[page.length - 1]!.id;
  }
}

export async function mailboxControl(actor: Actor, deps: CoreDeps, m: Mailbox, aliases: AliasView[]): Promise<MailboxControl> {
  const r = repos(deps.db, scopeOf(actor));
  const now = deps.now();
  const address = m.address.toLowerCase();
  return {
    mailbox: mailboxView(m),
    ownership: await mailboxOwnership(actor, deps, m.id),
    forwards: (await r.sending.forwardsOf(m.id)).map((f) => forwardView(f, now)),
    aliases: aliases.filter((a) => a.targets.some((t) => t.toLowerCase() === address)),
  };
}

/** Audit events of the tenant, or (targetId) of one mailbox, oldest first. */
export async function auditExtract(actor: Actor, deps: CoreDeps, filter: { tenantId: string; targetId?: string }): Promise<{ events: AuditEventView[]; truncated: boolean }> {
  const audit = repos(deps.db, scopeOf(actor)).audit;
  const events: AuditEventView[] = [];
  let after: number | undefined;
  while (events.length < AUDIT_EXTRACT_MAX) {
    const page = await audit.list(filter, after, PAGE);
    events.push(...page.map(auditEventView));
    if (page.length < PAGE) return { events, truncated: false };
    after = Number(page[page.length - 1]!.id);
  }
  return { events, truncated: true };
}
