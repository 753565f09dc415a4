/**
 * Counts for the appliance's /metrics (see ../shared/metrics.ts): connections and open sessions
 * per listener, every refusal a plugin answered (the `deny` hook sees the stage and the reply),
 * and every message acknowledged with 250 (`queue_ok`, after queue and queue_outbound). Listed
 * first in config/plugins so it sees the connection before the other plugins.
 */
import { count, listenerOf, sessionClosed, sessionOpened, startReporting } from '../shared/metrics.js';
import type { Dsn, HarakaConnection, HarakaPlugin, Next } from '../shared/haraka.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const constants = require('haraka-constants') as Record<string, number>;

const NOTE = 'postern_metrics_listener';

export function register(this: HarakaPlugin): void {
  startReporting();
}

export function hook_connect_init(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  try {
    const listener = listenerOf(connection);
    connection.notes[NOTE] = listener;
    sessionOpened(listener);
  } finally {
    next();
  }
}

export function hook_disconnect(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  try {
    const listener = connection.notes?.[NOTE];
    if (listener) {
      delete connection.notes[NOTE];
      sessionClosed(listener);
    }
  } finally {
    next();
  }
}

/** "550 5.1.1" from a DSN, a "550 ..." string, or the retval's default code. */
export function replyCode(retval: number, msg: unknown): string {
  const dsn = msg as (Partial<Dsn> & { cls?: number; sub?: number; det?: number }) | undefined;
  if (dsn && typeof dsn === 'object' && typeof dsn.code === 'number') {
    return dsn.cls !== undefined ? `${dsn.code} ${dsn.cls}.${dsn.sub}.${dsn.det}` : String(dsn.code);
  }
  const text = typeof msg === 'string' ? msg : '';
  const m = /^([245]\d\d)(?:[ -]([245]\.\d{1,3}\.\d{1,3}))?/.exec(text);
  if (m) return m[2] ? `${m[1]} ${m[2]}` : m[1]!;
  const soft = retval === constants.denysoft || retval === constants.denysoftdisconnect;
  return soft ? '450' : '550';
}

/** params: [retval, msg, plugin name, function name, hook params, hook]. Outbound hooks (hmail) are not SMTP sessions. */
export function hook_deny(this: HarakaPlugin, next: Next, connection: HarakaConnection, params: unknown[]): void {
  try {
    if (connection?.local && Array.isArray(params)) {
      const [retval, msg, , , , hook] = params as [number, unknown, string, string, unknown, string];
      count('smtp.rejected', { listener: connection.notes?.[NOTE] ?? listenerOf(connection), stage: String(hook ?? 'unknown'), code: replyCode(retval, msg) });
    }
  } finally {
    next();
  }
}

export function hook_queue_ok(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  try {
    if (connection?.local) count('smtp.accepted', { listener: connection.notes?.[NOTE] ?? listenerOf(connection) });
  } finally {
    next();
  }
}
