/**
 * A raw SMTP client over a plain socket, for tests that must send what no real client sends
 * (overlong lines, trickled DATA) and bind their own loopback source address (127.0.0.2…).
 */
import net from 'node:net';

export class RawSmtp {
  private buf = '';
  private waiters: Array<() => void> = [];
  readonly closed: Promise<number>;
  closedAt = 0;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closedAt = Date.now();
        for (const w of this.waiters.splice(0)) w();
        resolve(this.closedAt);
      }),
    );
  }

  static connect(port: number, localAddress = '127.0.0.1'): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new RawSmtp(s)));
      s.once('error', reject);
    });
  }

  get text(): string {
    return this.buf;
  }

  get isClosed(): boolean {
    return this.closedAt > 0;
  }

  /** Waits for the final line (`ddd ` …CRLF) of the next reply, consumes the reply, returns that line. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(\d{3}) .*\r\n/m.exec(this.buf);
      if (m) {
        const end = m.index + m[0].length;
        this.buf = this.buf.slice(end);
        return m[0].trim();
      }
      if (this.isClosed) return `(closed) ${this.buf}`;
      const left = deadline - Date.now();
      if (left <= 0) return `(timeout) ${this.buf}`;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  async cmd(line: string, timeoutMs?: number): Promise<string> {
    await this.write(`${line}\r\n`);
    return this.reply(timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}
