/**
 * LIST/LSUB wildcard matching without backtracking: the pattern ("*" matches anything, "%"
 * anything but the hierarchy delimiter) runs as a set of positions over the name (a Thompson
 * NFA), so a name of n characters costs at most n × (active positions) steps whatever the
 * pattern looks like. Runs of wildcards collapse ("%%%%" is "%", any run holding "*" is "*"),
 * and patterns are bounded in length and in wildcards, so one LIST cannot hold the event loop.
 */
import { DELIMITER, normalizeName } from './mailbox-names.js';
import { ImapNo } from './responses.js';

/** Longest reference + pattern accepted (bytes of text, before collapsing wildcards). */
export const MAX_PATTERN_LENGTH = 1024;
/** Most wildcards left after collapsing runs. */
export const MAX_PATTERN_WILDCARDS = 64;

const STAR = -1;
const PERCENT = -2;
const DELIM = DELIMITER.charCodeAt(0);

export interface MailboxMatcher {
  test(name: string): boolean;
}

/** Joins reference and pattern as RFC 3501 6.3.8 describes (a pattern starting with the delimiter stands alone). */
function fullPattern(reference: string, pattern: string): string {
  if (!reference || pattern.startsWith(DELIMITER)) return pattern;
  return reference.endsWith(DELIMITER) ? reference + pattern : reference + DELIMITER + pattern;
}

/** Pattern as code units, literal characters as their code, wildcards as STAR/PERCENT; runs collapsed. */
function tokens(full: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < full.length; i++) {
    const c = full.charCodeAt(i);
    const w = c === 42 ? STAR : c === 37 ? PERCENT : c;
    const last = out.length ? out[out.length - 1]! : 0;
    if (w < 0 && last < 0) {
      // "%*", "*%", "**", "%%": a run holding "*" is "*", otherwise "%".
      if (w === STAR) out[out.length - 1] = STAR;
      continue;
    }
    out.push(w);
  }
  return out;
}

const lower = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);

/**
 * Compiles reference + pattern. Throws ImapNo [LIMIT] for a pattern that is too long or holds
 * too many wildcards. INBOX at the start of the pattern matches case-insensitively.
 */
export function compileMailboxPattern(reference: string, pattern: string): MailboxMatcher {
  if (reference.length + pattern.length > MAX_PATTERN_LENGTH) throw new ImapNo(`Mailbox pattern too long (at most ${MAX_PATTERN_LENGTH} characters)`, 'LIMIT');
  const pat = tokens(normalizeName(fullPattern(reference, pattern)));
  let wildcards = 0;
  for (const t of pat) if (t < 0) wildcards++;
  if (wildcards > MAX_PATTERN_WILDCARDS) throw new ImapNo(`Mailbox pattern has too many wildcards (at most ${MAX_PATTERN_WILDCARDS})`, 'LIMIT');
  // INBOX matches case-insensitively; other names exactly.
  let inboxPrefix = pat.length >= 5;
  for (let i = 0; i < 5 && inboxPrefix; i++) inboxPrefix = lower(pat[i]!) === 'inbox'.charCodeAt(i);
  const m = pat.length;
  // mark[i] = the step at which position i was last added (dedupes the active list).
  const mark = new Int32Array(m + 1);

  return {
    test(name: string): boolean {
      mark.fill(-1);
      let cur: number[] = [];
      let next: number[] = [];
      const add = (list: number[], i: number, step: number) => {
        // Adding a wildcard position also adds the one after it (the wildcard matching nothing).
        for (;;) {
          if (mark[i] === step) return;
          mark[i] = step;
          list.push(i);
          if (i < m && pat[i]! < 0) i++;
          else return;
        }
      };
      add(cur, 0, 0);
      for (let k = 0; k < name.length; k++) {
        const c = name.charCodeAt(k);
        const step = k + 1;
        next.length = 0;
        for (const i of cur) {
          if (i === m) continue;
          const t = pat[i]!;
          if (t === STAR || (t === PERCENT && c !== DELIM)) add(next, i, step);
          else if (t === c || (inboxPrefix && i < 5 && lower(c) === lower(t))) add(next, i + 1, step);
        }
        if (!next.length) return false;
        const swap = cur;
        cur = next;
        next = swap;
      }
      return mark[m] === name.length;
    },
  };
}
