/**
 * The source side of a migration: an IMAP client (imapflow) for the other provider's server,
 * and the folder plan — which source folders are copied and into which of our folders. imapflow
 * decodes modified UTF-7 names and tells the special use of a folder (SPECIAL-USE flags, else
 * the well-known localized names: "Gesendete Objekte", "Éléments envoyés", "[Gmail]/Sent Mail"…).
 */
import { ImapFlow, type ListResponse } from 'imapflow';
import type { ConnectionOptions } from 'node:tls';
import type { CheckedSource } from './view.js';

const SPECIAL_USES = new Set(['\\Sent', '\\Drafts', '\\Junk', '\\Trash', '\\Archive']);

export interface SourceOptions {
  /** Trust anchors etc. for the source's TLS (production: the system's CAs). */
  tls?: ConnectionOptions;
  /** The largest message the appliance takes (responses up to about this size are read). */
  maxMessageBytes: number;
  timeoutMs?: number;
}

/** A connected, authenticated client of the source; throws SourceAuthError on bad credentials. */
export async function connectSource(src: CheckedSource, opts: SourceOptions): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: src.host,
    port: src.port,
    secure: src.tls === 'implicit',
    doSTARTTLS: src.tls === 'starttls' ? true : undefined,
    auth: src.auth === 'xoauth2' ? { user: src.user, accessToken: src.secret } : { user: src.user, pass: src.secret },
    tls: opts.tls,
    logger: false,
    disableAutoIdle: true,
    disableCompression: true,
    connectionTimeout: opts.timeoutMs ?? 30_000,
    greetingTimeout: opts.timeoutMs ?? 30_000,
    socketTimeout: (opts.timeoutMs ?? 30_000) * 4,
    maxLiteralSize: opts.maxMessageBytes * 2 + 1024 * 1024,
    maxResponseSize: opts.maxMessageBytes * 2 + 4 * 1024 * 1024,
  } as ConstructorParameters<typeof ImapFlow>[0]);
  client.on('error', () => undefined); // surfaced by the pending command instead
  try {
    await client.connect();
  } catch (err) {
    client.close();
    const e = err as { authenticationFailed?: boolean; responseText?: string; message?: string; oauthError?: { status?: string } | false };
    if (e.authenticationFailed && src.auth === 'xoauth2') {
      const status = e.oauthError && e.oauthError.status ? ` [${e.oauthError.status}]` : '';
      throw new SourceAuthError(
        `the source refused the OAuth2 access token of ${src.user} (expired, revoked or not for this account): ${e.responseText ?? 'authentication failed'}${status}; run the job again with a fresh token`,
      );
    }
    if (e.authenticationFailed) throw new SourceAuthError(`the source refused the login of ${src.user}: ${e.responseText ?? 'authentication failed'}`);
    throw err;
  }
  return client;
}

export class SourceAuthError extends Error {}

export async function closeSource(client: ImapFlow | null): Promise<void> {
  if (!client) return;
  try {
    if (client.usable) await client.logout();
  } catch {
    // the connection is gone already
  }
  client.close();
}

export interface PlannedFolder {
  source: string;
  target: string;
  specialUse: string | null;
}

/** Our name for a source folder path: '/' as delimiter, the personal namespace prefix dropped, no forbidden characters. */
export function targetName(entry: Pick<ListResponse, 'path' | 'delimiter'>, nsPrefix: string): string {
  let p = entry.path;
  if (nsPrefix && p.startsWith(nsPrefix) && p.length > nsPrefix.length) p = p.slice(nsPrefix.length);
  if (p.toUpperCase() === 'INBOX') return 'INBOX';
  const parts = (entry.delimiter ? p.split(entry.delimiter) : [p]).map(
    (s) =>
      // eslint-disable-next-line no-control-regex -- control characters are what this replaces
      s.replace(/[\x00-\x1f\x7f*%/]/g, '_').trim() || '_',
  );
  return parts.join('/');
}

/**
 * The folders to copy: every selectable source folder (or the selection), each with its
 * target. A special-use source folder goes into our folder of that use (its name on our side
 * is ours: a source "Gesendete Objekte" lands in "Sent").
 */
export async function planFolders(client: ImapFlow, selection: string[] | null, ours: Array<{ name: string; specialUse: string | null }>): Promise<PlannedFolder[]> {
  const listed = await client.list();
  const nsPrefix = client.namespace?.prefix ?? '';
  const bySpecial = new Map(ours.filter((f) => f.specialUse).map((f) => [f.specialUse!, f.name]));
  const selectable = listed.filter((e) => !e.flags.has('\\Noselect') && !e.flags.has('\\NonExistent'));
  const wanted = selection ? selectable.filter((e) => selection.includes(e.path) || selection.includes(e.pathAsListed)) : selectable;
  if (selection) {
    const missing = selection.filter((s) => !selectable.some((e) => e.path === s || e.pathAsListed === s));
    if (missing.length) throw new Error(`the source has no folder ${missing.map((m) => JSON.stringify(m)).join(', ')}`);
  }
  const used = new Set<string>();
  const out: PlannedFolder[] = [];
  for (const e of wanted) {
    // A use the server declares counts anywhere; one guessed from a localized name only at the top level ("Clients/Archive" is a client's folder).
    const topLevel = e.parent.length === 0 || (nsPrefix !== '' && `${e.parentPath}${e.delimiter}` === nsPrefix);
    const trusted = e.specialUseSource === 'extension' || e.specialUseSource === 'user' || topLevel;
    const special = e.specialUse && SPECIAL_USES.has(e.specialUse) && trusted && !used.has(e.specialUse) ? e.specialUse : null;
    let target = special && bySpecial.has(special) ? bySpecial.get(special)! : targetName(e, nsPrefix);
    if (special) used.add(special);
    if (out.some((o) => o.target === target)) target = `${target} (${e.path.replace(/[*%/]/g, '_')})`;
    out.push({ source: e.path, target, specialUse: special });
  }
  return out.sort((a, b) => (a.target === 'INBOX' ? -1 : b.target === 'INBOX' ? 1 : a.source.localeCompare(b.source)));
}
