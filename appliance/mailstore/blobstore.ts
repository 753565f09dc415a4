/**
 * Message bytes live behind this interface. The file implementation writes each blob once,
 * fsyncs the file and its directory before `put` resolves, and is safe to use from several
 * processes at once (the Haraka child writes blobs, the appliance reads and deletes them).
 * Several nodes share an S3-compatible store instead (blobstore-s3.ts); `openBlobStore` picks
 * the backend from the storage settings (POSTERN_BLOB_STORE).
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, constants as fsc, openSync, readFile, readFileSync, unlinkSync, writevSync } from 'node:fs';
import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { StorageConfig } from '../config.js';
import { fsyncThreads } from '../db/fsync-threads.js';
import { BlobReadError, blobReadThreads, type LentFiles } from './blob-read-threads.js';

export interface BlobStore {
  /**
   * True when other nodes write to the same store: a blob nobody refers to may be another
   * node's delivery that is not committed yet, so the orphan sweep keeps a grace period.
   */
  readonly shared: boolean;
  /** Stores the bytes durably and returns the new blob's id. */
  put(data: Buffer | Buffer[]): Promise<string>;
  /**
   * Writes the bytes (readable at once) and returns the new id without waiting for the disk:
   * `durable` resolves once they and the directory entry are synced (and rejects, the blob
   * removed, when that fails). Stores whose put is durable in one step do not offer it.
   */
  write?(data: Buffer | Buffer[]): Promise<UnsyncedBlob>;
  /** Syncs a blob written before (and its directory entry) to disk. */
  sync?(id: string): Promise<void>;
  /**
   * The whole blob, read on the calling thread (local files only): for one small blob this
   * costs the event loop less than the four trips through libuv's pool of an async read.
   */
  readNow?(id: string): Buffer;
  /**
   * Many whole blobs in one call, in order (local files only): read on threads of their own, one
   * message to the event loop per call (FETCH BODY[] of many messages). A missing blob rejects
   * with BlobNotFoundError naming it.
   */
  readMany?(ids: string[]): Promise<Buffer[]>;
  /** Starts the read threads readMany uses (once per process), so the first batch read does not wait for them. */
  warm?(): void;
  /** readMany into memory kept for reuse: the buffers are valid until `release()` and must not be read after it. */
  lendMany?(ids: string[]): Promise<LentFiles>;
  /** The whole blob or the byte range [start, end). */
  get(id: string, range?: { start: number; end: number }): Promise<Buffer>;
  size(id: string): Promise<number>;
  delete(id: string): Promise<void>;
  /** Every stored blob id with its modification time (for the orphan sweep). */
  list(): AsyncIterable<{ id: string; mtimeMs: number }>;
  /**
   * Every stored blob id by directory listing alone, a shard at a time (local files): the orphan
   * sweep asks the index about these first and looks at the age (`mtimeOf`) of unreferenced ones only.
   */
  listIds?(): AsyncIterable<string[]>;
  /** The blob's modification time, or null when it is gone (with `listIds`). */
  mtimeOf?(id: string): Promise<number | null>;
  /** Resolves when the store is reachable and usable (readiness, GET /readyz); throws a clear error otherwise. */
  probe(): Promise<void>;
}

export interface UnsyncedBlob {
  id: string;
  durable: Promise<void>;
}

/** A blob id that names no stored blob (code ENOENT, as the file store's errors always had). */
export class BlobNotFoundError extends Error {
  readonly code = 'ENOENT';
  constructor(
    readonly blobId: string,
    where: string,
  ) {
    super(`blob ${blobId} not found in ${where}`);
    this.name = 'BlobNotFoundError';
  }
}

const ID_RE = /^[0-9a-f]{32}$/;

export function isBlobId(id: string): boolean {
  return ID_RE.test(id);
}

/**
 * The blob store the settings ask for: the local folder `localDir` (the embedded default) or the
 * S3-compatible store shared by every node. The S3 client is loaded only when it is used. Opening
 * does not contact the store (an unreachable store fails readiness, not the process): call probe().
 */
export async function openBlobStore(storage: Pick<StorageConfig, 'blobStore' | 's3'>, localDir: string): Promise<BlobStore> {
  if (storage.blobStore === 'fs') return FileBlobStore.open(localDir);
  if (!storage.s3) throw new Error('POSTERN_BLOB_STORE=s3 needs the POSTERN_S3_* settings');
  const { S3BlobStore } = await import('./blobstore-s3.js');
  return new S3BlobStore(storage.s3);
}

