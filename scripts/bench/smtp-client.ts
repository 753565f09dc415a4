/**
 * A minimal submission client (smtp-source speaks neither STARTTLS nor AUTH): plain connect,
 * EHLO, STARTTLS, EHLO, AUTH PLAIN, then any number of MAIL/RCPT/DATA transactions on the
 * same session, one command at a time (no pipelining), the same for both servers.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export class SmtpClient {
  private buf = '';
  private waiter: ((reply: { code: number; text: string }) => void) | null = null;
  private failure: Error | null = null;
  private failWaiter: ((e: Error) => void) | null = null;

  private constructor(private sock: Socket | TLSSocket) {
    this.attach(sock);
  }

  private attach(sock: Socket | TLSSocket): void {
    this.sock = sock;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => this.onData(d));
    const fail = (e: Error) => {
      this.failure ??= e;
      this.failWaiter?.(e);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('SMTP connection closed')));
  }

  private onData(d: string): void {
    this.buf += d;
    for (;;) {
      // a complete reply ends with a line "ddd text\r\n" (continuation lines are "ddd-text")
      const m = /(^|\n)(\d{3}) [^\n]*\n/.exec(this.buf);
      if (!m) return;
      const end = m.index + m[0].length;
      const text = this.buf.slice(0, end);
      this.buf = this.buf.slice(end);
      const w = this.waiter;
      this.waiter = null;
      this.failWaiter = null;
      w?.({ code: Number(m[2]), text: text.trim() });
    }
  }

  private reply(): Promise<{ code: number; text: string }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  private async cmd(line: string, expect: number): Promise<string> {
    const r = this.reply();
    this.sock.write(`${line}\r\n`);
    const { code, text } = await r;
    if (Math.floor(code / 100) !== Math.floor(expect / 100)) throw new Error(`SMTP ${line.split(' ')[0]} → ${text}`);
    return text;
  }

  /** Connects, upgrades with STARTTLS and authenticates with AUTH PLAIN. */
  static async open(port: number, user: string, password: string): Promise<SmtpClient> {
    const sock = netConnect({ host: '127.0.0.1', port });
    const c = new SmtpClient(sock);
    const greeting = await c.reply();
    if (greeting.code !== 220) throw new Error(`SMTP greeting: ${greeting.text}`);
    await c.cmd('EHLO client.bench.test', 250);
    await c.cmd('STARTTLS', 220);
    sock.removeAllListeners('data');
    sock.removeAllListeners('error');
    sock.removeAllListeners('close');
    const tls = tlsConnect({ socket: sock, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', () => resolve());
      tls.once('error', reject);
    });
    c.buf = '';
    c.attach(tls);
    await c.cmd('EHLO client.bench.test', 250);
    await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`, 235);
    return c;
  }

  /** One transaction; resolves on the 250 after the final dot. */
  async send(from: string, to: string, message: string): Promise<void> {
    await this.cmd(`MAIL FROM:<${from}>`, 250);
    await this.cmd(`RCPT TO:<${to}>`, 250);
    await this.cmd('DATA', 354);
    const body = message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    await this.cmd(`${body.endsWith('\r\n') ? body : `${body}\r\n`}.`, 250);
  }

  async quit(): Promise<void> {
    try {
      await this.cmd('QUIT', 221);
    } catch {
      /* closing anyway */
    }
    this.sock.destroy();
  }
}
