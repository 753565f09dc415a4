/**
 * People read names, not ids: the token's name, the mailbox's address, the tenant's name. These
 * render an id as its name (the id stays on hover, in `title`), from the `names` map the audit
 * endpoints return or from lists the page loaded.
 */
import { h } from './dom.js';
import type { AuditEvent } from './types.js';

export type Names = Record<string, string> | Map<string, string> | undefined;

const lookup = (names: Names, id: string) => (names instanceof Map ? names.get(id) : names?.[id]);

/** A short form of an id no name is known for: `mbx_991d…`. */
export function shortId(id: string): string {
  return /^[a-z]{3}_[0-9a-f]{12,}$/.test(id) ? `${id.slice(0, 8)}…` : id;
}

/** The name of `id` (its id on hover); `fallback` when there is no id. */
export function named(id: string | null | undefined, names: Names, fallback = '—'): HTMLElement | string {
  if (!id) return fallback;
  const name = lookup(names, id);
  return h('span', { class: name ? 'named' : 'named unnamed', title: id, 'data-id': id }, name ?? shortId(id));
}

const ACTOR_KIND: Record<string, string> = { operator: 'operator', 'tenant-admin': 'admin', token: 'API token', system: 'system', public: 'public', 'mailbox-owner': 'owner' };

/** Who did it: `Ada Operator`, `API token "deploy"`, `Ada Operator via token "ci"`, `system (boot)`. */
export function actorOf(e: AuditEvent): Array<HTMLElement | string> {
  const { type, id, tokenId } = e.actor;
  const names = e.names;
  if (type === 'system') return [`system${id ? ` (${id})` : ''}`];
  if (type === 'public') return [id?.startsWith('setup-link:') ? 'setup link' : 'public'];
  const kind = ACTOR_KIND[type] ?? type;
  const who = named(id, names, kind);
  if (type === 'token' || id === tokenId) return [`${kind} `, who];
  return [who, h('span', { class: 'muted small' }, ` ${kind}`), tokenId ? [h('span', { class: 'muted small' }, ' via token '), named(tokenId, names)] : []].flat() as Array<HTMLElement | string>;
}

/** What it touched: `mailbox alice@acme.test`. */
export function targetOf(e: AuditEvent): Array<HTMLElement | string> {
  return [h('span', { class: 'muted small' }, `${e.target.type.replace(/_/g, ' ')} `), named(e.target.id, e.names, '')];
}

/** The tenant's name, or "platform" for events outside any tenant. */
export function tenantOf(e: AuditEvent): HTMLElement | string {
  return named(e.tenantId, e.names, 'platform');
}
