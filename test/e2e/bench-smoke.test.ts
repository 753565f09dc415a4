/**
 * The benchmark harness does not rot: `npm run bench` in smoke mode (tiny sizes, one repeat)
 * starts Postern and the private Postfix → Dovecot stack, runs every case (the spam case with
 * rspamd + redis on both sides included), prints the table and
 * writes the JSON record. No throughput is asserted here: only that each figure was produced
 * and is sane. (The test command installs postfix, dovecot-imapd and dovecot-lmtpd.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const RUN = path.join(ROOT, 'dist', 'scripts', 'bench', 'run.js');

interface Row {
  key: string;
  unit: string;
  postern: number;
  reference: number | null;
  ratio: number | null;
}

let out = '';
let code: number | null = null;
let record: { mode: string; repeats: number; machine: { cores: number }; versions: Record<string, string>; errors: string[]; notes: string[]; rows: Row[] };
const outDir = mkdtempSync(path.join(tmpdir(), 'postern-bench-smoke-'));

beforeAll(async () => {
  const child = spawn(process.execPath, [RUN, '--smoke', '--out', outDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const files = readdirSync(outDir).filter((f) => f.endsWith('.json'));
  if (files.length !== 1) throw new Error(`expected one JSON record, found ${files.length}\n${out}\n${err.slice(-4000)}`);
  record = JSON.parse(readFileSync(path.join(outDir, files[0]!), 'utf8'));
  if (code !== 0) throw new Error(`bench --smoke exited ${code}\n${out}\n${err.slice(-4000)}`);
}, 170_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const WITH_REFERENCE = [
  'inbound.acked',
  'inbound.stored',
  'inbound.cpu',
  'imap.append',
  'imap.cold.login',
  'imap.cold.envelope',
  'imap.cold.body',
  'imap.cold.searchHeader',
  'imap.cold.searchBody',
  'imap.warm.login',
  'imap.warm.envelope',
  'imap.warm.body',
  'imap.warm.searchHeader',
  'imap.warm.searchBody',
  // Issue 18: 10 clients × mixed commands on one shared folder (average per command).
  'imapMixed.fetch.avg',
  'imapMixed.store.avg',
  'imapMixed.expunge.avg',
  'imapMixed.append.avg',
  'submission.accepted',
  'submission.relayed',
  'memory.rss',
  'memory.pss',
  // Issue 15: inbound with rspamd on both sides (HTTP from Haraka; milter behind Postfix).
  'spam.acked',
  'spam.stored',
  'spam.cpuPerMsg',
  // Issue 20: IMAP migration from a private Dovecot (a Postern job vs mbsync into the reference Dovecot).
  'migration.messages',
  'migration.bytes',
];
const POSTERN_ONLY = ['control.list.p50', 'control.list.p99', 'control.ownership.p50', 'control.ownership.p99', 'control.stall.jobs'];

describe('npm run bench -- --smoke', () => {
  it('finishes without errors and records the run', () => {
    expect(code).toBe(0);
    expect(record.errors).toEqual([]);
    expect(record.mode).toBe('smoke');
    expect(record.repeats).toBe(1);
    expect(record.machine.cores).toBeGreaterThan(0);
    for (const v of ['node', 'postern', 'haraka', 'postfix', 'dovecot', 'rspamd']) expect(record.versions[v], v).toMatch(/\d/);
  });

  it('prints the side-by-side table', () => {
    expect(out).toMatch(/\| case +\| metric +\| unit +\| +Postern +\| +Postfix\+Dovecot +\| +P\/ref +\|/);
    expect(out).toMatch(/inbound +\| stored \(end to end\)/);
    // The scanned-vs-scanned row carries its goal (issue 15) next to the ratio.
    expect(out).toMatch(/inbound-spam +\| scanned: stored \(end to end\) +\|.*\d\.\d\d× \| higher +\| ≥ 1\.5× reference \(scanned vs scanned\) \| (yes|NO) +\|/);
    expect(out).toMatch(/results: /);
  });

  it('compares signed with signed submissions: every message of both stacks reached the sink DKIM-signed (issue 18)', () => {
    const note = record.notes.find((n) => n.startsWith('submission: both stacks DKIM-sign'));
    expect(note).toBeDefined();
    const m = /Postern (\d+)\/(\d+) RSA \+ (\d+)\/\d+ Ed25519, reference (\d+)\/(\d+) RSA/.exec(note!);
    expect(m).not.toBeNull();
    const [, pRsa, n, pEd, rRsa, rn] = m!.map(Number) as number[];
    expect(n).toBeGreaterThan(0);
    expect([pRsa, pEd, rRsa, rn]).toEqual([n, n, n, n]);
    expect(out).toMatch(/submission +\| relayed to smtp-sink \(end to end\) +\|.*\| ≥ 1\.0× reference \(2× next\) +\| (yes|NO) +\|/);
  });

  it.each(WITH_REFERENCE)('%s has a figure for both stacks and their ratio', (key) => {
    const row = record.rows.find((r) => r.key === key);
    expect(row, key).toBeDefined();
    expect(Number.isFinite(row!.postern)).toBe(true);
    expect(Number.isFinite(row!.reference)).toBe(true);
    expect(Number.isFinite(row!.ratio)).toBe(true);
    if (row!.unit !== 'KiB') {
      // times, rates and CPU are positive; memory deltas of a few connections may be noise
      expect(row!.postern).toBeGreaterThan(0);
      expect(row!.reference).toBeGreaterThan(0);
    }
  });

  it.each(POSTERN_ONLY)('%s has a Postern figure', (key) => {
    const row = record.rows.find((r) => r.key === key);
    expect(row, key).toBeDefined();
    expect(row!.postern).toBeGreaterThan(0);
    expect(row!.reference).toBeNull();
  });

  it('measures bulk plan+apply when the bulk module is built', () => {
    const bulk = record.rows.find((r) => r.key === 'control.bulk.total');
    const built = readdirSync(path.join(ROOT, 'dist', 'scripts', 'bench')).includes('bulk.js');
    if (built) expect(bulk?.postern).toBeGreaterThan(0);
    else expect(bulk).toBeUndefined();
  });
});
