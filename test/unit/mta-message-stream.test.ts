/**
 * A reset transaction whose message never reached the disk does not unlink a spool file name
 * (mta-plugins/shared/message-stream.ts, issue 18), and one that was spooled still has its
 * spool file removed. Checked on Haraka's own transactions and message stream class.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipNeedlessUnlinkInHaraka, spoolAfterBytes } from '../../mta-plugins/shared/message-stream.js';

const require = createRequire(path.join(process.cwd(), 'package.json')); // Haraka's CommonJS modules, resolved from the project root
type Txn = { message_stream: { destroy(): void; spooling: boolean; total_buffered: number }; add_data(line: Buffer): void; end_data(cb: () => void): void };
const { createTransaction } = require('Haraka/transaction') as { createTransaction(uuid: string, cfg: unknown): Txn };

const SPOOL_AFTER = 1024;
const dir = mkdtempSync(path.join(os.tmpdir(), 'postern-spool-'));
const cfg = { main: { spool_dir: dir, spool_after: SPOOL_AFTER }, headers: { max_lines: 1000 } };

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function received(uuid: string, bodyBytes: number): Promise<Txn> {
  const txn = createTransaction(uuid, cfg);
  for (const line of ['From: a@spool.test', 'To: b@spool.test', 'Subject: spool', '', 'x'.repeat(bodyBytes)]) txn.add_data(Buffer.from(`${line}\r\n`));
  await new Promise<void>((resolve) => txn.end_data(() => resolve()));
  return txn;
}

/** Runs `fn` and returns the paths it passed to fs.unlink (the calls still go through). */
function unlinksDuring(fn: () => void): string[] {
  const seen: string[] = [];
  const real = fs.unlink;
  fs.unlink = ((p: fs.PathLike, cb: fs.NoParamCallback) => {
    seen.push(String(p));
    real(p, cb);
  }) as typeof fs.unlink;
  try {
    fn();
  } finally {
    fs.unlink = real;
  }
  return seen;
}

async function gone(file: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('message stream clean-up', () => {
  it('reads spool_after as haraka-message-stream does', () => {
    expect(spoolAfterBytes(undefined)).toBe(25 * 1024 * 1024);
    expect(spoolAfterBytes('-1')).toBe(Infinity);
    expect(spoolAfterBytes(0)).toBe(0);
    expect(spoolAfterBytes('1048576')).toBe(1048576);
    expect(spoolAfterBytes('lots')).toBeNull();
  });

  it('skips the unlink for a message kept in memory and still removes a spooled one', async () => {
    expect(skipNeedlessUnlinkInHaraka(cfg)).toBe(true);
    expect(skipNeedlessUnlinkInHaraka(cfg)).toBe(false); // once per class

    const small = await received('SPOOL-SMALL', 100);
    expect(small.message_stream.spooling).toBe(false);
    // a file of the name the stream would have used: it must be left alone
    const smallName = path.join(dir, 'SPOOL-SMALL.eml');
    writeFileSync(smallName, "not the stream's");
    expect(unlinksDuring(() => small.message_stream.destroy())).toEqual([]);
    expect(existsSync(smallName)).toBe(true);

    const big = await received('SPOOL-BIG', SPOOL_AFTER * 4);
    expect(big.message_stream.spooling).toBe(true);
    const bigName = path.join(dir, 'SPOOL-BIG.eml');
    expect(existsSync(bigName)).toBe(true);
    big.message_stream.destroy(); // its own destroy: closes the file, then unlinks it
    await gone(bigName);
    expect(existsSync(bigName)).toBe(false);
  });
});
