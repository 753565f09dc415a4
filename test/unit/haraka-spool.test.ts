/**
 * Haraka spools a large message to the MTA's own spool folder once it passes 1 MiB, instead of
 * holding up to 25 MiB per message in memory and spooling to /tmp: its transactions read
 * spool_dir and spool_after from connection.ini (appliance/mta/haraka-config.ts). Checked with
 * the configuration the appliance writes, read by Haraka's own config reader, on Haraka's own
 * transactions.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataPaths, loadConfig } from '../../appliance/config.js';
import { writeHarakaConfig } from '../../appliance/mta/haraka-config.js';

const require = createRequire(path.join(process.cwd(), 'package.json')); // Haraka's CommonJS modules
type Txn = { message_stream: { destroy(): void; spooling: boolean }; add_data(line: Buffer): void; end_data(cb: () => void): void };
const { createTransaction } = require('Haraka/transaction') as { createTransaction(uuid: string, cfg: unknown): Txn };
const harakaConfig = require('haraka-config') as { module_config(root: string): { get(name: string): unknown } };

const dir = mkdtempSync(path.join(os.tmpdir(), 'postern-haraka-spool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function received(cfg: unknown, uuid: string, bodyBytes: number): Promise<Txn> {
  const txn = createTransaction(uuid, cfg);
  const line = `${'x'.repeat(998)}\r\n`;
  for (const h of ['From: a@spool.test', 'To: b@spool.test', 'Subject: spool', '']) txn.add_data(Buffer.from(`${h}\r\n`));
  for (let n = 0; n < bodyBytes; n += line.length) txn.add_data(Buffer.from(line));
  await new Promise<void>((resolve) => txn.end_data(() => resolve()));
  return txn;
}

describe("Haraka's message spool", () => {
  it('spools a message past 1 MiB into the MTA spool folder, and keeps a small one in memory', async () => {
    const config = loadConfig({ POSTERN_DATA_DIR: dir });
    const paths = dataPaths(config);
    const tls = { key: 'unused', cert: 'unused', certFile: '', keyFile: '', selfSigned: true };
    const root = await writeHarakaConfig(config, paths, tls, path.join(dir, 'no-plugins'));
    const connectionIni = harakaConfig.module_config(root).get('connection.ini') as { main: { spool_dir?: string } };
    const spool = path.join(root, 'spool');
    expect(connectionIni.main.spool_dir).toBe(spool);

    const small = await received(connectionIni, 'SPOOL-TEST-SMALL', 64 * 1024);
    expect(small.message_stream.spooling).toBe(false);
    small.message_stream.destroy();

    const big = await received(connectionIni, 'SPOOL-TEST-BIG', 2 * 1024 * 1024);
    expect(big.message_stream.spooling).toBe(true);
    expect(readdirSync(spool)).toContain('SPOOL-TEST-BIG.eml');
    big.message_stream.destroy();
    const file = path.join(spool, 'SPOOL-TEST-BIG.eml');
    const deadline = Date.now() + 30_000;
    while (existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(file)).toBe(false);
  });
});
