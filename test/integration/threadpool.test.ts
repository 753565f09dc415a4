/**
 * The appliance's libuv thread pool (appliance/threadpool.ts, issue 18): a fresh process that
 * loads the module first starts 16 pool threads at its first file operation, where Node's default
 * starts 4 (an operator's UV_THREADPOOL_SIZE wins). Counted as the process's threads
 * (/proc/self/task) after one file operation, against the same probe without the module: the
 * other threads (V8's platform workers) are the same in both. The process runs the built
 * appliance code (dist/, as `npm test` builds first); main.ts must import the module first.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');

/** The threads of a fresh `node [-r module]` after one file operation has started the pool. */
function threadsAfterFirstFileOperation(preload: string | null, env: NodeJS.ProcessEnv = {}): number {
  const probe = "require('node:fs').stat('.', () => process.stdout.write(String(require('node:fs').readdirSync('/proc/self/task').length)))";
  const r = spawnSync(process.execPath, [...(preload ? ['-r', preload] : []), '-e', probe], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
  return Number(r.stdout);
}

describe('libuv thread pool of the appliance', () => {
  const moduleFile = path.join(ROOT, 'dist', 'appliance', 'threadpool.js');

  it('starts 16 pool threads with the module loaded first (Node: 4)', () => {
    const base = threadsAfterFirstFileOperation(null);
    expect(threadsAfterFirstFileOperation(moduleFile) - base).toBe(16 - 4);
  });

  it("keeps the operator's own UV_THREADPOOL_SIZE", () => {
    const base = threadsAfterFirstFileOperation(null);
    expect(threadsAfterFirstFileOperation(moduleFile, { UV_THREADPOOL_SIZE: '6' }) - base).toBe(6 - 4);
  });

  it('is the first import of main.ts', () => {
    const main = readFileSync(path.join(ROOT, 'appliance', 'main.ts'), 'utf8');
    const firstImport = /^import .*$/m.exec(main)?.[0];
    expect(firstImport).toMatch(/^import '\.\/threadpool\.js';/);
  });
});
