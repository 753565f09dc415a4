/**
 * SMTP abuse limits (see lib/limits.ts): a global and a per-address cap on concurrent
 * unauthenticated sessions (421 4.7.0 at connect), command lines over 512 octets answered
 * `500 5.5.2 line too long` and closed as soon as the 513th octet arrives without a line end
 * (before Haraka buffers more), DATA cut with 421 4.4.2 below a minimum rate or after a total
 * deadline, and a message with a text line over 998 octets refused with 550 5.5.2 (Haraka's
 * max.data_line_length marks it; RFC 5321 §4.5.3.1.6). Listed right after the metrics plugin.
 */
import { count } from '../shared/metrics.js';
import { pluginSettings } from '../shared/appliance.js';
import { DENY, dsn, type HarakaConnection, type HarakaPlugin, type Next } from '../shared/haraka.js';
import { admitConnection, releaseConnection } from '../shared/limits.js';
import { CommandLineGuard, DataRate } from './lib/limits.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const constants = require('haraka-constants') as Record<string, number> & { connection: { state: Record<string, number> } };
const STATE = constants.connection.state;

const WATCH = 'postern_limits_watch';

interface Watch {
  guard: CommandLineGuard;
  rate: DataRate | null;
  timer: NodeJS.Timeout | null;
  onData: (chunk: Buffer) => void;
}

type LiveConnection = HarakaConnection & {
  state: number;
  client: NodeJS.EventEmitter & { pause(): void; destroy(): void; removeListener(e: string, f: (...a: any[]) => void): unknown };
  respond(code: number, msg: string, cb?: () => void): void;
  disconnect(): void;
};

function inData(c: LiveConnection): boolean {
  return c.state === STATE.DATA || c.state === STATE.PAUSE_DATA;
}

function cut(c: LiveConnection, code: number, text: string, limit: string): void {
  count('smtp.limit', { limit });
  c.loginfo(null, 'session cut by a limit', { event: 'smtp.limit', limit });
  stopRate(c);
  c.respond(code, text, () => c.disconnect());
  // Read nothing more; a client still pushing bytes would hold a half-closed socket open, so
  // the socket goes once the reply had time to leave.
  c.client.pause();
  setTimeout(() => c.client.destroy(), 250).unref();
}

function stopRate(c: HarakaConnection): void {
  const w = c.notes?.[WATCH] as Watch | undefined;
  if (w?.timer) clearInterval(w.timer);
  if (w) {
    w.timer = null;
    w.rate = null;
  }
}

export function hook_connect_init(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  try {
    const c = connection as LiveConnection;
    const watch: Watch = {
      guard: new CommandLineGuard(),
      rate: null,
      timer: null,
      onData: (chunk: Buffer) => {
        if (c.state >= STATE.DISCONNECTING) return;
        if (inData(c)) {
          watch.guard.reset();
          watch.rate?.add(chunk.length);
          return;
        }
        if (watch.guard.push(chunk) === 'too-long') cut(c, 500, '5.5.2 line too long', 'line_length');
      },
    };
    connection.notes[WATCH] = watch;
    // Before Haraka's own listener: the refusal goes out before it buffers the line.
    c.client.prependListener('data', watch.onData);
  } catch (err) {
    connection.logerror(this, `limits watch failed: ${String(err)}`);
  }
  // Counted in this process, or by the Haraka master for all workers (shared/limits.ts).
  admitConnection(connection, connection.remote.ip).then(
    (admission) => {
      if (!admission.ok) connection.notes.postern_limits_refused = admission.reason;
      next();
    },
    () => next(),
  );
}

/** Refused sessions are answered here, before any DNS lookup. */
export function hook_lookup_rdns(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  const reason = connection.notes?.postern_limits_refused as string | undefined;
  if (!reason) return next();
  count('smtp.limit', { limit: reason === 'global' ? 'sessions' : 'sessions_per_ip' });
  connection.loginfo(this, 'session refused by a limit', { event: 'smtp.limit', limit: reason });
  next(constants.denysoftdisconnect, reason === 'global' ? '4.7.0 Too many connections, try again later' : '4.7.0 Too many connections from your address, try again later');
}

export function hook_data(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  try {
    const w = connection.notes?.[WATCH] as Watch | undefined;
    const s = pluginSettings().smtpLimits;
    if (w && (s.dataMinRateBytesPerSecond > 0 || s.dataTimeoutSeconds > 0)) {
      stopRate(connection);
      const rate = new DataRate(s, Date.now());
      w.rate = rate;
      const c = connection as LiveConnection;
      w.timer = setInterval(() => {
        if (c.state >= STATE.DISCONNECTING) return stopRate(c);
        if (!inData(c)) return;
        const why = rate.check(Date.now());
        if (why) cut(c, 421, why === 'deadline' ? '4.4.2 DATA took too long, closing connection' : '4.4.2 DATA too slow, closing connection', why === 'deadline' ? 'data_deadline' : 'data_rate');
      }, 1000);
      w.timer.unref();
    }
  } finally {
    next();
  }
}

export function hook_data_post(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  stopRate(connection);
  if (connection.transaction?.notes?.data_line_length_exceeded) {
    count('smtp.limit', { limit: 'data_line_length' });
    return next(DENY, dsn(550, '5.5.2', 'message has a line longer than 998 octets (RFC 5321 section 4.5.3.1.6)'));
  }
  next();
}

/** QUIT: the slot is released before the 221 (see releaseConnection); other ends release it at disconnect. */
export function hook_quit(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  releaseConnection(connection).then(
    () => next(),
    () => next(),
  );
}

export function hook_disconnect(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  try {
    stopRate(connection);
    const w = connection.notes?.[WATCH] as Watch | undefined;
    if (w) (connection as LiveConnection).client.removeListener('data', w.onData);
    void releaseConnection(connection);
  } finally {
    next();
  }
}
