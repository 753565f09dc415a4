/**
 * People type names, not ids: a mailbox or alias address, a person's email, a token's name, a
 * tenant's or domain's name. `resolveRef` turns such text into the id an API filter takes (ids
 * are accepted as they are), searching what the signed-in actor may see.
 */
import { get, seg } from './api.js';

export type RefKind = 'mailbox' | 'alias' | 'principal' | 'token' | 'tenant' | 'domain';

export interface Ref {
  kind: RefKind;
  id: string;
  label: string;
}

const ID = /^[a-z]{3}_[0-9a-z]{6,}$/i;
const KIND_LABEL: Record<RefKind, string> = { mailbox: 'mailbox', alias: 'alias', principal: 'person', token: 'API token', tenant: 'tenant', domain: 'domain' };

export const describeRef = (r: Ref) => `${KIND_LABEL[r.kind]} ${r.label}`;

async function settled<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch {
    return []; // not visible to this actor (403/404): nothing found there
  }
}

/**
 * Candidates for `text` among `tenants` (and platform principals/tokens when `platform`).
 * An id is returned as is (kind guessed from its prefix).
 */
export async function findRefs(text: string, tenants: Array<{ id: string; name: string }>, platform: boolean): Promise<Ref[]> {
  const t = text.trim();
  if (!t) return [];
  if (ID.test(t))
    return [{ kind: ({ mbx: 'mailbox', als: 'alias', prn: 'principal', tok: 'token', tnt: 'tenant', dom: 'domain' } as Record<string, RefKind>)[t.slice(0, 3)] ?? 'mailbox', id: t, label: t }];
  const low = t.toLowerCase();
  const out: Ref[] = [];
  const q = { q: t.includes('@') ? t.slice(0, t.lastIndexOf('@')) : t, limit: '100' };
  const jobs: Array<Promise<void>> = [];
  const add = <T>(kind: RefKind, p: Promise<T[]>, key: (x: T) => string, id: (x: T) => string) =>
    jobs.push(settled(p).then((xs) => xs.filter((x) => key(x).toLowerCase() === low).forEach((x) => out.push({ kind, id: id(x), label: key(x) }))));
  type Named = { id: string; name: string };
  type Addressed = { id: string; address: string };
  type Person = { id: string; email: string | null; name: string };
  const personKey = (p: Person) => (t.includes('@') ? (p.email ?? '') : p.name);
  if (platform) {
    add<Person>('principal', get<Person[]>('/api/v1/principals', { q: t, limit: '100' }), personKey, (p) => p.id);
    add<Named>(
      'token',
      get<Named[]>('/api/v1/tokens', { q: t, limit: '100' }),
      (x) => x.name,
      (x) => x.id,
    );
  }
  for (const tn of tenants) {
    if (tn.name.toLowerCase() === low) out.push({ kind: 'tenant', id: tn.id, label: tn.name });
    const base = `/api/v1/tenants/${seg(tn.id)}`;
    add<Person>('principal', get<Person[]>(`${base}/principals`, { q: t, limit: '100' }), personKey, (p) => p.id);
    if (t.includes('@')) {
      add<Addressed>(
        'mailbox',
        get<Addressed[]>(`${base}/mailboxes`, q),
        (x) => x.address,
        (x) => x.id,
      );
      add<Addressed>(
        'alias',
        get<Addressed[]>(`${base}/aliases`, q),
        (x) => x.address,
        (x) => x.id,
      );
    } else {
      add<Named>(
        'token',
        get<Named[]>(`${base}/tokens`, { q: t, limit: '100' }),
        (x) => x.name,
        (x) => x.id,
      );
      if (t.includes('.'))
        add<Named>(
          'domain',
          get<Named[]>(`${base}/domains`, { q: t, limit: '100' }),
          (x) => x.name,
          (x) => x.id,
        );
    }
  }
  await Promise.all(jobs);
  return out.filter((r, i) => out.findIndex((x) => x.id === r.id) === i);
}

/**
 * The one id `text` names, preferring `kinds` when several things share the name. Throws a
 * message the page can show when nothing or too much matches. Words no search finds (system
 * actors such as `boot`) pass through as they are.
 */
export async function resolveRef(text: string, tenants: Array<{ id: string; name: string }>, platform: boolean, kinds: RefKind[] = []): Promise<Ref> {
  const t = text.trim();
  const found = await findRefs(t, tenants, platform);
  const preferred = kinds.length ? found.filter((r) => kinds.includes(r.kind)) : found;
  const hits = preferred.length ? preferred : found;
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) throw new Error(`“${t}” names ${hits.length} things (${hits.map(describeRef).join(', ')}): set the target type or use an id (${hits.map((r) => r.id).join(', ')})`);
  if (/^[\w.:-]+$/.test(t) && !t.includes('@')) return { kind: 'principal', id: t, label: t };
  throw new Error(`Nothing visible to you is called “${t}”: type a mailbox or alias address, a person’s email, a token’s name, a tenant or domain name, or an id`);
}
