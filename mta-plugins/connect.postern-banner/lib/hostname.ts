/**
 * The machine's host name, asked of the system at most once a second in Haraka's process (issue
 * 18, twelfth round). Haraka's `respond` calls `os.hostname()` for every SMTP reply (seven or
 * more per message) to name the host beside a session id that our connection.ini never shows
 * (uuid banner_chars and deny_chars are 0): a system call and its error check per reply on
 * Haraka's event loop, 1.5 % of it in a profile of the inbound load. Every caller in the process
 * gets the same answer as before, at most a second late after the host is renamed.
 */
export const HOSTNAME_TTL_MS = 1000;

interface OsLike {
  hostname(): string;
}

const cached = new WeakSet<object>();

/** Replaces `os.hostname` with a copy that asks the original at most once per `ttlMs` (false when done already). */
export function cacheHostname(os: OsLike, ttlMs = HOSTNAME_TTL_MS, now: () => number = Date.now): boolean {
  if (cached.has(os)) return false;
  const original = os.hostname.bind(os);
  let name = '';
  let until = -Infinity;
  os.hostname = () => {
    const t = now();
    if (t >= until) {
      name = original();
      until = t + ttlMs;
    }
    return name;
  };
  cached.add(os);
  return true;
}
