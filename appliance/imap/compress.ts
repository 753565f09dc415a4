/**
 * COMPRESS=DEFLATE (RFC 4978): once the tagged OK of COMPRESS is written, both directions of
 * the connection carry raw DEFLATE (RFC 1951). Output is flushed (Z_SYNC_FLUSH) after every
 * write so each response reaches the client at once; back-pressure spans the compressor and
 * the socket.
 */
import type net from 'node:net';
import zlib from 'node:zlib';

export class DeflateLayer {
  private readonly deflate = zlib.createDeflateRaw({ level: 6, memLevel: 8 });
  private readonly inflate = zlib.createInflateRaw();
  private ended = false;

  constructor(
    private readonly socket: net.Socket,
    onData: (chunk: Buffer) => void,
    onError: (err: Error) => void,
  ) {
    socket.removeListener('data', onData);
    socket.on('data', (chunk: Buffer) => {
      if (!this.ended) this.inflate.write(chunk);
    });
    this.inflate.on('data', onData);
    this.inflate.on('error', onError);
    this.deflate.on('error', onError);
    this.deflate.pipe(socket, { end: false });
  }

  write(data: string | Buffer): boolean {
    if (this.ended || this.socket.destroyed) return false;
    const ok = this.deflate.write(data);
    this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    return ok && !this.socket.writableNeedDrain;
  }

  /** Bytes not yet taken by the client: in the compressor and in the socket. */
  get buffered(): number {
    return this.deflate.writableLength + this.deflate.readableLength + this.socket.writableLength;
  }

  async drain(): Promise<void> {
    while (!this.socket.destroyed && !this.ended && (this.deflate.writableNeedDrain || this.socket.writableNeedDrain)) {
      const target = this.deflate.writableNeedDrain ? this.deflate : this.socket;
      await new Promise<void>((resolve) => {
        const done = () => {
          target.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        target.on('drain', done);
        this.socket.on('close', done);
      });
    }
  }

  /** Flushes what is pending (a BYE), then ends the socket. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      this.deflate.unpipe(this.socket);
      this.socket.end();
    });
    this.inflate.destroy();
  }
}
