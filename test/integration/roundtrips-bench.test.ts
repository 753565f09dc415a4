/**
 * The round-trip benchmark behind docs/scaling.md stays runnable (a tiny run on both backends,
 * its own private PostgreSQL), and its central finding holds: the per-message and per-command
 * paths issue the same statements on PostgreSQL as on SQLite, one commit per delivery before it is
 * acknowledged, plus the search index's (written just after, off the acknowledgement path; a lone
 * message has a batch of its own, under load up to 16 messages share it).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = path.resolve(__dirname, '..', '..', 'dist', 'scripts', 'bench', 'roundtrips.js');

interface Row {
  operation: string;
  statements: number;
  commits: number;
  control: number;
  sent: number;
  received: number;
}

describe('bench:roundtrips', () => {
  it('measures both backends; delivery, STORE, APPEND and BODY fetch cost the same statements on each', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [SCRIPT, '--messages', '20', '--repeats', '2', '--json'], { timeout: 120_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out) as { results: { sqlite: Row[]; postgres: Row[] }; databaseBytesPerMessage: { sqlite: number; postgres: number } };
    expect(r.results.sqlite.map((x) => x.operation)).toEqual(r.results.postgres.map((x) => x.operation));
    const by = (rows: Row[], prefix: string) => rows.find((x) => x.operation.startsWith(prefix))!;
    for (const op of ['inbound message', 'STORE', 'APPEND', 'FETCH n BODY']) {
      const [s, p] = [by(r.results.sqlite, op), by(r.results.postgres, op)];
      // the same statements, transaction control aside: how many BEGIN/COMMIT/SAVEPOINT a job costs
      // depends on which jobs the write queue groups into one transaction (the search index's write
      // and a session's \Recent claim, both just after an APPEND, sometimes share one)
      expect(p.statements - p.control, op).toBe(s.statements - s.control);
      expect(p.statements, op).toBeGreaterThan(0);
      expect(p.sent, op).toBeGreaterThan(0);
    }
    expect(by(r.results.postgres, 'inbound message').commits).toBe(2);
    expect(by(r.results.sqlite, 'inbound message').commits).toBe(2);
    expect(by(r.results.postgres, 'FETCH n BODY').commits).toBe(0);
    expect(r.databaseBytesPerMessage.postgres).toBeGreaterThan(0);
  }, 150_000);
});
