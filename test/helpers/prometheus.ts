/**
 * A real Prometheus (Debian's package, installed by the test command) on a loopback port with a
 * throw-away config and TSDB in a temporary directory, scraping one target every second; and
 * promtool's exposition-format check.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';

export interface Prometheus {
  url: string;
  /** An instant query through the HTTP API: the result vector. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Polls `expr` until `pred` holds for its first sample's value. */
  waitFor(expr: string, pred: (value: number) => boolean, timeoutMs?: number): Promise<number>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: { target: string; job?: string; bearerToken?: string }): Promise<Prometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), 'postern-prom-'));
  const [port] = await freePorts(1);
  const job = opts.job ?? 'postern';
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    `  - job_name: ${job}`,
    '    metrics_path: /metrics',
    ...(opts.bearerToken ? ['    authorization:', '      type: Bearer', `      credentials: ${JSON.stringify(opts.bearerToken)}`] : []),
    '    static_configs:',
    `      - targets: [${JSON.stringify(opts.target)}]`,
    '',
  ].join('\n');
  const file = path.join(dir, 'prometheus.yml');
  await writeFile(file, config);
  const output: string[] = [];
  const child: ChildProcess = spawn('prometheus', [`--config.file=${file}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (d: Buffer) => output.push(d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output.join('')}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready:\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  const query: Prometheus['query'] = async (expr) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
    return body.data!.result;
  };

  return {
    url,
    query,
    async waitFor(expr, pred, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      let last: number | undefined;
      for (;;) {
        const r = await query(expr);
        last = r.length ? Number(r[0]!.value[1]) : undefined;
        if (last !== undefined && pred(last)) return last;
        if (Date.now() > until) throw new Error(`prometheus: ${expr} = ${last} did not satisfy the condition within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    logs: () => output.join(''),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `promtool check metrics` on an exposition (exit code 0 and its output). */
export function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: string[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => out.push(d.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, output: out.join('') }));
    child.stdin!.end(text);
  });
}
