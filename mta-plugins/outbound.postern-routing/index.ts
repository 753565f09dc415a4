/**
 * Outbound routing for Haraka's queue: hosted domains (bounces to our own senders) go to our own
 * MX listener; a smarthost route (per domain, per tenant, global, or POSTERN_SMARTHOST) wins over
 * MX; otherwise MX lookup through the configured resolver. Results are reported to the appliance.
 */
import { createResolver, type DnsResolveFn } from '../../appliance/net/resolver.js';
import { call, pluginSettings } from '../shared/appliance.js';
import { kept } from '../shared/kept.js';
import { DENY, DENYSOFT, type HarakaPlugin, type Next, OK, safeHook } from '../shared/haraka.js';
import { keepOutboundConnections } from './lib/haraka-pool.js';
import { lookupMx } from './lib/mx.js';
import { OutboundReports, type ReportCall } from './lib/reports.js';

interface HMail {
  todo: { uuid: string; domain: string; mail_from: { address?: string; host?: string | null; isNull(): boolean } };
}

let resolver: DnsResolveFn | null = null;

/**
 * A relayed message's connection is kept for the next message to the same target (lib/pool.ts;
 * issue 18), except connections to the appliance's own MX listener (bounces to our senders).
 */
export function register(this: HarakaPlugin): void {
  const settings = pluginSettings();
  const ownHost = settings.listenHost === '0.0.0.0' ? '127.0.0.1' : settings.listenHost;
  keepOutboundConnections((mx) => !(mx.port === settings.ports.smtp && (mx.exchange === ownHost || mx.exchange === '127.0.0.1')));
}

export const hook_get_mx = safeHook(async function (this: HarakaPlugin, next: Next, hmail: HMail, domain: string) {
  const settings = pluginSettings();
  resolver ??= createResolver(settings.dnsResolver, { cacheMs: 10_000 }); // the same MX for every message to a domain
  const from = hmail.todo.mail_from;
  const senderDomain = from && !from.isNull() ? (from.host ?? null) : null;
  // Kept until a domain or route changes (shared/kept.ts).
  const route = await kept('route.lookup', `${(senderDomain ?? '').toLowerCase()} ${domain.toLowerCase()}`, { senderDomain, rcptDomain: domain });
  // bind_helo: our host name in EHLO, whatever the environment (Haraka leaves it unset under NODE_ENV=test).
  const answer = (list: Array<Record<string, unknown>>) =>
    (next as unknown as (code: number, mx: unknown) => void)(
      OK,
      list.map((m) => ({ ...m, bind_helo: settings.hostname })),
    );
  if (route.kind === 'local') {
    return answer([{ exchange: settings.listenHost === '0.0.0.0' ? '127.0.0.1' : settings.listenHost, port: settings.ports.smtp, priority: 0 }]);
  }
  if (route.kind === 'smarthost') {
    const r = route.route;
    return answer([{ exchange: r.host, port: r.port, priority: 0, ...(r.authUser ? { auth_user: r.authUser, auth_pass: r.authPass, auth_type: 'plain' } : {}) }]);
  }
  const mx = await lookupMx(resolver, domain, settings.outboundPort);
  if (mx === 'null-mx') return next(DENY, `${domain} accepts no mail (null MX)`);
  if (!mx.length) return next(DENYSOFT, `no MX host found for ${domain}`);
  answer(mx as unknown as Array<Record<string, unknown>>);
});

const reports = new OutboundReports(call as ReportCall);

/** Delivery reports leave together every quarter second, deferrals and bounces at once (lib/reports.ts). */
function report(kind: 'delivered' | 'deferred' | 'bounced', hmail: HMail, detail: string): void {
  reports.report({ kind, queueId: hmail.todo.uuid, domain: hmail.todo.domain, detail: detail.slice(0, 500) });
}

export function hook_delivered(this: HarakaPlugin, next: Next, hmail: HMail, params: unknown[]): void {
  report('delivered', hmail, String(params?.[2] ?? ''));
  next();
}

export function hook_deferred(this: HarakaPlugin, next: Next, hmail: HMail, params: { delay?: number; err?: unknown }): void {
  report('deferred', hmail, `retry in ${params?.delay ?? '?'} s: ${String(params?.err ?? '')}`);
  next();
}

export function hook_bounce(this: HarakaPlugin, next: Next, hmail: HMail, err: unknown): void {
  report('bounced', hmail, String((err as Error)?.message ?? err));
  next();
}