/** The /readyz component of a blob store. */
export async function blobStoreHealth(blobs: BlobStore): Promise<{ ok: boolean; detail?: string }> {
  try {
    await blobs.probe();
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}
const SHARDS = 256;
/**
 * Consecutive blobs of one process go to the same shard folder, this many in a row, then the
 * next folder (issue 18, FETCH BODY[] cold): a folder's messages, mostly stored close together
 * in time, then sit in one directory with neighbouring inodes and data, as in a maildir, instead
 * of one random folder of 256 each. Reading 1,000 of them with cold caches took 200-415 ms
 * against 373-583 ms scattered (same disk, same files). Over time every folder gets its share.
 */
export const SHARD_RUN = 1024;

/** Blobs up to this size are created and written on the calling thread (FileBlobStore.writeNow). */
export const SMALL_WRITE_BYTES = 256 * 1024;

/**
 * Pre-created blob files (issue 18, APPEND): a small blob goes into a file that was created and
 * whose directory entry was synced ahead of time, off the event loop (`FsyncThreads.createSynced`),
 * so storing it waits for its own fdatasync alone, not also for a directory fsync, and the event
 * loop does not create a file. Files are made POOL_BATCH at a time (one directory fsync for the
 * batch) when fewer than POOL_LOW are left. A pre-created file is empty and no row refers to it: it
 * is never a message. `list()` leaves out this store's own, so a sweep in this process never removes
 * one; another process's (the Haraka child's) is older than POOL_MAX_AGE_MS before it is given up,
 * and the periodic orphan sweep only removes files an hour old, so it never takes one in use either;
 * left over after a stop, they are swept like any unreferenced blob.
 */
export const POOL_BATCH = 16;
const POOL_LOW = 8;
/** A pre-created file older than this is removed instead of used (far below the orphan sweep's hour). */
export const POOL_MAX_AGE_MS = 10 * 60_000;
/** After a failed refill (disk full, permissions), the next one waits this long; writes create files meanwhile. */
const POOL_RETRY_MS = 5_000;

interface PooledFile {
  id: string;
  /** When its creation was asked for (before its mtime). */
  at: number;
}

/** Random bytes for blob ids, drawn a page at a time (one call into the CSPRNG per 273 ids, not one per id). */
const ID_RANDOM = Buffer.alloc(15 * 273);
let idRandomAt = ID_RANDOM.length;

/** 120 fresh random bits as 30 hex digits. */
function randomHex120(): string {
  if (idRandomAt === ID_RANDOM.length) {
    randomFillSync(ID_RANDOM);
    idRandomAt = 0;
  }
  idRandomAt += 15;
  return ID_RANDOM.toString('hex', idRandomAt - 15, idRandomAt);
}

/** Writes every byte of `chunks` at the file's offset (writev may write fewer bytes than asked). */
function writeAll(fd: number, chunks: Buffer[]): void {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length) {
    let n = writevSync(fd, rest);
    if (n === 0) throw new Error('blob write made no progress');
    const next: Buffer[] = [];
    for (const c of rest) {
      if (n >= c.length) n -= c.length;
      else {
        next.push(n > 0 ? c.subarray(n) : c);
        n = 0;
      }
    }
    rest = next;
  }
}

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
        try {
          await fsyncThreads.fsyncPath(dir); // off libuv's pool (db/fsync-threads.ts)
        } finally {
          if (this.running.get(dir) === next) this.running.delete(dir);
        }
      });
    this.queued.set(dir, next);
    return next;
  }
}

export class FileBlobStore implements BlobStore {
  readonly shared = false;
  private readonly dirSync = new DirSyncer();
  /** The shard folder new blobs go to (a random one at first: processes writing together do not share it) and how many went there. */
  private shard = randomBytes(1)[0]!;
  private inShard = 0;
  /** Pre-created files ready for small blobs, oldest first. */
  private pool: PooledFile[] = [];
  /** Ids of the pre-created files, from the request that creates them until one is taken (list() leaves them out). */
  private reserved = new Set<string>();
  private refilling: Promise<void> | null = null;
  private refillAfter = 0;

  private constructor(
    private readonly root: string,
    private readonly shardRun: number,
    private readonly usePool: boolean,
  ) {}

  /**
   * Opens (creating if needed) a blob store rooted at `root`; `shardRun`: consecutive blobs per
   * shard folder; `pool: false` creates each small blob's file when it is written (no pre-created files).
   */
  static async open(root: string, opts: { shardRun?: number; pool?: boolean } = {}): Promise<FileBlobStore> {
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
    const store = new FileBlobStore(root, Math.max(1, opts.shardRun ?? SHARD_RUN), opts.pool ?? true);
    if (created) await store.dirSync.sync(root);
    return store;
  }

