/** A small reader of the Prometheus text format served at /metrics. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export function sum(samples: Sample[], name: string, where: (l: Record<string, string>) => boolean = () => true): number | null {
  const xs = samples.filter((s) => s.name === name && where(s.labels));
  return xs.length ? xs.reduce((a, s) => a + s.value, 0) : null;
}

export function max(samples: Sample[], name: string): number | null {
  const xs = samples.filter((s) => s.name === name);
  return xs.length ? Math.max(...xs.map((s) => s.value)) : null;
}

export type MetricsResult = { ok: true; samples: Sample[] } | { ok: false; reason: string };

export async function fetchMetrics(): Promise<MetricsResult> {
  try {
    const res = await fetch('/metrics', { headers: { accept: 'text/plain' }, credentials: 'same-origin' });
    if (res.status === 401 || res.status === 403) return { ok: false, reason: 'Metrics are restricted to scrapers on this appliance (metrics token or allow-list).' };
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/plain')) return { ok: false, reason: 'This appliance does not expose metrics.' };
    return { ok: true, samples: parseMetrics(await res.text()) };
  } catch {
    return { ok: false, reason: 'Metrics could not be read.' };
  }
}
