/**
 * The file blob store puts consecutive blobs in the same shard folder, a run of them at a time
 * (issue 18: a folder's messages read with cold caches sit together on disk, as in a maildir),
 * then moves to the next folder; ids keep their form, and blobs stored under the earlier random
 * placement stay readable.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBlobStore, SHARD_RUN, isBlobId } from '../../appliance/mailstore/blobstore.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'postern-shards-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const shardOf = (id: string) => parseInt(id.slice(0, 2), 16);

describe('file blob store shard folders', () => {
  it('writes consecutive blobs into one shard folder', async () => {
    const blobs = await FileBlobStore.open(path.join(dir, 'a'), { pool: false }); // only blob files in the folder
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await blobs.put(Buffer.from(`blob ${i}\r\n`)));
    expect(SHARD_RUN).toBeGreaterThanOrEqual(20);
    expect(new Set(ids.map(shardOf)).size).toBe(1);
    expect(new Set(ids).size).toBe(20);
    for (const id of ids) expect(isBlobId(id)).toBe(true);
    const files = await readdir(path.join(dir, 'a', ids[0]!.slice(0, 2)));
    expect(files.sort()).toEqual([...ids].sort());
    expect((await blobs.get(ids[7]!)).toString()).toBe('blob 7\r\n');
  });

  it('moves to the next shard folder after a run, wrapping after ff', async () => {
    const blobs = await FileBlobStore.open(path.join(dir, 'b'), { shardRun: 4, pool: false }); // ids taken in write order
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await blobs.write(Buffer.from(`x${i}`))).id);
    const shards = ids.map(shardOf);
    const first = shards[0]!;
    expect(shards).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2].map((k) => (first + k) % 256));
  });

  it('still reads blobs placed in any shard folder', async () => {
    const root = path.join(dir, 'c');
    const blobs = await FileBlobStore.open(root);
    const old = 'e1' + '5'.repeat(30);
    await writeFile(path.join(root, 'e1', old), 'stored before');
    expect((await blobs.get(old)).toString()).toBe('stored before');
    expect(blobs.readNow(old).toString()).toBe('stored before');
    await blobs.sync(old);
  });
});
