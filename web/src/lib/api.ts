/**
 * The console talks to the same /api/v1 as everyone else, with the session cookie (httpOnly,
 * SameSite=Strict) and the CSRF token in x-csrf-token on every state-changing request. The CSRF
 * token lives in memory, re-read from its readable cookie after a reload; nothing is kept in
 * localStorage.
 */
export interface FieldIssue {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined,
  ) {
    super(message);
  }

  /** Validation issues by field path (body.owner.email → owner.email). */
  get issues(): FieldIssue[] {
    const raw = (this.details?.issues as FieldIssue[] | undefined) ?? [];
    return raw.map((i) => ({ field: String(i.field ?? '').replace(/^(body|querystring|params)\.?/, ''), message: String(i.message ?? '') }));
  }

  /** The route does not exist on this appliance (an API not built yet). */
  get noRoute(): boolean {
    return this.status === 404 && /^no route /.test(this.message);
  }
}

const CSRF_COOKIE = 'postern_csrf';
let csrfToken: string | null = null;
let onUnauthorized: ((err: ApiError) => void) | null = null;
let onActivity: (() => void) | null = null;

export function setCsrf(token: string | null): void {
  csrfToken = token;
}

function csrfFromCookie(): string | null {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === CSRF_COOKIE) return decodeURIComponent(v.join('='));
  }
  return null;
}

export function handleUnauthorized(fn: (err: ApiError) => void): void {
  onUnauthorized = fn;
}

export function handleActivity(fn: () => void): void {
  onActivity = fn;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export async function api<T = unknown>(method: string, path: string, opts: { body?: unknown; query?: Query; quiet401?: boolean; raw?: string; contentType?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken ?? csrfFromCookie();
    if (token) headers['x-csrf-token'] = token;
  }
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] = opts.contentType ?? 'text/plain';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.query), { method, headers, body, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'Network', 'The appliance cannot be reached. Check the connection and try again.', undefined);
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
    const err = new ApiError(res.status, e?.code ?? 'Error', e?.message ?? `request failed (${res.status})`, e?.details);
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  onActivity?.();
  return data as T;
}

export const get = <T>(path: string, query?: Query) => api<T>('GET', path, { query });
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, { body });
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, { body });
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, { body });
export const del = <T>(path: string, query?: Query) => api<T>('DELETE', path, { query });

/** Path segment escaping for ids that come from data. */
export const seg = (s: string) => encodeURIComponent(s);
