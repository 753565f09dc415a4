/**
 * A minimal IMAP client over a raw TLS socket, the same for both servers: it sends one tagged
 * command at a time and reads until the tagged completion, skipping literals by their announced
 * length without copying them. It keeps untagged lines (literals left out) only when asked.
 */
import { connect, type TLSSocket } from 'node:tls';

export interface ImapReply {
  status: 'OK' | 'NO' | 'BAD';
  text: string;
  /** Untagged responses seen. */
  untagged: number;
  /** Untagged `* n FETCH` responses seen. */
  fetches: number;
  /** Bytes received for this command (literals included). */
  bytes: number;
  /** Untagged lines without their literals, when `keep` was set. */
  lines: string[];
}

interface Pending {
  tag: string;
  keep: boolean;
  reply: ImapReply;
  onContinue?: () => void;
  resolve: (r: ImapReply) => void;
  reject: (e: Error) => void;
}

export class ImapClient {
  private seq = 0;
  private line = ''; // the response line being assembled (literals left out)
  private literalLeft = 0;
  private partial = ''; // bytes of a line not yet terminated by CRLF
  private pending: Pending | null = null;
  private greeting: ((line: string) => void) | null = null;
  private closedErr: Error | null = null;

  private constructor(private readonly sock: TLSSocket) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closedErr = err;
      this.pending?.reject(err);
      this.pending = null;
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('IMAP connection closed')));
  }

  /** Connects with TLS and waits for the greeting. */
  static connect(port: number, timeoutMs = 30_000, localAddress?: string): Promise<ImapClient> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost', ...(localAddress ? { localAddress } : {}) });
      const client = new ImapClient(sock);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`IMAP greeting on port ${port} not received in ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      client.greeting = (line) => {
        clearTimeout(timer);
        if (/^\* (OK|PREAUTH)/i.test(line)) resolve(client);
        else reject(new Error(`unexpected IMAP greeting: ${line}`));
      };
    });
  }

  private onData(chunk: Buffer): void {
    let i = 0;
    const reply = this.pending?.reply;
    if (reply) reply.bytes += chunk.length;
    while (i < chunk.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, chunk.length - i);
        this.literalLeft -= take;
        i += take;
        continue;
      }
      const nl = chunk.indexOf(10, i);
      if (nl === -1) {
        this.partial += chunk.toString('latin1', i);
        break;
      }
      const text = this.partial + chunk.toString('latin1', i, nl + 1);
      this.partial = '';
      i = nl + 1;
      const m = /\{(\d+)\+?\}\r\n$/.exec(text);
      if (m) {
        this.line += text.slice(0, m.index) + '{}';
        this.literalLeft = Number(m[1]);
        continue;
      }
      this.line += text.replace(/\r?\n$/, '');
      const full = this.line;
      this.line = '';
      this.onLine(full);
    }
  }

  private onLine(line: string): void {
    if (this.greeting) {
      const g = this.greeting;
      this.greeting = null;
      g(line);
      return;
    }
    const p = this.pending;
    if (!p) return; // unsolicited (e.g. a BYE on shutdown)
    if (line.startsWith('+')) {
      p.onContinue?.();
      return;
    }
    if (line.startsWith('* ')) {
      p.reply.untagged++;
      if (/^\* \d+ FETCH/i.test(line)) p.reply.fetches++;
      if (p.keep) p.reply.lines.push(line);
      return;
    }
    if (line.startsWith(`${p.tag} `)) {
      const m = /^\S+ (OK|NO|BAD)\s?(.*)$/i.exec(line);
      p.reply.status = (m?.[1]?.toUpperCase() ?? 'BAD') as ImapReply['status'];
      p.reply.text = m?.[2] ?? line;
      this.pending = null;
      p.resolve(p.reply);
    }
  }

  /** Sends a command (without tag) and resolves with its completion; NO/BAD reject unless `allowNo`. */
  command(cmd: string, opts: { keep?: boolean; literal?: Buffer; allowNo?: boolean } = {}): Promise<ImapReply> {
    if (this.closedErr) return Promise.reject(this.closedErr);
    if (this.pending) return Promise.reject(new Error('one command at a time'));
    const tag = `B${++this.seq}`;
    return new Promise<ImapReply>((resolve, reject) => {
      const p: Pending = {
        tag,
        keep: opts.keep ?? false,
        reply: { status: 'BAD', text: '', untagged: 0, fetches: 0, bytes: 0, lines: [] },
        resolve: (r) => (r.status === 'OK' || opts.allowNo ? resolve(r) : reject(new Error(`${cmd.split(' ')[0]} → ${r.status} ${r.text}`))),
        reject,
      };
      this.pending = p;
      if (opts.literal) {
        const lit = opts.literal;
        p.onContinue = () => {
          p.onContinue = undefined;
          this.sock.write(Buffer.concat([lit, Buffer.from('\r\n')]));
        };
        this.sock.write(`${tag} ${cmd} {${lit.length}}\r\n`);
      } else {
        this.sock.write(`${tag} ${cmd}\r\n`);
      }
    });
  }

  login(user: string, password: string): Promise<ImapReply> {
    const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    return this.command(`LOGIN ${q(user)} ${q(password)}`);
  }

  /** LOGOUT, then close the socket. */
  async logout(): Promise<void> {
    try {
      await this.command('LOGOUT', { allowNo: true });
    } catch {
      /* the server may close first */
    }
    this.sock.destroy();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** Numbers from untagged `* SEARCH …` / `* ESEARCH … ALL …` lines. */
export function searchHits(lines: string[]): number {
  let n = 0;
  for (const l of lines) {
    const m = /^\* SEARCH ?(.*)$/i.exec(l);
    if (m) n += m[1]!.trim() ? m[1]!.trim().split(/\s+/).length : 0;
  }
  return n;
}
