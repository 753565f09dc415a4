/**
 * The appliance's log lines leave in one write per turn of the event loop (appliance/logger.ts,
 * issue 18): the lines of one turn reach the sink in one write, in order, at the next turn; and a
 * process that logs and exits at once loses none of them.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { TurnBatchedDestination } from '../../appliance/logger.js';

describe('TurnBatchedDestination', () => {
  it('writes the lines of one turn in one write, in order, at the next turn', async () => {
    const writes: string[] = [];
    const dest = new TurnBatchedDestination({ write: (chunk: string) => writes.push(chunk) });
    const log = pino({ base: null, timestamp: false }, dest);
    log.info('connect');
    log.info('sender');
    log.warn('recipient');
    expect(writes).toEqual([]); // nothing yet: the batch leaves at the next turn
    await new Promise((resolve) => setImmediate(resolve));
    log.info('disconnect');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.length).toBe(2);
    expect(
      writes[0]!
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
    ).toEqual(['connect', 'sender', 'recipient']);
    expect(JSON.parse(writes[1]!).msg).toBe('disconnect');
  });

  it('flushSync hands over what is waiting', () => {
    const writes: string[] = [];
    const dest = new TurnBatchedDestination({ write: (chunk: string) => writes.push(chunk) });
    dest.write('a\n');
    dest.write('b\n');
    dest.flushSync();
    expect(writes).toEqual(['a\nb\n']);
    dest.flushSync();
    expect(writes).toEqual(['a\nb\n']);
  });

  it('a process that logs and exits at once writes every line (the built logger)', () => {
    const logger = path.join(process.cwd(), 'dist/appliance/logger.js');
    const script = `const { createLogger } = require(${JSON.stringify(logger)}); const log = createLogger('info', { pretty: false }); for (let i = 0; i < 200; i++) log.info({ event: 'appliance.ready', i }, 'line'); process.exit(0);`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const lines = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { i: number });
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});
