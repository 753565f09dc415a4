/**
 * The shared namespace (RFC 2342): every shared mailbox a member has a live grant on appears
 * under `Shared/<address>/`, its folders below it (`Shared/info@client.example/INBOX`,
 * `Shared/info@client.example/Projects/2026`). The personal namespace is "" as before.
 * `Shared` and `Shared/<address>` are \Noselect levels. This module is the one place where names
 * are mapped between the client's view and (shared mailbox, folder).
 */
import { DELIMITER } from './mailbox-names.js';

/** The shared namespace's prefix as NAMESPACE announces it. */
export const SHARED_PREFIX = `Shared${DELIMITER}`;
export const SHARED_ROOT = 'Shared';

/** The NAMESPACE response (RFC 2342 5): personal "", no other users' namespace, shared "Shared/". */
export const NAMESPACE_RESPONSE = `NAMESPACE (("" "${DELIMITER}")) NIL (("${SHARED_PREFIX}" "${DELIMITER}"))`;

/** A client-side name split into the parts of the shared namespace. */
export type SharedNameParts =
  /** Outside the shared namespace: a personal folder. */
  | { kind: 'personal'; name: string }
  /** `Shared` itself, or `Shared/<address>` (address set): levels that hold no messages. */
  | { kind: 'level'; address: string | null }
  /** A folder of a shared mailbox. */
  | { kind: 'shared'; address: string; folder: string };

export function isSharedName(name: string): boolean {
  return name === SHARED_ROOT || name.startsWith(SHARED_PREFIX);
}

/** Splits a client-side name (already decoded, INBOX normalised at the top level). */
export function parseSharedName(name: string): SharedNameParts {
  if (!isSharedName(name)) return { kind: 'personal', name };
  if (name === SHARED_ROOT) return { kind: 'level', address: null };
  const rest = name.slice(SHARED_PREFIX.length);
  const cut = rest.indexOf(DELIMITER);
  const address = (cut < 0 ? rest : rest.slice(0, cut)).toLowerCase();
  if (cut < 0 || cut === rest.length - 1) return { kind: 'level', address };
  const folder = rest.slice(cut + 1);
  // The shared mailbox's inbox is INBOX whatever case the client wrote it in.
  return { kind: 'shared', address, folder: folder.toUpperCase() === 'INBOX' ? 'INBOX' : folder };
}

/** The client-side name of a shared mailbox's folder. */
export function sharedName(address: string, folder: string): string {
  return `${SHARED_PREFIX}${address}${DELIMITER}${folder}`;
}
