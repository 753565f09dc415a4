/**
 * The blob read threads make their reused buffers at prestart and fault their pages in there
 * (issue 18, FETCH BODY[] cold): a fresh process's first FETCH of many bodies then reads into
 * memory that is mapped already, where a fresh 1 MiB buffer costs a page fault per 4 KiB. The
 * control: threads that were not prestarted fault a fresh buffer's pages in during the read.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobReadThreads } from '../../appliance/mailstore/blob-read-threads.js';

/** Minor page faults of this process (every thread) while `fn` runs. */
async function faultsDuring<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const before = process.resourceUsage().minorPageFault;
  const out = await fn();
  return [process.resourceUsage().minorPageFault - before, out];
}

describe('blob read threads: reused buffers faulted in at prestart', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-blobprefault-'));
  // 800 KiB in eight files: about 200 pages of a reused 1 MiB buffer
  const files = Array.from({ length: 8 }, (_, i) => {
    const file = path.join(dir, `f${i}`);
    const data = randomBytes(100 * 1024);
    writeFileSync(file, data);
    return { file, data };
  });
  const paths = files.map((f) => f.file);
  const opened: BlobReadThreads[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((t) => t.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function threadsReady(prestart: boolean): Promise<BlobReadThreads> {
    const threads = new BlobReadThreads(2);
    opened.push(threads);
    if (prestart) {
      threads.prestart();
      await threads.prestarted();
    }
    // both threads running and the files in the page cache: only the lent buffer's pages are left to fault
    await Promise.all([threads.readFiles(paths.slice(0, 4)), threads.readFiles(paths.slice(4))]);
    return threads;
  }

  it('lends buffers whose pages are mapped already, with the exact bytes', async () => {
    const cold = await threadsReady(false);
    const [coldFaults, coldLent] = await faultsDuring(() => cold.lendFiles(paths));
    coldLent.release();
    const warm = await threadsReady(true);
    const [warmFaults, lent] = await faultsDuring(() => warm.lendFiles(paths));
    try {
      expect(lent.files.map((b, i) => b.equals(files[i]!.data))).toEqual(files.map(() => true));
    } finally {
      lent.release();
    }
    expect(coldFaults).toBeGreaterThan(150); // the measure sees a fresh buffer's faults
    expect(warmFaults).toBeLessThan(60);
  });
});