  private pathOf(id: string): string {
    if (!ID_RE.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return path.join(this.root, id.slice(0, 2), id);
  }

  async put(data: Buffer | Buffer[]): Promise<string> {
    const { id, durable } = await this.write(data);
    await durable;
    return id;
  }

  /** A new blob id: the current shard folder's two hex digits, then 120 random bits. */
  private newId(): string {
    if (this.inShard >= this.shardRun) {
      this.shard = (this.shard + 1) % SHARDS;
      this.inShard = 0;
    }
    this.inShard++;
    return this.shard.toString(16).padStart(2, '0') + randomHex120();
  }

  async write(data: Buffer | Buffer[]): Promise<UnsyncedBlob> {
    const chunks = Array.isArray(data) ? data : [data];
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    if (bytes <= SMALL_WRITE_BYTES) return this.writeNow(chunks);
    const id = this.newId();
    const file = this.pathOf(id);
    const fh = await open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o640);
    // The new directory entry is synced while the file's data is (issue 18: two fsyncs in
    // parallel, not one after the other); `durable` resolves only when both are on disk.
    const entry = this.dirSync.sync(path.dirname(file));
    const fail = async (err: unknown): Promise<never> => {
      entry.catch(() => undefined);
      await fh.close().catch(() => undefined);
      await unlink(file).catch(() => undefined);
      throw err;
    };
    try {
      if (chunks.length === 1) await fh.writeFile(chunks[0]!);
      else await fh.writev(chunks);
    } catch (err) {
      return fail(err);
    }
    // Both syncs on the sync threads, not libuv's pool: FETCH's blob reads do not queue behind them.
    const durable = Promise.all([fsyncThreads.fdatasync(fh.fd), entry]).then(() => fh.close(), fail);
    durable.catch(() => undefined); // the caller decides; an unobserved failure is not a crash
    return { id, durable };
  }

  /**
   * A small blob (an APPEND, a delivery) is created and written on the calling thread: both are
   * page-cache operations of some microseconds, where libuv's pool cost two round trips through
   * the event loop before the syncs could start (issue 18: about 1 ms of each APPEND's 3.9, in
   * front of the fdatasync). The file's and the directory's syncs start at once, on the sync
   * threads; `durable` resolves when both returned, as for a large blob.
   */
  private writeNow(chunks: Buffer[]): UnsyncedBlob {
    const pooled = this.openPooled();
    if (pooled) return this.writePooled(pooled.id, pooled.fd, chunks);
    const id = this.newId();
    const file = this.pathOf(id);
    const fd = openSync(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o640);
    const discard = (): void => {
      try {
        closeSync(fd);
      } finally {
        try {
          unlinkSync(file);
        } catch {
          /* gone already */
        }
      }
    };
    try {
      writeAll(fd, chunks);
    } catch (err) {
      discard();
      throw err;
    }
    const entry = this.dirSync.sync(path.dirname(file));
    const durable = Promise.all([fsyncThreads.fdatasync(fd), entry]).then(
      () => closeSync(fd),
      (err: unknown) => {
        entry.catch(() => undefined);
        discard();
        throw err;
      },
    );
    durable.catch(() => undefined); // the caller decides; an unobserved failure is not a crash
    return { id, durable };
  }

  /**
   * A small blob into a pre-created file: its directory entry is on disk already, so `durable`
   * waits for the file's fdatasync alone, after which the sync thread closes the file (not the
   * serving loop). A failed write or sync removes the file (a failed sync before `durable` rejects).
   */
  private writePooled(id: string, fd: number, chunks: Buffer[]): UnsyncedBlob {
    const file = this.pathOf(id);
    try {
      writeAll(fd, chunks);
    } catch (err) {
      closeSync(fd);
      unlink(file).catch(() => undefined);
      throw err;
    }
    const durable = fsyncThreads.fdatasyncAndClose(fd).then(
      () => undefined,
      // rejects once the file is gone
      (err: unknown) =>
        unlink(file).then(
          () => Promise.reject(err),
          () => Promise.reject(err),
        ),
    );
    durable.catch(() => undefined); // the caller decides; an unobserved failure is not a crash
    return { id, durable };
  }

  /**
   * The oldest pre-created file young enough to use, opened for writing (older ones are removed,
   * one that is gone is skipped), and a refill when few are left.
   */
  private openPooled(): { id: string; fd: number } | undefined {
    if (!this.usePool) return undefined;
    const now = Date.now();
    let found: { id: string; fd: number } | undefined;
    while (!found && this.pool.length) {
      const { id, at } = this.pool.shift()!;
      this.reserved.delete(id);
      const file = this.pathOf(id);
      if (now - at >= POOL_MAX_AGE_MS) {
        try {
          unlinkSync(file); // once after an idle spell (a few small system calls)
        } catch {
          /* gone already */
        }
      } else {
        try {
          found = { id, fd: openSync(file, fsc.O_WRONLY) };
        } catch {
          /* removed meanwhile: the next one */
        }
      }
    }
    if (this.pool.length < POOL_LOW) this.refill(now);
    return found;
  }

