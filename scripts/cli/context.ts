/**
 * What every CLI command gets: the API client (token from POSTERN_TOKEN, API from
 * POSTERN_API_URL or the local control plane's configuration), the output mode, and the
 * errors that decide the exit code.
 */
import { readFileSync, existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import path from 'node:path';
import { loadConfig } from '../../appliance/config.js';
import { ApiClient } from '../lib/api-client.js';

/** Exit codes: 0 done, 1 the API refused (4xx/5xx answer, or not ready), 2 usage, 3 no connection. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

export class UsageError extends Error {}
export class RefusedError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}
export class UnreachableError extends Error {}

export interface Ctx {
  api: ApiClient;
  /** The same transport on the control plane's origin, without a token (health endpoints). */
  publicApi: ApiClient;
  /** The API base, e.g. http://127.0.0.1:8080/api/v1. */
  apiUrl: string;
  /** The control plane's origin (where /readyz lives). */
  origin: string;
  json: boolean;
  out: (line: string) => void;
}

interface Target {
  apiUrl: string;
  /** Trust anchors and TLS name for an HTTPS control plane on this box (its own certificate). */
  tls: { ca?: Buffer; servername?: string } | null;
}

/** The API to talk to: POSTERN_API_URL, else the control plane this box's configuration describes. */
export function resolveTarget(env: NodeJS.ProcessEnv): Target {
  const explicit = env.POSTERN_API_URL?.trim();
  let config: ReturnType<typeof loadConfig> | null = null;
  try {
    config = loadConfig(env);
  } catch {
    config = null; // an invalid appliance setting is the appliance's business; use the defaults
  }
  const caFile = env.POSTERN_CA_FILE?.trim() || (config && !config.tlsCertFile ? path.join(config.dataDir, 'tls', 'cert.pem') : null);
  const ca = caFile && existsSync(caFile) ? readFileSync(caFile) : undefined;
  if (explicit) {
    const apiUrl = explicit.replace(/\/+$/, '');
    if (!apiUrl.startsWith('https:')) return { apiUrl, tls: null };
    // On the box itself, the appliance's own certificate is trusted too (by its host name when the URL names an IP).
    const host = new URL(apiUrl).hostname.replace(/^\[|\]$/g, '');
    return { apiUrl, tls: { ca, servername: ca && isIP(host) ? config?.hostname : undefined } };
  }
  const tls = config?.httpTls ?? false;
  const port = config?.ports.http ?? 8080;
  const apiUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/api/v1`;
  // Loopback with the appliance's own (self-signed) certificate: verify it by its host name.
  return { apiUrl, tls: tls ? { ca, servername: config?.hostname } : null };
}

/** fetch over node:https with the given trust anchors (Node 20's fetch takes no CA option). */
function httpsFetch(opts: { ca?: Buffer; servername?: string }): typeof fetch {
  return ((input: string | URL, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const u = new URL(String(input));
      const req = httpsRequest(
        u,
        { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.servername ? { servername: opts.servername } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
            const status = res.statusCode ?? 500;
            resolve(new Response(status === 204 ? null : Buffer.concat(chunks), { status, headers }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (init.body) req.write(init.body as string);
      req.end();
    })) as typeof fetch;
}

export function createCtx(env: NodeJS.ProcessEnv, json: boolean, out: (line: string) => void): Ctx {
  const target = resolveTarget(env);
  const token = env.POSTERN_TOKEN?.trim() ?? '';
  const transport = target.tls ? httpsFetch(target.tls) : fetch;
  const origin = target.apiUrl.endsWith('/api/v1') ? target.apiUrl.slice(0, -'/api/v1'.length) : new URL(target.apiUrl).origin;
  return { api: new ApiClient(target.apiUrl, token, transport), publicApi: new ApiClient(origin, '', transport), apiUrl: target.apiUrl, origin, json, out };
}

/** A network failure, named: refused connection, unknown host, an untrusted certificate (with the fix). */
function unreachable(where: string, err: unknown): UnreachableError {
  // fetch wraps the network error in `cause`; the https transport throws it as is.
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause ?? e;
  const reason = cause.code ?? cause.message ?? String(err);
  const hint = /CERT|certificate/i.test(`${cause.code} ${cause.message}`) ? ' (set POSTERN_CA_FILE to the PEM certificate to trust)' : '';
  return new UnreachableError(`cannot reach the control plane at ${where}: ${reason}${hint}`);
}

function describeRefusal(status: number, body: any): string {
  const e = body?.error;
  if (e?.message) return `${e.code ?? 'Error'} (HTTP ${status}): ${e.message}`;
  return `HTTP ${status}`;
}

async function send(ctx: Ctx, method: string, url: string, body?: unknown): Promise<{ status: number; headers: Headers; text: string }> {
  if (!ctx.api.token) throw new UsageError('POSTERN_TOKEN is not set: export POSTERN_TOKEN=<an operator or tenant API token>');
  try {
    return await ctx.api.raw(method, url, body);
  } catch (err) {
    throw unreachable(ctx.apiUrl, err);
  }
}

/** A JSON call; any status other than 2xx throws RefusedError with the API's own message. */
export async function call<T = any>(ctx: Ctx, method: string, url: string, body?: unknown): Promise<T> {
  const res = await send(ctx, method, url, body);
  let parsed: unknown = null;
  try {
    parsed = res.text ? JSON.parse(res.text) : null;
  } catch {
    parsed = res.text;
  }
  if (res.status >= 300) throw new RefusedError(`${method} ${url} refused: ${describeRefusal(res.status, parsed)}`, res.status, parsed);
  return parsed as T;
}

/** A text call (exports, zone snippets). */
export async function callText(ctx: Ctx, url: string): Promise<{ text: string; headers: Headers }> {
  const res = await send(ctx, 'GET', url);
  if (res.status >= 300) {
    let parsed: unknown = res.text;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      /* keep the text */
    }
    throw new RefusedError(`GET ${url} refused: ${describeRefusal(res.status, parsed)}`, res.status, parsed);
  }
  return { text: res.text, headers: res.headers };
}

/** Plain fetch of a public path on the control plane (health endpoints). */
export async function callPublic(ctx: Ctx, p: string): Promise<{ status: number; body: any }> {
  try {
    const res = await ctx.publicApi.raw('GET', p);
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  } catch (err) {
    throw unreachable(ctx.origin, err);
  }
}
