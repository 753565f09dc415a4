/**
 * `postern spam policy|lists|stats` (issue 15): a tenant's spam policy (and a domain's
 * override), the allow/block lists of a tenant or a mailbox, and the spam decisions counted in
 * /stats/mail. Names are resolved to ids; changes are audited by the API with the given reason.
 */
import type { Group } from './command.js';
import { call, type Ctx, RefusedError, UsageError } from './context.js';
import { emit, fields, table, when } from './output.js';
import { findDomain, findMailbox, findTenant, tenantNames } from './resolve.js';

interface Policy {
  scope: 'tenant' | 'domain' | 'default';
  tenantId: string;
  domainId: string | null;
  overridden: boolean;
  junkScore: number;
  rejectScore: number;
  greylisting: boolean;
  failMode: 'tempfail' | 'accept';
  ownerLists: boolean;
  updatedBy: string | null;
  updatedAt: string | null;
}
interface Entry {
  id: string;
  tenantId: string;
  mailboxId: string | null;
  kind: 'allow' | 'block';
  value: string;
  valueType: string;
  reason: string | null;
  createdBy: string | null;
  createdAt: string;
}
type Counts = Record<string, number>;
interface MailStats {
  scope: string;
  tenantId: string | null;
  spam?: { lastHour: Counts; lastDay: Counts; hours: Array<{ start: string; counts: Counts }> };
}

const q = encodeURIComponent;
const SPAM_SERIES = ['scanned', 'junked', 'rejected', 'greylisted', 'unscanned'] as const;

