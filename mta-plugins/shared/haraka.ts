/**
 * The slice of Haraka's plugin API our plugins use, typed. Haraka loads our folder plugins with
 * require(), so constants and DSNs come from their packages rather than injected globals.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const constants = require('haraka-constants') as Record<string, number>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const DSNClass = require('haraka-dsn') as { create(code: number, msg: string, subject: number, detail: number): Dsn };

export interface Dsn {
  code: number;
  reply: string;
}

export const OK = constants.ok!;
export const DENY = constants.deny!;
export const DENYSOFT = constants.denysoft!;
export const DENYDISCONNECT = constants.denydisconnect!;
export const CONT = constants.cont!;

/** An SMTP reply with an enhanced status code (RFC 3463), e.g. dsn(550, '5.1.1', 'no such user'). */
export function dsn(code: number, enhanced: string, message: string): Dsn {
  const [, subject, detail] = enhanced.split('.').map(Number) as [number, number, number];
  return DSNClass.create(code, message, subject, detail);
}

export type Next = (code?: number, msg?: string | Dsn) => void;

export interface HarakaAddress {
  user: string | null;
  host: string | null;
  address: string;
  isNull(): boolean;
}

export interface HarakaHeader {
  get(name: string): string;
  get_all(name: string): string[];
}

export interface HarakaTransaction {
  uuid: string;
  mail_from: HarakaAddress;
  rcpt_to: HarakaAddress[];
  data_bytes: number;
  header: HarakaHeader;
  notes: Record<string, any>;
  message_stream: NodeJS.ReadableStream & { pipe(dest: NodeJS.WritableStream, opts?: Record<string, unknown>): void };
  add_leading_header(name: string, value: string): void;
  add_header(name: string, value: string): void;
  remove_header(name: string): void;
  results: { add(plugin: unknown, obj: Record<string, unknown>): void };
}

export interface HarakaConnection {
  uuid: string;
  remote: { ip: string; host?: string; is_private?: boolean; is_local?: boolean };
  local: { ip: string; port: number; host: string };
  hello: { verb: string; host: string };
  tls: { enabled: boolean };
  relaying: boolean;
  notes: Record<string, any>;
  capabilities: string[];
  transaction: HarakaTransaction | null;
  loginfo(plugin: unknown, msg: string, data?: unknown): void;
  logwarn(plugin: unknown, msg: string, data?: unknown): void;
  logerror(plugin: unknown, msg: string, data?: unknown): void;
}

export interface HarakaPlugin {
  name: string;
  register_hook(hook: string, method: string, priority?: number): void;
  loginfo(msg: string, data?: unknown): void;
  logwarn(msg: string, data?: unknown): void;
  logerror(msg: string, data?: unknown): void;
  [key: string]: unknown;
}

/**
 * Wraps an async hook so it always calls next() exactly once, also when it throws: Haraka dies
 * on exceptions in async plugin code. Unexpected errors answer 451 4.3.0 (try again later).
 */
export function safeHook<A extends unknown[]>(fn: (this: HarakaPlugin, next: Next, ...args: A) => Promise<void>): (this: HarakaPlugin, next: Next, ...args: A) => void {
  return function (this: HarakaPlugin, next: Next, ...args: A) {
    let called = false;
    const once: Next = (code, msg) => {
      if (called) return;
      called = true;
      next(code, msg);
    };
    fn.call(this, once, ...args).catch((err: unknown) => {
      this.logerror(`hook failed: ${(err as Error)?.stack ?? String(err)}`);
      once(DENYSOFT, dsn(451, '4.3.0', 'temporary local problem, try again later'));
    });
  };
}