  /** Creates POOL_BATCH files on a sync thread, one directory fsync per shard folder, off the caller's path. */
  private refill(now: number): void {
    if (this.refilling || now < this.refillAfter) return;
    const byDir = new Map<string, string[]>();
    for (let i = 0; i < POOL_BATCH; i++) {
      const id = this.newId();
      this.reserved.add(id);
      const dir = path.join(this.root, id.slice(0, 2));
      byDir.set(dir, [...(byDir.get(dir) ?? []), id]);
    }
    const made = [...byDir].map(([dir, ids]) =>
      fsyncThreads.createSynced(dir, ids).then(
        () => ids.forEach((id) => this.pool.push({ id, at: now })),
        (err: unknown) => {
          for (const id of ids) this.reserved.delete(id);
          throw err;
        },
      ),
    );
    this.refilling = Promise.allSettled(made).then((results) => {
      this.refilling = null;
      if (results.some((r) => r.status === 'rejected')) this.refillAfter = Date.now() + POOL_RETRY_MS;
    });
  }

  /** Resolves when no pre-created files are being made (tests). */
  async poolSettled(): Promise<void> {
    while (this.refilling) await this.refilling;
  }

  async sync(id: string): Promise<void> {
    const file = this.pathOf(id);
    const fh = await open(file, fsc.O_RDONLY).catch(this.notFound(id));
    try {
      await Promise.all([fsyncThreads.fdatasync(fh.fd), this.dirSync.sync(path.dirname(file))]);
    } finally {
      await fh.close();
    }
  }

  /** A missing file is a BlobNotFoundError naming the blob; other errors pass unchanged. */
  private notFound(id: string) {
    return (err: NodeJS.ErrnoException): never => {
      throw err.code === 'ENOENT' ? new BlobNotFoundError(id, `the blob folder ${this.root}`) : err;
    };
  }

  async get(id: string, range?: { start: number; end: number }): Promise<Buffer> {
    // A whole blob (FETCH BODY[], the common case) through fs.readFile's callback form: open,
    // size, read and close run in libuv with one callback, where a FileHandle costs a promise
    // round trip per step (about half the main-thread time per message, issue 18).
    if (!range) return new Promise<Buffer>((resolve, reject) => readFile(this.pathOf(id), (err, data) => (err ? reject(err) : resolve(data)))).catch(this.notFound(id));
    const fh = await open(this.pathOf(id), fsc.O_RDONLY).catch(this.notFound(id));
    try {
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

  readNow(id: string): Buffer {
    try {
      return readFileSync(this.pathOf(id));
    } catch (err) {
      return this.notFound(id)(err as NodeJS.ErrnoException);
    }
  }

  warm(): void {
    blobReadThreads.prestart();
  }

  async readMany(ids: string[]): Promise<Buffer[]> {
    return blobReadThreads.readFiles(ids.map((id) => this.pathOf(id))).catch(this.batchFailed(ids));
  }

  async lendMany(ids: string[]): Promise<LentFiles> {
    return blobReadThreads.lendFiles(ids.map((id) => this.pathOf(id))).catch(this.batchFailed(ids));
  }

  /** A missing file of a batch read is a BlobNotFoundError naming its blob. */
  private batchFailed(ids: string[]) {
    return (err: unknown): never => {
      if (err instanceof BlobReadError && err.code === 'ENOENT') throw new BlobNotFoundError(ids[err.index]!, `the blob folder ${this.root}`);
      throw err;
    };
  }

  async size(id: string): Promise<number> {
    return (await stat(this.pathOf(id)).catch(this.notFound(id))).size;
  }

  async probe(): Promise<void> {
    const st = await stat(this.root);
    if (!st.isDirectory()) throw new Error(`blob folder ${this.root} is not a directory`);
  }

  async delete(id: string): Promise<void> {
    await unlink(this.pathOf(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async *list(): AsyncIterable<{ id: string; mtimeMs: number }> {
    for await (const ids of this.listIds()) {
      for (const id of ids) {
        const mtimeMs = await this.mtimeOf(id);
        if (mtimeMs !== null) yield { id, mtimeMs };
      }
    }
  }

  async *listIds(): AsyncIterable<string[]> {
    for (let i = 0; i < SHARDS; i++) {
      const dir = path.join(this.root, i.toString(16).padStart(2, '0'));
      const ids = (await readdir(dir).catch(() => [] as string[])).filter((name) => ID_RE.test(name) && !this.reserved.has(name));
      if (ids.length) yield ids;
    }
  }

  async mtimeOf(id: string): Promise<number | null> {
    const st = await stat(this.pathOf(id)).catch(() => null);
    return st ? st.mtimeMs : null;
  }
}
