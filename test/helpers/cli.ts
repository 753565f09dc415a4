/** Runs the built operator CLI (`dist/scripts/cli.js`) as a child process against an appliance. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { type Appliance, OPERATOR_TOKEN } from './appliance.js';

export const CLI = path.resolve(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` adds to (or, with undefined, removes from) the operator's environment: PATH, HOME, POSTERN_TOKEN, POSTERN_API_URL. */
export function runCli(app: Appliance, args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const base: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, POSTERN_TOKEN: OPERATOR_TOKEN, POSTERN_API_URL: `${app.url}/api/v1` };
  const merged = Object.fromEntries(Object.entries({ ...base, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: merged, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

export const cliJson = (r: CliRun) => JSON.parse(r.stdout);
