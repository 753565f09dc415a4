/**
 * Message bytes live behind this interface. The file implementation writes each blob once,
 * fsyncs the file and its directory before `put` resolves, and is safe to use from several
 * processes at once (the Haraka child writes blobs, the appliance reads and deletes them).
 * A later issue adds a shared-storage implementation for several nodes.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface BlobStore {
  /** Stores the bytes durably and returns the new blob's id. */
  put(data: Buffer | Buffer[]): Promise<string>;
  /** The whole blob or the byte range [start, end). */
  get(id: string, range?: { start: number; end: number }): Promise<Buffer>;
  size(id: string): Promise<number>;
  delete(id: string): Promise<void>;
  /** Every stored blob id with its modification time (for the orphan sweep). */
  list(): AsyncIterable<{ id: string; mtimeMs: number }>;
}

const ID_RE = /^[0-9a-f]{32}$/;
const SHARDS = 256;

/** Coalesces directory fsyncs: callers that arrive while one is running share the next one. */
export class DirSyncer {
  private running = new Map<string, Promise<void>>();
  private queued = new Map<string, Promise<void>>();

  sync(dir: string): Promise<void> {
    const queued = this.queued.get(dir);
    if (queued) return queued;
    const prev = this.running.get(dir) ?? Promise.resolve();
    const next = prev
      .catch(() => undefined)
      .then(async () => {
        this.queued.delete(dir);
        this.running.set(dir, next);
        const fh = await open(dir, fsc.O_RDONLY);
        try {
          await fh.sync();
        } finally {
          await fh.close();
          if (this.running.get(dir) === next) this.running.delete(dir);
        }
      });
    this.queued.set(dir, next);
    return next;
  }
}

export class FileBlobStore implements BlobStore {
  private readonly dirSync = new DirSyncer();

  private constructor(private readonly root: string) {}

  /** Opens (creating if needed) a blob store rooted at `root`. */
  static async open(root: string): Promise<FileBlobStore> {
    await mkdir(root, { recursive: true });
    const existing = new Set(await readdir(root));
    let created = false;
    for (let i = 0; i < SHARDS; i++) {
      const name = i.toString(16).padStart(2, '0');
      if (!existing.has(name)) {
        await mkdir(path.join(root, name), { recursive: true });
        created = true;
      }
    }
    const store = new FileBlobStore(root);
    if (created) await store.dirSync.sync(root);
    return store;
  }

  private pathOf(id: string): string {
    if (!ID_RE.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return path.join(this.root, id.slice(0, 2), id);
  }

  async put(data: Buffer | Buffer[]): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const file = this.pathOf(id);
    const fh = await open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o640);
    try {
      const chunks = Array.isArray(data) ? data : [data];
      if (chunks.length === 1) await fh.writeFile(chunks[0]!);
      else await fh.writev(chunks);
      await fh.datasync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(file).catch(() => undefined);
      throw err;
    }
    await fh.close();
    await this.dirSync.sync(path.dirname(file));
    return id;
  }

  async get(id: string, range?: { start: number; end: number }): Promise<Buffer> {
    const fh = await open(this.pathOf(id), fsc.O_RDONLY);
    try {
      if (!range) return await fh.readFile();
      const length = Math.max(0, range.end - range.start);
      const buf = Buffer.allocUnsafe(length);
      let off = 0;
      while (off < length) {
        const { bytesRead } = await fh.read(buf, off, length - off, range.start + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return off === length ? buf : buf.subarray(0, off);
    } finally {
      await fh.close();
    }
  }

  async size(id: string): Promise<number> {
    return (await stat(this.pathOf(id))).size;
  }

  async delete(id: string): Promise<void> {
    await unlink(this.pathOf(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async *list(): AsyncIterable<{ id: string; mtimeMs: number }> {
    for (let i = 0; i < SHARDS; i++) {
      const dir = path.join(this.root, i.toString(16).padStart(2, '0'));
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!ID_RE.test(name)) continue;
        const st = await stat(path.join(dir, name)).catch(() => null);
        if (st) yield { id: name, mtimeMs: st.mtimeMs };
      }
    }
  }
}
