/** Addresses of a From: header value (display names, groups and comments ignored). */
export function headerAddresses(value: string): string[] {
  const out: string[] = [];
  const noComments = value.replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  const angle = noComments.match(/<([^<>\s]+@[^<>\s]+)>/g);
  if (angle) for (const a of angle) out.push(a.slice(1, -1));
  const stripped = noComments.replace(/"(?:[^"\\]|\\.)*"/g, ' ').replace(/<[^<>]*>/g, ' ');
  for (const m of stripped.matchAll(/([^\s,:;<>"]+@[^\s,:;<>"]+)/g)) out.push(m[1]!);
  return [...new Set(out.map((a) => a.toLowerCase()))];
}
