/**
 * `npm run fuzz`: runs every fuzzer module of this folder (`*.fuzz.js` next to this file once
 * compiled: mime, csv, http-json, smtp, and imap from the IMAP side) with its default of at
 * least 100,000 inputs each, then prints a summary: crashes, hangs and memory growth per parser.
 * Options: --inputs N, --seed S, --only name[,name]. Exit code 1 when any crash or hang.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

interface FuzzModule {
  fuzz(opts: { inputs: number; seed: number; log: (line: string) => void }): Promise<{ inputs: number; crashes: number; hangs: number; rssGrowthMb: number }>;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const inputs = Number(arg('inputs') ?? 100_000);
  const seed = Number(arg('seed') ?? Date.now() % 1_000_000);
  const only = arg('only')?.split(',');
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.fuzz.js'))
    .sort();
  const summary: Array<{ name: string; inputs: number; crashes: number; hangs: number; rssGrowthMb: number; seconds: number }> = [];
  console.log(`fuzz: seed ${seed}, ${inputs} inputs per parser, modules: ${files.join(', ')}`);
  for (const file of files) {
    const name = file.replace(/\.fuzz\.js$/, '');
    if (only && !only.includes(name)) continue;
    const mod = (await import(path.join(__dirname, file))) as FuzzModule;
    const t0 = Date.now();
    const r = await mod.fuzz({ inputs, seed, log: (line) => console.log(`  ${line}`) });
    summary.push({ name, ...r, seconds: Math.round((Date.now() - t0) / 100) / 10 });
    console.log(`${name}: ${r.inputs} inputs, ${r.crashes} crashes, ${r.hangs} hangs, RSS ${r.rssGrowthMb >= 0 ? '+' : ''}${r.rssGrowthMb} MB`);
  }
  console.log('\nparser      inputs   crashes  hangs  rss growth  seconds');
  for (const s of summary)
    console.log(
      `${s.name.padEnd(10)} ${String(s.inputs).padStart(8)} ${String(s.crashes).padStart(8)} ${String(s.hangs).padStart(6)} ${`${s.rssGrowthMb} MB`.padStart(11)} ${String(s.seconds).padStart(8)}`,
    );
  const bad = summary.some((s) => s.crashes || s.hangs);
  console.log(bad ? `\nFAILED (seed ${seed})` : '\nno crash, no hang');
  process.exit(bad ? 1 : 0);
}

void main();
