/**
 * The shared loop of our fuzzers (`npm run fuzz` runs each *.fuzz.ts module; `npm test` runs
 * them with a fixed seed and few inputs). Inputs come from fast-check arbitraries in batches
 * (so 100,000 inputs never sit in memory together), each seeded from the run's seed. A crash is
 * an exception the target must not throw (or a broken invariant); a hang an input that took
 * longer than `hangMs` twice in a row; memory growth is the RSS after the run minus before (after a GC when
 * node runs with --expose-gc).
 */
import fc from 'fast-check';

export interface FuzzOptions {
  inputs: number;
  seed: number;
  log: (line: string) => void;
}

export interface FuzzResult {
  inputs: number;
  crashes: number;
  hangs: number;
  rssGrowthMb: number;
}

const BATCH = 500;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function preview(input: unknown): string {
  let s: string;
  try {
    s = Buffer.isBuffer(input) ? input.toString('latin1') : typeof input === 'string' ? input : JSON.stringify(input);
  } catch {
    s = String(input);
  }
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…(${s.length})` : s);
}

/** Runs `check` on `opts.inputs` values of `arb`; `check` throws (or rejects) on a crash. */
export async function runFuzz<T>(name: string, arb: fc.Arbitrary<T>, check: (input: T) => void | Promise<void>, opts: FuzzOptions, hangMs = 1000): Promise<FuzzResult> {
  gc();
  const rssBefore = process.memoryUsage().rss;
  let crashes = 0;
  let hangs = 0;
  let done = 0;
  const started = Date.now();
  for (let batch = 0; done < opts.inputs; batch++) {
    const n = Math.min(BATCH, opts.inputs - done);
    const values = fc.sample(arb, { numRuns: n, seed: opts.seed + batch * 7919 });
    for (const input of values) {
      const t0 = performance.now();
      try {
        await check(input);
      } catch (err) {
        crashes++;
        if (crashes <= 5) opts.log(`${name}: CRASH on ${preview(input)}: ${(err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(err)}`);
      }
      let ms = performance.now() - t0;
      if (ms > hangMs) {
        // A pathological input is slow every time; a GC pause or a busy machine is not: measure again.
        const t1 = performance.now();
        try {
          await check(input);
        } catch {
          /* counted above */
        }
        ms = Math.min(ms, performance.now() - t1);
      }
      if (ms > hangMs) {
        hangs++;
        if (hangs <= 5) opts.log(`${name}: HANG ${Math.round(ms)} ms on ${preview(input)}`);
      }
      done++;
    }
    if (batch % 40 === 39) opts.log(`${name}: ${done}/${opts.inputs} inputs, ${crashes} crashes, ${hangs} hangs, ${Math.round((Date.now() - started) / 1000)} s`);
  }
  gc();
  const rssGrowthMb = Math.round(((process.memoryUsage().rss - rssBefore) / 1024 / 1024) * 10) / 10;
  return { inputs: done, crashes, hangs, rssGrowthMb };
}

/** Byte-level mutations of a seed text: flips, inserts, deletions, duplications, truncation. */
export function mutated(seeds: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      text: fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('\r\n', '\n', '\0', '"', '=?', '?=', '--', ';', ':', '\\', '=', '\r\n\r\n', ' ', '\t')),
    }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ kind: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }), times: fc.integer({ min: 2, max: 50 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  );
  return fc.tuple(seeds, fc.array(op, { maxLength: 8 })).map(([s, ops]) => {
    let out = s;
    for (const o of ops) {
      const at = out.length ? o.at % (out.length + 1) : 0;
      if (o.kind === 'insert') out = out.slice(0, at) + o.text + out.slice(at);
      else if (o.kind === 'delete') out = out.slice(0, at) + out.slice(at + o.len);
      else if (o.kind === 'dup') out = out.slice(0, at) + out.slice(at, at + o.len).repeat(o.times) + out.slice(at + o.len);
      else out = out.slice(0, at);
    }
    return out;
  });
}
