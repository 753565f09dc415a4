/**
 * Haraka's node flags (issue 18, fifteenth round): its isolates start with a 16 MiB young
 * generation semi-space (V8's default is 1 MiB, which made Haraka's loop scavenge about every
 * 20 messages), also in its worker threads (the message thread, the sync threads), and flags
 * given in POSTERN_MTA_NODE_ARGS come after them (the later flag wins).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HARAKA_HEAP_ARGS, harakaNodeArgs } from '../../appliance/mta/supervisor.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'postern-heap-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The new space's size in the forked process's main isolate and in a worker thread of it, as the supervisor forks Haraka. */
function newSpaceSizes(execArgv: string[]): Promise<{ main: number; worker: number }> {
  const script = path.join(dir, 'new-space.js');
  writeFileSync(
    script,
    `const v8 = require('node:v8');
const { Worker } = require('node:worker_threads');
const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const w = new Worker("require('node:worker_threads').parentPort.postMessage(require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)", { eval: true });
w.once('message', (worker) => { process.send({ main: size(), worker }); w.terminate(); });
`,
  );
  return new Promise((resolve, reject) => {
    const child = fork(script, [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('message', (m) => {
      resolve(m as { main: number; worker: number });
      child.disconnect();
    });
    child.once('error', reject);
    child.once('exit', (code) => (code ? reject(new Error(`exited ${code}`)) : undefined));
  });
}

describe('Haraka node flags', () => {
  it('set a 16 MiB semi-space first and keep POSTERN_MTA_NODE_ARGS after them', () => {
    expect(harakaNodeArgs(undefined)).toEqual([...HARAKA_HEAP_ARGS]);
    expect(harakaNodeArgs('')).toEqual([...HARAKA_HEAP_ARGS]);
    expect(harakaNodeArgs(' --cpu-prof  --cpu-prof-dir=/tmp/x ')).toEqual([...HARAKA_HEAP_ARGS, '--cpu-prof', '--cpu-prof-dir=/tmp/x']);
  });

  it('give the forked main isolate and its worker threads the larger young generation', async () => {
    const plain = await newSpaceSizes([]);
    const haraka = await newSpaceSizes(harakaNodeArgs(undefined));
    expect(haraka.main).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(haraka.worker).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(plain.main).toBeLessThan(16 * 1024 * 1024);
  }, 30_000);
});
