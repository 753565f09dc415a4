/**
 * Haraka's log lines wait up to FLUSH_MS for others (mta-plugins/log.postern-batch, issue 18,
 * fourteenth round): lines logged in different turns of the event loop leave in one write to
 * the appliance's pipe, not one write (and one wake-up of the appliance) per turn; a protocol
 * trace that gathers FLUSH_BYTES is written at the next turn without waiting.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_BYTES, FLUSH_MS, hook_log } from '../../mta-plugins/log.postern-batch/index.js';

const realWrite = process.stdout.write;

// Fake timers: the turns and the FLUSH_MS wait are exact, whatever the machine's load.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
});

afterEach(() => {
  vi.useRealTimers();
  process.stdout.write = realWrite;
});

function captureWrites(): string[] {
  const writes: string[] = [];
  process.stdout.write = ((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  return writes;
}

/** One turn of the event loop: what setImmediate scheduled runs. */
const nextTurn = () => vi.advanceTimersByTime(0);

describe('log.postern-batch (r14mta)', () => {
  it('writes the lines of several turns in one write', () => {
    const writes = captureWrites();
    const lines = ['{"message":"connect"}', '{"message":"sender <a@b>"}', '{"message":"recipient <c@d>"}', '{"message":"queue"}'];
    for (const data of lines) {
      hook_log.call(null, () => undefined, null, { data });
      nextTurn();
    }
    expect(writes).toEqual([]); // four turns went by: still waiting
    vi.advanceTimersByTime(FLUSH_MS - 1);
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(1); // FLUSH_MS after the first line
    expect(writes).toEqual([lines.map((l) => `${l}\n`).join('')]);
  });

  it('writes FLUSH_BYTES of waiting lines at the next turn, in writes of at most 4,096 bytes of whole lines', () => {
    const writes = captureWrites();
    const lines = Array.from({ length: Math.ceil(FLUSH_BYTES / 500) + 1 }, (_, i) => `{"message":"C: line ${i} ${'x'.repeat(480)}"}`);
    for (const data of lines) hook_log.call(null, () => undefined, null, { data });
    expect(writes).toEqual([]);
    nextTurn();
    expect(writes.join('')).toBe(lines.map((l) => `${l}\n`).join(''));
    for (const w of writes) {
      expect(Buffer.byteLength(w)).toBeLessThanOrEqual(4096);
      expect(w.endsWith('\n')).toBe(true);
    }
    vi.advanceTimersByTime(FLUSH_MS);
    expect(writes.join('')).toBe(lines.map((l) => `${l}\n`).join('')); // nothing written twice
  });
});
