/**
 * A small client of the appliance's /api/v1 with a bearer token, shared by the operator CLI, the
 * benchmark harness and the end-to-end test helper (all drive a running appliance like an
 * operator would). `fetchImpl` lets the CLI trust the appliance's own certificate.
 */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** One call whose body is text (exports, zone snippets): status, headers and the text as sent. */
  async raw(method: string, url: string, body?: unknown): Promise<{ status: number; headers: Headers; text: string }> {
    const res = await this.fetchImpl(`${this.baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  /** One JSON call; `token` overrides the client's token. */
  async api<T = any>(method: string, url: string, body?: unknown, token = this.token): Promise<{ status: number; body: T }> {
    const res = await this.fetchImpl(`${this.baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  /** The call's body, or an error naming the call when the status is not `status`. */
  async expectApi<T = any>(method: string, url: string, body: unknown, status: number): Promise<T> {
    const res = await this.api<T>(method, url, body);
    if (res.status !== status) throw new Error(`${method} ${url} → ${res.status} (expected ${status}): ${JSON.stringify(res.body)}`);
    return res.body;
  }
}
