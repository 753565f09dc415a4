import { execFile } from 'node:child_process';

export interface SwaksResult {
  exitCode: number;
  output: string;
  /** Server replies (lines starting with "<-" or "<**"), without the arrows. */
  replies: string[];
}

/** Runs Debian's swaks (installed by the test command). */
export function swaks(args: string[], timeoutMs = 20_000): Promise<SwaksResult> {
  return new Promise((resolve) => {
    execFile('swaks', ['--timeout', '15', ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const replies = output
        .split('\n')
        .filter((l) => /^<[-~*]+\s/.test(l))
        .map((l) => l.replace(/^<[-~*]+\s+/, '').trim());
      resolve({ exitCode: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, output, replies });
    });
  });
}
