/**
 * An SMTP server standing in for the internet in outbound tests (nodemailer's smtp-server, on a
 * loopback port): STARTTLS with a self-signed certificate, optional AUTH, and a per-recipient
 * policy to answer temporary or permanent failures. Records every accepted message.
 */
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { generateSelfSigned } from '../../appliance/tls.js';
import { freePorts } from './ports.js';

export interface SunkMessage {
  from: string;
  to: string[];
  raw: string;
  user: string | null;
  secure: boolean;
  at: number;
}

export type RcptPolicy = (rcpt: string, attempt: number) => { code: number; message: string } | null;

export interface Sink {
  port: number;
  messages: SunkMessage[];
  attempts: Map<string, number>;
  waitFor(pred: (m: SunkMessage) => boolean, timeoutMs?: number): Promise<SunkMessage>;
  close(): Promise<void>;
}

const cert = generateSelfSigned('sink.test');

export async function startSink(opts: { auth?: { user: string; pass: string }; policy?: RcptPolicy; dataDelayMs?: number } = {}): Promise<Sink> {
  const [port] = await freePorts(1);
  const messages: SunkMessage[] = [];
  const attempts = new Map<string, number>();
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    secure: false,
    key: cert.key,
    cert: cert.cert,
    authOptional: !opts.auth,
    disabledCommands: opts.auth ? [] : ['AUTH'],
    allowInsecureAuth: false,
    logger: false,
    size: 60 * 1024 * 1024,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      cb(new Error('Invalid username or password'));
    },
    onRcptTo(address: SMTPServerAddress, _session, cb) {
      const rcpt = address.address.toLowerCase();
      const n = (attempts.get(rcpt) ?? 0) + 1;
      attempts.set(rcpt, n);
      const verdict = opts.policy?.(rcpt, n);
      if (verdict) {
        const err = new Error(verdict.message) as Error & { responseCode: number };
        err.responseCode = verdict.code;
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        if (opts.dataDelayMs) await new Promise((r) => setTimeout(r, opts.dataDelayMs));
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: (session.user as string | undefined) ?? null,
          secure: session.secure,
          at: Date.now(),
        });
        for (const w of waiters.splice(0)) w();
        cb();
      });
    },
  });
  // A client that vanishes mid-session (an MTA SIGKILLed by the crash test) is not the sink's failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    port: port!,
    messages,
    attempts,
    waitFor(pred, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = messages.find(pred);
          if (hit) {
            clearTimeout(timer);
            resolve(hit);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => reject(new Error(`sink: no matching message within ${timeoutMs} ms (have ${messages.length})`)), timeoutMs);
        if (check()) return;
        const loop = () => {
          if (!check()) waiters.push(loop);
        };
        waiters.push(loop);
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
