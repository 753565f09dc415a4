/**
 * Addresses of a From: header value (display names, groups and comments ignored).
 *
 * Linear in the header's length: an address is a run of characters between separators that has
 * an "@" with something on both sides. (The former `/[^\s…]+@[^\s…]+/g` backtracked
 * quadratically on a long run without "@": 40,000 characters took 6.3 s of Haraka's event loop,
 * found by scripts/fuzz/smtp.fuzz.ts.)
 */
export function headerAddresses(value: string): string[] {
  const out: string[] = [];
  const noComments = value.replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  for (const m of noComments.matchAll(/<([^<>\s]*)>/g)) if (isAddress(m[1]!)) out.push(m[1]!);
  const stripped = noComments.replace(/"(?:[^"\\]|\\.)*"/g, ' ').replace(/<[^<>]*>/g, ' ');
  for (const token of stripped.split(/[\s,:;<>"]+/)) if (isAddress(token)) out.push(token);
  return [...new Set(out.map((a) => a.toLowerCase()))];
}

/** What the former regex matched: an "@" after the first character and before the last. */
function isAddress(token: string): boolean {
  const at = token.indexOf('@', 1);
  return at !== -1 && at < token.length - 1;
}
