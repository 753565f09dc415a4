/**
 * The fuzzers of scripts/fuzz (`npm run fuzz` runs them at ≥ 100,000 inputs each) with a fixed
 * seed and a bounded number of inputs, so every `npm test` checks the parsers we own stay free
 * of crashes and hangs: the MIME parser, the bulk CSV reader, the SMTP envelope/header handling
 * of our plugins, and the JSON bodies of every control-plane route (via their schemas).
 */
import { describe, expect, it } from 'vitest';
import { fuzz as csv } from '../../scripts/fuzz/csv.fuzz.js';
import { fuzz as httpJson } from '../../scripts/fuzz/http-json.fuzz.js';
import { fuzz as mime } from '../../scripts/fuzz/mime.fuzz.js';
import { fuzz as smtp } from '../../scripts/fuzz/smtp.fuzz.js';

const SEED = 20_261_205;

describe('fixed-seed fuzzing', () => {
  it.each([
    ['mime', mime, 4000],
    ['csv', csv, 4000],
    ['smtp', smtp, 4000],
    ['http-json', httpJson, 500],
  ] as const)(
    '%s: no crash, no hang',
    async (name, run, inputs) => {
      const lines: string[] = [];
      const r = await run({ inputs, seed: SEED, log: (l) => lines.push(l) });
      console.log(`${name}: ${r.inputs} inputs, ${r.crashes} crashes, ${r.hangs} hangs, RSS ${r.rssGrowthMb} MB`);
      expect(lines.filter((l) => /CRASH|HANG/.test(l))).toEqual([]);
      expect(r).toMatchObject({ inputs, crashes: 0, hangs: 0 });
    },
    60_000,
  );
});
