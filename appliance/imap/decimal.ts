/**
 * Whole numbers below 2^32 written as decimal bytes straight into a buffer: the numbers of the
 * SEARCH and SORT answers (commands/search.ts searchResponse, sort.ts sortResponse), sized first
 * so that each answer is one buffer of the exact size (issue 18).
 */

/** Decimal digits of a whole number below 2^32. */
export function digitCount(v: number): number {
  if (v < 1e5) return v < 10 ? 1 : v < 100 ? 2 : v < 1e3 ? 3 : v < 1e4 ? 4 : 5;
  return v < 1e6 ? 6 : v < 1e7 ? 7 : v < 1e8 ? 8 : v < 1e9 ? 9 : 10;
}

/** Writes ` v` (a space, then its digits) at `at`; returns where the next byte goes. */
export function writeSpacedNumber(out: Uint8Array, at: number, v: number): number {
  out[at++] = 32;
  const end = at + digitCount(v);
  // Last digit first; `>>> 0` truncates the quotient (numbers below 2^32).
  for (let j = end - 1, x = v; j >= at; j--) {
    const q = (x / 10) >>> 0;
    out[j] = 48 + x - q * 10;
    x = q;
  }
  return end;
}
