/**
 * What the SMTP listeners tell a client about themselves: the host name and nothing else. The
 * greeting is "220 <host> ESMTP" (Haraka's default names Haraka and its version) and the DATA
 * go-ahead a plain RFC 5321 text (Haraka's "go ahead, make my day" identifies it just as well).
 * Also the client's reverse DNS name for Haraka, with answers kept 10 s (lib/rdns.ts), and the
 * machine's host name that Haraka asks for every reply, kept a second (lib/hostname.ts).
 */
import os from 'node:os';
import { CONT, type HarakaConnection, type HarakaPlugin, type Next, OK } from '../shared/haraka.js';
import { remoteHostNames } from './lib/rdns.js';
import { cacheHostname } from './lib/hostname.js';
import { DATA_GO_AHEAD, greeting } from './lib/texts.js';

export function register(this: HarakaPlugin): void {
  cacheHostname(os);
}

type Respond = (code: number, msg: unknown, func?: () => void) => void;

/** Replaces the text of the 354 reply (Haraka hard-codes it in the DATA command). */
export function hook_connect_init(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  try {
    const c = connection as HarakaConnection & { respond: Respond };
    const respond = c.respond.bind(c);
    c.respond = (code, msg, func) => respond(code, code === 354 ? DATA_GO_AHEAD : msg, func);
  } finally {
    next();
  }
}

const remoteHost = remoteHostNames();

/**
 * The client's reverse DNS name in place of Haraka's own look-up (same answers, kept 10 s). This
 * plugin is listed last, so connect.postern-limits' lookup_rdns hook has refused what it refuses.
 */
export function hook_lookup_rdns(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  remoteHost(connection.remote.ip).then(
    (name) => next(OK, name),
    () => next(),
  );
}

/**
 * Answers the greeting itself (OK ends the connect hooks: no plugin listed after this one has a
 * connect hook; connect.postern-metrics counts at connect_init, before it).
 */
export function hook_connect(this: HarakaPlugin, next: Next, connection: HarakaConnection): void {
  try {
    next(OK, greeting(connection.local.host));
  } catch {
    next(CONT);
  }
}
