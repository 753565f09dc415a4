/**
 * The LIST/LSUB wildcard matcher: same answers as the obvious regular expression on small
 * random patterns and names (fast-check, fixed seed), and no exponential cost on the
 * patterns that froze the old regex-based matcher (issue 13).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileMailboxPattern, MAX_PATTERN_LENGTH, MAX_PATTERN_WILDCARDS } from '../../appliance/imap/mailbox-pattern.js';
import { patternToRegExp } from '../../appliance/imap/mailbox-names.js';
import { ImapNo } from '../../appliance/imap/responses.js';

describe('mailbox pattern matcher', () => {
  it.each([
    ['', '%', 'Sent', true],
    ['', '%', 'Projects/2025', false],
    ['', '*', 'Projects/2025', true],
    ['Projects/', '%', 'Projects/2025', true],
    ['Projects', '%', 'Projects/2025', true],
    ['', 'inbox', 'INBOX', true],
    ['', 'INBOX/%', 'INBOX/a', true],
    ['', 'Inbox*', 'INBOX/a/b', true],
    ['', 'P%/%5', 'Projects/2025', true],
    ['', 'P%5', 'Projects/2025', false],
    ['', '*5', 'Projects/2025', true],
    ['', '%%%%%%%%%%%%%%x', 'aaaaaaaaaaaaaaaaaaaaaaaa', false],
    ['', '%%%%%%%%%%%%%%a', 'aaaaaaaaaaaaaaaaaaaaaaaa', true],
    ['', 'a*%*b', 'a/x/b', true],
    ['', 'a%*%b', 'ab', true],
    ['Other', '/Sent', 'Sent', false],
    ['', 'Sent', 'Sent', true],
    ['', 'sent', 'Sent', false],
  ])('reference %j pattern %j name %j → %s', (ref, pat, name, want) => {
    expect(compileMailboxPattern(ref, pat).test(name)).toBe(want);
  });

  it('agrees with the regular expression on random small patterns (fixed seed)', () => {
    const chars = fc.constantFrom('a', 'b', '/', '%', '*', 'I', 'N', 'B', 'O', 'X', '.');
    const pattern = fc.array(chars, { maxLength: 8 }).map((a) => a.join(''));
    const name = fc.array(fc.constantFrom('a', 'b', '/', '.', 'I', 'n', 'B', 'o', 'X'), { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.constantFrom('', 'a', 'a/'), pattern, name, (ref, pat, n) => {
        expect(compileMailboxPattern(ref, pat).test(n)).toBe(patternToRegExp(ref, pat).test(n));
      }),
      { seed: 1313, numRuns: 5000 },
    );
  });

  it('answers the pathological patterns at once (the old regex took seconds)', () => {
    const name = 'a'.repeat(24);
    const cases = ['%'.repeat(14) + 'x', '%'.repeat(60) + 'x', '*%'.repeat(30) + 'x', '%a'.repeat(MAX_PATTERN_WILDCARDS) + 'x'];
    for (const p of cases) {
      const t = performance.now();
      const m = compileMailboxPattern('', p);
      for (let i = 0; i < 1000; i++) m.test(name + 'a'.repeat(i % 200));
      const ms = performance.now() - t;
      console.log(`pattern ${p.slice(0, 20)}… (${p.length} chars): 1000 names in ${ms.toFixed(1)} ms`);
      expect(ms).toBeLessThan(2000);
    }
  });

  it('refuses over-long patterns and too many wildcards with NO [LIMIT]', () => {
    expect(() => compileMailboxPattern('', 'a'.repeat(MAX_PATTERN_LENGTH + 1))).toThrow(ImapNo);
    expect(() => compileMailboxPattern('', '%a'.repeat(MAX_PATTERN_WILDCARDS + 1))).toThrow(/too many wildcards/);
    try {
      compileMailboxPattern('', 'a'.repeat(MAX_PATTERN_LENGTH + 1));
    } catch (err) {
      expect((err as ImapNo).code).toBe('LIMIT');
    }
  });
});
