/**
 * Fuzzes the bulk CSV reader (appliance/core/bulk.ts): parseCsv never throws and round-trips
 * what a CSV writer produced (RFC 4180 quoting); on anything else parseCsv and rowsFromCsv either
 * answer or refuse with the domain's Invalid error (400), never anything else.
 */
import fc from 'fast-check';
import { parseCsv, rowsFromCsv } from '../../appliance/core/portfolio/bulk.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { type FuzzOptions, type FuzzResult, mutated, runFuzz } from './harness.js';

const COLUMNS = ['local_part', 'domain', 'display_name', 'owner_name', 'owner_email', 'business_owner_name', 'business_owner_email', 'reset_destination', 'quota', 'role', 'aliases'];
const field = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', '"', '""', ',', '\r\n', '\n', 'a"b', '5G', '-1', 'yes', 'x@y.example', '\ufeff', '\ud800'));

function quote(f: string): string {
  return /[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f;
}

type Input = { kind: 'roundtrip'; rows: string[][] } | { kind: 'raw'; text: string };

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const table = fc.tuple(fc.subarray(COLUMNS, { minLength: 1 }), fc.array(fc.array(field, { minLength: 1, maxLength: 12 }), { maxLength: 12 }));
  const csvText = table.map(([head, rows]) => [head, ...rows].map((r) => r.map(quote).join(',')).join(fc.sample(fc.constantFrom('\r\n', '\n'), 1)[0]));
  const arb: fc.Arbitrary<Input> = fc.oneof(
    fc
      .array(
        fc.array(
          field.filter((f) => f !== '\ufeff'),
          { minLength: 1, maxLength: 6 },
        ),
        { minLength: 1, maxLength: 8 },
      )
      .map((rows) => ({ kind: 'roundtrip' as const, rows })),
    mutated(csvText).map((text) => ({ kind: 'raw' as const, text })),
    fc.string({ unit: 'binary', maxLength: 500 }).map((text) => ({ kind: 'raw' as const, text })),
  );
  return runFuzz(
    'csv',
    arb,
    (input) => {
      if (input.kind === 'roundtrip') {
        // Rows of one blank field are skipped by design (blank lines): not round-trippable.
        if (input.rows.some((r) => r.length === 1 && r[0]!.trim() === '')) return;
        const text = input.rows.map((r) => r.map(quote).join(',')).join('\r\n');
        const back = parseCsv(text);
        if (JSON.stringify(back) !== JSON.stringify(input.rows)) throw new Error(`round trip differs: ${JSON.stringify(back).slice(0, 200)}`);
        return;
      }
      try {
        parseCsv(input.text);
        rowsFromCsv(input.text);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'Invalid')) throw err;
      }
    },
    opts,
  );
}
