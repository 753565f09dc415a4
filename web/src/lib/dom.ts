/**
 * A tiny view layer: `h()` builds DOM nodes. Text always goes through text nodes and values
 * through properties/attributes, never through innerHTML, so everything rendered is escaped by
 * construction (the strict CSP forbids inline scripts and styles anyway).
 */
export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (ev: Event) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

const SVG_NS = 'http://www.w3.org/2000/svg';
const SVG_TAGS = new Set(['svg', 'path', 'rect', 'g', 'polyline', 'line', 'title', 'text']);

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else if (c instanceof Node) parent.appendChild(c);
    else parent.appendChild(document.createTextNode(String(c)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): Element;
export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): Element {
  const el = SVG_TAGS.has(tag) ? document.createElementNS(SVG_NS, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'value' && el instanceof HTMLInputElement) el.value = String(v);
    else if (k === 'value' && (el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement)) el.value = String(v);
    else if (typeof v === 'function') continue;
    else if (k === 'style') throw new Error('inline styles are not allowed (CSP): use a class');
    else if ((k === 'href' || k === 'src' || k === 'action') && !safeUrl(String(v))) el.setAttribute(k, '#');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  if (el instanceof HTMLSelectElement && attrs && attrs.value !== undefined && attrs.value !== null) el.value = String(attrs.value);
  return el;
}

/** Only same-origin paths, http(s) and mailto links; never javascript: or data: URLs. */
export function safeUrl(url: string): boolean {
  if (url.startsWith('/') && !url.startsWith('//')) return true;
  if (url.startsWith('#') || url.startsWith('?')) return true;
  return /^(https?:|mailto:)/i.test(url);
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Element, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

export function fragment(...children: Child[]): DocumentFragment {
  const f = document.createDocumentFragment();
  append(f, children);
  return f;
}

let uid = 0;
export function nextId(prefix = 'f'): string {
  uid += 1;
  return `${prefix}-${uid}`;
}
