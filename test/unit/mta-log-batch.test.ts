/**
 * Haraka's log lines leave in batches (mta-plugins/log.postern-batch, issue 18): the lines that
 * gather within FLUSH_MS are written to stdout in one write, in order, and the plugin answers OK
 * so that Haraka does not write them itself (fourteenth round: FLUSH_MS, not one turn; see
 * mta-log-batch-r14mta.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FLUSH_MS, hook_log } from '../../mta-plugins/log.postern-batch/index.js';
import { OK } from '../../mta-plugins/shared/haraka.js';

const realWrite = process.stdout.write;

afterEach(() => {
  process.stdout.write = realWrite;
});

describe('log.postern-batch', () => {
  it('writes the waiting lines in one write, in order, FLUSH_MS after the first', async () => {
    const writes: string[] = [];
    process.stdout.write = ((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    const answers: Array<number | undefined> = [];
    const next = (code?: number) => answers.push(code);
    for (const data of ['{"message":"connect"}', '{"message":"sender <a@b>"}', '{"message":"recipient <c@d>"}']) hook_log.call(null, next, null, { data });
    expect(writes).toEqual([]); // nothing yet: the batch leaves FLUSH_MS after its first line
    expect(answers).toEqual([OK, OK, OK]); // Haraka does not write them again
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS + 30));
    expect(writes).toEqual(['{"message":"connect"}\n{"message":"sender <a@b>"}\n{"message":"recipient <c@d>"}\n']);
    hook_log.call(null, next, null, { data: '{"message":"disconnect"}' });
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS + 30));
    expect(writes).toEqual(['{"message":"connect"}\n{"message":"sender <a@b>"}\n{"message":"recipient <c@d>"}\n', '{"message":"disconnect"}\n']);
  });

  it('writes at most 4,096 bytes of whole lines per write (several Haraka processes share the pipe)', async () => {
    const writes: string[] = [];
    process.stdout.write = ((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    const lines = Array.from({ length: 50 }, (_, i) => `{"message":"line ${i} ${'x'.repeat(200)}"}`);
    for (const data of lines) hook_log.call(null, () => undefined, null, { data });
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS + 30));
    expect(writes.length).toBeGreaterThan(1);
    for (const w of writes) {
      expect(Buffer.byteLength(w)).toBeLessThanOrEqual(4096);
      expect(w.endsWith('\n')).toBe(true);
    }
    expect(writes.join('')).toBe(lines.map((l) => `${l}\n`).join(''));
  });
});
