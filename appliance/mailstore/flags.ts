/** IMAP flag handling shared by the store and the ingest path. */
const SYSTEM = new Map(['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft'].map((f) => [f, `\\${f[1]!.toUpperCase()}${f.slice(2)}`]));

/** Canonical spelling for system flags, keywords kept as given; \Recent is session state and dropped. */
export function normalizeFlags(flags: Iterable<string>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of flags) {
    if (!raw) continue;
    const lower = raw.toLowerCase();
    if (lower === '\\recent') continue;
    const flag = SYSTEM.get(lower) ?? raw;
    const key = flag.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(flag);
  }
  return out;
}

export function parseFlags(text: string): string[] {
  return text ? text.split(' ') : [];
}

export function serializeFlags(flags: string[]): string {
  return flags.join(' ');
}

export function hasFlag(flags: string[], flag: string): boolean {
  const f = flag.toLowerCase();
  return flags.some((x) => x.toLowerCase() === f);
}

export function applyFlags(current: string[], op: 'set' | 'add' | 'remove', flags: string[]): string[] {
  const change = normalizeFlags(flags);
  if (op === 'set') return change;
  if (op === 'add') return normalizeFlags([...current, ...change]);
  const drop = new Set(change.map((f) => f.toLowerCase()));
  return current.filter((f) => !drop.has(f.toLowerCase()));
}

export function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}
