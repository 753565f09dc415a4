/**
 * A small seeded PRNG (mulberry32): the fuzzers, the benchmark corpus and the randomized tests
 * use it so that a failing run repeats with its seed. Returns floats in [0, 1).
 */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
