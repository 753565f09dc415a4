/**
 * Every residual access path of the person behind a mailbox (read-only): the login itself, open
 * protocol and console sessions, app passwords, live setup/reset links, pending resets, their
 * console accounts and API tokens, forwards out of the mailbox and into the person, aliases and
 * catch-alls that deliver to the person, send-as grants, memberships of shared mailboxes, and other mailboxes that depend on the
 * person (owner, business owner, reset destination). Plan, apply and verify share it.
 */
import type { Mailbox } from '../../db/tables/control.table.js';
import type { Repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { type ConvertTo, type Ctx, parseTargets, type ResidualPath } from './common.js';

/**
 * The person's addresses: the mailbox's own (unless it stays in use as shared or alias) and,
 * when the owner of record leaves too, the owner's address. `ownerLeaves` defaults to true when
 * the owner of record owns no other live mailbox of the tenant (a personal mailbox), false
 * otherwise (a manager who owns several mailboxes is not offboarded with one of them).
 */
export async function identitiesOf(r: Repos, m: Mailbox, convertTo: ConvertTo, ownerLeaves: boolean | undefined): Promise<Ctx> {
  const leaves = ownerLeaves ?? !(await r.offboarding.ownerHasOtherMailbox(m.tenant_id, m.id, m.owner_email));
  const ids = new Set<string>();
  if (leaves) ids.add(m.owner_email.toLowerCase());
  if (convertTo === 'disabled') ids.add(m.address);
  return { identities: [...ids], personal: convertTo === 'disabled' };
}

/** Open IMAP/SMTP sessions: `Revoker.sessionCount`, or the CredentialService's `activeSessionCount` until that is wired. */
function openSessions(deps: CoreDeps, mailboxId: string): number {
  const r = deps.revoker as CoreDeps['revoker'] & { activeSessionCount?(id: string): number };
  if (r.sessionCount) return r.sessionCount(mailboxId);
  return typeof r.activeSessionCount === 'function' ? r.activeSessionCount(mailboxId) : 0;
}

/** The mailbox's own access: login, sessions, app passwords, links, pending resets. */
async function mailboxAccess(r: Repos, deps: CoreDeps, m: Mailbox, now: number): Promise<ResidualPath[]> {
  const paths: ResidualPath[] = [];
  if (m.status === 'active' && m.password_hash) paths.push({ kind: 'login', id: m.id, description: `the password of ${m.address} still logs in (IMAP, SMTP, console)` });
  const open = openSessions(deps, m.id);
  if (open > 0) paths.push({ kind: 'session', id: m.id, description: `${open} open IMAP/SMTP session(s) of ${m.address}` });
  for (const s of await r.offboarding.liveConsoleSessions(m.id, now)) {
    if (Number(s.credential_version) === Number(m.credential_version) && m.status === 'active')
      paths.push({ kind: 'console-session', id: s.id, description: `self-service console session${s.source_ip ? ` from ${s.source_ip}` : ''}` });
  }
  for (const a of await r.offboarding.liveAppPasswords(m.id)) paths.push({ kind: 'app-password', id: a.id, description: `app password "${a.name}" (${parseTargets(a.scopes).join(', ')})` });
  for (const l of await r.offboarding.liveLinks(m.id, now))
    paths.push({ kind: 'setup-link', id: l.id, description: `live ${l.purpose} link${l.destination ? ` sent to ${l.destination}` : ' held by its issuer'}` });
  for (const p of await r.offboarding.pendingResets(m.id)) if (Number(p.requested_at) + 24 * 3600_000 > now) paths.push({ kind: 'reset', id: p.id, description: `${p.kind} reset awaiting approval` });
  return paths;
}

/** The person's console accounts and their API tokens. */
async function consoleAccess(r: Repos, m: Mailbox, I: string[], now: number): Promise<ResidualPath[]> {
  const paths: ResidualPath[] = [];
  const principals = await r.offboarding.livePrincipalsByEmail(m.tenant_id, I);
  for (const p of principals) paths.push({ kind: 'principal', id: p.id, description: `console account (${p.kind}) of ${p.email}` });
  for (const t of await r.offboarding.unrevokedApiTokens(principals.map((p) => p.id))) {
    if (t.expires_at === null || Number(t.expires_at) > now) paths.push({ kind: 'api-token', id: t.id, description: `API token "${t.name}" of the person` });
  }
  return paths;
}

/** Forwards out of the mailbox (each copies the person's mail somewhere) and into the person. */
async function forwards(r: Repos, m: Mailbox, I: string[], now: number): Promise<ResidualPath[]> {
  const paths: ResidualPath[] = [];
  for (const f of await r.offboarding.activeForwardsFrom(m.id)) {
    if (f.expires_at !== null && Number(f.expires_at) <= now) continue;
    const kind = Number(f.external) === 1 ? ' (external)' : I.includes(f.target.toLowerCase()) ? ' (the person)' : ' (internal)';
    paths.push({ kind: 'forward', id: f.id, description: `forward from ${m.address} to ${f.target}${kind}` });
  }
  for (const f of await r.offboarding.activeForwardsTo(m.tenant_id, m.id, I)) {
    if (f.expires_at === null || Number(f.expires_at) > now) paths.push({ kind: 'forward', id: f.id, description: `forward from ${f.address} to the person (${f.target})` });
  }
  return paths;
}

/** Aliases and catch-alls delivering to the person, and send-as grants from the mailbox or for the person's addresses. */
async function addresses(r: Repos, m: Mailbox, ctx: Ctx): Promise<ResidualPath[]> {
  const paths: ResidualPath[] = [];
  const I = ctx.identities;
  for (const a of await r.offboarding.activeAliases(m.tenant_id)) {
    const hit = parseTargets(a.targets).filter((t) => I.includes(t));
    if (hit.length) paths.push({ kind: 'alias', id: a.id, description: `alias ${a.address} delivers to ${hit.join(', ')}` });
  }
  for (const d of await r.offboarding.activeCatchAllsTo(m.tenant_id, I)) paths.push({ kind: 'catch-all', id: d.id, description: `catch-all of ${d.name} delivers to ${d.catch_all}` });
  for (const g of await r.offboarding.sendAsGrants(m.tenant_id, I, ctx.personal ? m.id : null)) {
    paths.push({ kind: 'send-as', id: g.id, description: g.mailbox_id === m.id ? `${m.address} may send as ${g.address}` : `another mailbox may send as the person's ${g.address}` });
  }
  return paths;
}

/** Shared mailboxes the person can reach (grants whose member is the mailbox or another mailbox of the person's addresses). */
async function memberships(r: Repos, m: Mailbox, I: string[]): Promise<ResidualPath[]> {
  const members = new Set<string>([m.id]);
  for (const address of I) {
    const own = await r.mailboxes.byAddress(address);
    if (own && own.tenant_id === m.tenant_id) members.add(own.id);
  }
  const paths: ResidualPath[] = [];
  for (const id of members) {
    for (const g of await r.grants.ofMember(id)) {
      paths.push({ kind: 'membership', id: g.id, description: `${g.member_address} has access to the shared mailbox ${g.mailbox_address} (${g.rights.split(',').join(', ')})` });
    }
  }
  return paths;
}

/** Other mailboxes whose owner, business owner or reset destination is the person. */
async function dependents(r: Repos, m: Mailbox, I: string[]): Promise<ResidualPath[]> {
  const paths: ResidualPath[] = [];
  for (const d of await r.offboarding.dependentMailboxes(m.tenant_id, m.id, I)) {
    if (I.includes(d.reset_destination.toLowerCase())) paths.push({ kind: 'reset-destination', id: d.id, description: `reset links of ${d.address} go to the person (${d.reset_destination})` });
    const owner = I.includes(d.owner_email.toLowerCase());
    if (owner || (d.business_owner_email && I.includes(d.business_owner_email.toLowerCase()))) {
      paths.push({ kind: 'ownership', id: d.id, description: `the person is ${owner ? 'owner of record' : 'business owner'} of ${d.address}` });
    }
  }
  return paths;
}

/** Every residual access path (read-only), in a fixed order. `r` may be bound to the use-case transaction. */
export async function enumerate(r: Repos, deps: CoreDeps, m: Mailbox, ctx: Ctx, now: number): Promise<ResidualPath[]> {
  const I = ctx.identities;
  return [
    ...(await mailboxAccess(r, deps, m, now)),
    ...(await consoleAccess(r, m, I, now)),
    ...(await forwards(r, m, I, now)),
    ...(await addresses(r, m, ctx)),
    ...(await memberships(r, m, I)),
    ...(await dependents(r, m, I)),
  ];
}
