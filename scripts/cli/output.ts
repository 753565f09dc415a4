/** Human output of the CLI: aligned tables and key/value blocks; `--json` prints the data instead. */
import type { Ctx } from './context.js';

export type Row = Record<string, string | number | boolean | null | undefined>;

function cell(v: Row[string]): string {
  if (v === null || v === undefined || v === '') return '—';
  return String(v);
}

/** An aligned table with a header; "(none)" when there are no rows. */
export function table(ctx: Ctx, rows: Row[], columns: Array<[key: string, title: string]>): void {
  if (rows.length === 0) {
    ctx.out('(none)');
    return;
  }
  const cells = rows.map((r) => columns.map(([k]) => cell(r[k])));
  const widths = columns.map(([, t], i) => Math.max(t.length, ...cells.map((c) => c[i]!.length)));
  const line = (cs: string[]) => cs.map((c, i) => (i === cs.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  ctx.out(line(columns.map(([, t]) => t.toUpperCase())));
  for (const c of cells) ctx.out(line(c));
}

/** `key: value` lines, keys aligned. */
export function fields(ctx: Ctx, pairs: Array<[string, Row[string]]>): void {
  const w = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) ctx.out(`${`${k}:`.padEnd(w + 2)}${cell(v)}`);
}

/** Prints `data` as JSON in --json mode, else runs the human renderer. */
export function emit(ctx: Ctx, data: unknown, human: () => void): void {
  if (ctx.json) ctx.out(JSON.stringify(data, null, 2));
  else human();
}

export { formatBytes as bytes } from '../../control/schemas/format.js';

/** 2026-12-05T16:40:33.123Z → 2026-12-05 16:40 UTC */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