const onOff = (key: string, v: string): boolean => {
  if (/^(on|true|yes|1)$/i.test(v)) return true;
  if (/^(off|false|no|0)$/i.test(v)) return false;
  throw new UsageError(`${key}=${v}: use on or off`);
};
const score = (key: string, v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${key}=${v}: not a number`);
  return n;
};

/** `junk=6,reject=15,greylisting=on,failmode=tempfail,ownerlists=off` → the fields it changes. */
export function parseSet(spec: string): Partial<Pick<Policy, 'junkScore' | 'rejectScore' | 'greylisting' | 'failMode' | 'ownerLists'>> {
  const out: ReturnType<typeof parseSet> = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 1) throw new UsageError(`--set ${part}: expected key=value (keys: junk, reject, greylisting, failmode, ownerlists)`);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === 'junk') out.junkScore = score(key, value);
    else if (key === 'reject') out.rejectScore = score(key, value);
    else if (key === 'greylisting') out.greylisting = onOff(key, value);
    else if (key === 'ownerlists') out.ownerLists = onOff(key, value);
    else if (key === 'failmode') {
      if (value !== 'tempfail' && value !== 'accept') throw new UsageError(`failmode=${value}: use tempfail or accept`);
      out.failMode = value;
    } else throw new UsageError(`--set: unknown key "${key}" (keys: junk, reject, greylisting, failmode, ownerlists)`);
  }
  if (Object.keys(out).length === 0) throw new UsageError('--set needs at least one key=value');
  return out;
}

function printPolicy(ctx: Ctx, p: Policy, tenant: string, domain: string | null): void {
  const source =
    p.scope === 'default'
      ? 'appliance defaults (never set for this tenant)'
      : p.scope === 'domain'
        ? `override for domain ${domain}`
        : domain
          ? `tenant "${tenant}" (no override for ${domain})`
          : `tenant "${tenant}"`;
  fields(ctx, [
    ['tenant', tenant],
    ...(domain ? ([['domain', domain]] as Array<[string, string]>) : []),
    ['in force from', source],
    ['junk score', `${p.junkScore} (at or above: X-Spam headers, delivered to Junk)`],
    ['reject score', `${p.rejectScore} (at or above: 550 5.7.1 at DATA, nothing stored)`],
    ['greylisting', p.greylisting ? 'on' : 'off'],
    ['scanner down', p.failMode === 'tempfail' ? 'tempfail (451 4.7.1, the sender retries)' : 'accept (delivered unscanned)'],
    ['owner lists', p.ownerLists ? 'owners manage their own lists in self-service' : 'off (only admins)'],
    ['updated', p.updatedAt ? `${when(p.updatedAt)}${p.updatedBy ? ` by ${p.updatedBy}` : ''}` : null],
  ]);
}

/** `<tenant|address>`: a mailbox when it holds an @, else a tenant. */
async function listOwner(ctx: Ctx, ref: string): Promise<{ url: string; label: string; tenant: string; mailbox: string | null }> {
  if (ref.includes('@') || /^mbx_/.test(ref)) {
    const m = await findMailbox(ctx, ref);
    const names = await tenantNames(ctx).catch(() => new Map<string, string>());
    return { url: `/mailboxes/${q(m.id)}/spam-lists`, label: `mailbox ${m.address}`, tenant: names.get(m.tenantId) ?? m.tenantId, mailbox: m.address };
  }
  const t = await findTenant(ctx, ref);
  return { url: `/tenants/${q(t.id)}/spam-lists`, label: `tenant "${t.name}" (tenant-wide)`, tenant: t.name, mailbox: null };
}

export const spamGroup: Group = {
  name: 'spam',
  summary: 'Spam defence: policy per tenant or domain, allow/block lists, spam decision counts',
  commands: {
    policy: {
      summary: 'Show a tenant’s spam policy (or the one in force for --domain); --set changes it, --reset drops a domain override',
      usage: '<tenant>',
      options: {
        domain: { type: 'string', description: 'a domain of the tenant: its override (or the tenant policy it follows)' },
        set: { type: 'string', description: 'junk=<score>,reject=<score>,greylisting=on|off,failmode=tempfail|accept,ownerlists=on|off (any subset; audited)' },
        reset: { type: 'boolean', description: 'with --domain: remove the override, the domain follows its tenant again (audited)' },
        reason: { type: 'string', description: 'why (recorded in the audit log)' },
      },
      async run(ctx, [tenantRef], opts) {
        if (opts.set !== undefined && opts.reset) throw new UsageError('--set and --reset exclude each other');
        if (opts.reset && opts.domain === undefined) throw new UsageError('--reset removes a domain’s override and needs --domain (a tenant policy is changed with --set)');
        const changes = opts.set !== undefined ? parseSet(String(opts.set)) : null;
        const tenant = await findTenant(ctx, tenantRef!);
        let domain: { id: string; name: string } | null = null;
        if (opts.domain !== undefined) {
          const d = await findDomain(ctx, String(opts.domain));
          if (d.tenantId !== tenant.id) throw new RefusedError(`domain ${d.name} does not belong to tenant "${tenant.name}"`, 404, null);
          domain = d;
        }
        const url = domain ? `/domains/${q(domain.id)}/spam-policy` : `/tenants/${q(tenant.id)}/spam-policy`;
        const reason = opts.reason === undefined ? {} : { reason: String(opts.reason) };
        let policy: Policy;
        if (opts.reset) policy = await call<Policy>(ctx, 'DELETE', `${url}${opts.reason === undefined ? '' : `?reason=${q(String(opts.reason))}`}`);
        else if (changes) {
          const current = await call<Policy>(ctx, 'GET', url);
          const body = {
            junkScore: current.junkScore,
            rejectScore: current.rejectScore,
            greylisting: current.greylisting,
            failMode: current.failMode,
            ownerLists: current.ownerLists,
            ...changes,
            ...reason,
          };
          policy = await call<Policy>(ctx, 'PUT', url, body);
        } else policy = await call<Policy>(ctx, 'GET', url);
        emit(ctx, { ...policy, tenant: tenant.name, domain: domain?.name ?? null }, () => {
          if (opts.reset) ctx.out(`Override removed: ${domain!.name} follows tenant "${tenant.name}" again.`);
          else if (changes) ctx.out(`Spam policy ${domain ? `override for ${domain.name}` : `of tenant "${tenant.name}"`} updated.`);
          printPolicy(ctx, policy, tenant.name, domain?.name ?? null);
        });
      },
    },
    lists: {
      summary: 'Allow/block lists of a tenant (tenant-wide) or of a mailbox (an address); --allow, --block or --remove changes them',
      usage: '<tenant|address>',
      options: {
        allow: { type: 'string', description: 'add to the allow list: a sender address, a sender domain (subdomains too) or an IP address/CIDR network (audited)' },
        block: { type: 'string', description: 'add to the block list: the same kinds of value (audited)' },
        remove: { type: 'string', description: 'remove the entry with this id, or the one with this value (audited)' },
        reason: { type: 'string', description: 'why, with --allow or --block (recorded in the audit log)' },
      },
      async run(ctx, [ref], opts) {
        const changes = [opts.allow, opts.block, opts.remove].filter((v) => v !== undefined).length;
        if (changes > 1) throw new UsageError('one of --allow, --block or --remove at a time');
        if (opts.reason !== undefined && opts.allow === undefined && opts.block === undefined) throw new UsageError('--reason goes with --allow or --block (a removal is audited without one)');
        const add = opts.allow !== undefined ? { kind: 'allow', value: String(opts.allow) } : opts.block !== undefined ? { kind: 'block', value: String(opts.block) } : null;
        const owner = await listOwner(ctx, ref!);
        if (add) {
          const body = { ...add, ...(opts.reason === undefined ? {} : { reason: String(opts.reason) }) };
          const e = await call<Entry>(ctx, 'POST', owner.url, body);
          emit(ctx, e, () => ctx.out(`Added to the ${e.kind} list of ${owner.label}: ${e.value} (${e.valueType}), id ${e.id}`));
          return;
        }
        const entries = await call<Entry[]>(ctx, 'GET', owner.url);
        if (opts.remove !== undefined) {
          const key = String(opts.remove);
          const hits = entries.filter((e) => e.id === key || e.value.toLowerCase() === key.toLowerCase());
          if (hits.length === 0) throw new RefusedError(`no entry "${key}" in the lists of ${owner.label}`, 404, null);
          if (hits.length > 1) throw new UsageError(`"${key}" is on both lists of ${owner.label}: remove by id (${hits.map((e) => `${e.kind} ${e.id}`).join(', ')})`);
          const e = hits[0]!;
          await call(ctx, 'DELETE', `/spam-lists/${q(e.id)}`);
          emit(ctx, { removed: e }, () => ctx.out(`Removed from the ${e.kind} list of ${owner.label}: ${e.value} (id ${e.id})`));
          return;
        }
        emit(ctx, entries, () => {
          ctx.out(`Spam lists of ${owner.label}${owner.mailbox ? ` in tenant "${owner.tenant}"` : ''}:`);
          table(
            ctx,
            entries.map((e) => ({ kind: e.kind, value: e.value, type: e.valueType, reason: e.reason, by: e.createdBy, created: when(e.createdAt), id: e.id })),
            [
              ['kind', 'list'],
              ['value', 'value'],
              ['type', 'type'],
              ['reason', 'reason'],
              ['by', 'added by'],
              ['created', 'added'],
              ['id', 'id'],
            ],
          );
        });
      },
    },
    stats: {
      summary: 'Spam decisions (scanned, junked, rejected, greylisted, unscanned): last hour, last day and per hour',
      usage: '',
      options: {
        tenant: { type: 'string', description: 'one tenant’s counts (name or id); default: the whole appliance (operator) or the token’s tenant' },
        hours: { type: 'string', description: 'hourly rows to show, 1 to 48 (default 24)' },
      },
      async run(ctx, _args, opts) {
        const params = new URLSearchParams();
        let tenantName: string | null = null;
        if (opts.tenant !== undefined) {
          const t = await findTenant(ctx, String(opts.tenant));
          params.set('tenantId', t.id);
          tenantName = t.name;
        }
        if (opts.hours !== undefined) {
          if (!/^[0-9]{1,2}$/.test(String(opts.hours)) || Number(opts.hours) < 1 || Number(opts.hours) > 48) throw new UsageError('--hours: a whole number from 1 to 48');
          params.set('hours', String(opts.hours));
        }
        const s = await call<MailStats>(ctx, 'GET', `/stats/mail${params.size ? `?${params}` : ''}`);
        const spam = s.spam ?? { lastHour: {}, lastDay: {}, hours: [] };
        const pick = (c: Counts): Counts => Object.fromEntries(SPAM_SERIES.map((k) => [k, c[k] ?? 0]));
        const data = {
          scope: s.scope,
          tenantId: s.tenantId,
          tenant: tenantName,
          lastHour: pick(spam.lastHour),
          lastDay: pick(spam.lastDay),
          hours: spam.hours.map((h): Counts & { start: string } => ({ ...pick(h.counts), start: h.start }) as Counts & { start: string }),
        };
        emit(ctx, data, () => {
          ctx.out(`Spam decisions, ${tenantName ? `tenant "${tenantName}"` : s.scope === 'tenant' ? 'this tenant' : 'whole appliance'} (since the appliance started):`);
          table(
            ctx,
            [
              { period: 'last hour', ...data.lastHour },
              { period: 'last 24 hours', ...data.lastDay },
              ...data.hours.filter((h) => SPAM_SERIES.some((k) => h[k])).map((h) => ({ period: `hour from ${when(h.start)}`, ...h })),
            ],
            [['period', 'period'], ...SPAM_SERIES.map((k) => [k, k] as [string, string])],
          );
          if (!s.spam) ctx.out('(this control plane reports no spam counts)');
        });
      },
    },
  },
};
