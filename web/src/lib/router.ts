/** History-API router: same-origin links navigate without a reload; the server's SPA fallback serves index.html for every console path. */
export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  path: string;
}
export type View = (ctx: RouteContext) => Promise<Node> | Node;

interface Route {
  pattern: RegExp;
  keys: string[];
  view: View;
  access: 'public' | 'principal' | 'mailbox' | 'any';
}

const routes: Route[] = [];
let renderer: ((route: Route | null, ctx: RouteContext) => void) | null = null;

export function route(path: string, view: View, access: Route['access'] = 'principal'): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    `^${path.replace(/\/:([a-zA-Z]+)/g, (_m, k: string) => {
      keys.push(k);
      return '/([^/]+)';
    })}/?$`,
  );
  routes.push({ pattern, keys, view, access });
}

export function match(pathname: string): { route: Route | null; ctx: RouteContext } {
  const query = new URLSearchParams(location.search);
  for (const r of routes) {
    const m = r.pattern.exec(pathname);
    if (m) {
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1]!)));
      return { route: r, ctx: { params, query, path: pathname } };
    }
  }
  return { route: null, ctx: { params: {}, query, path: pathname } };
}

export function onRender(fn: (route: Route | null, ctx: RouteContext) => void): void {
  renderer = fn;
}

export function navigate(url: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

export function render(): void {
  const { route: r, ctx } = match(location.pathname);
  renderer?.(r, ctx);
}

export function startRouter(): void {
  window.addEventListener('popstate', render);
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    ev.preventDefault();
    navigate(url.pathname + url.search);
  });
  render();
}

export type { Route };
