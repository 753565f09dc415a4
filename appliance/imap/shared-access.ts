/**
 * One session's access to shared mailboxes (issue 19): the member's live grants (read once,
 * then kept current by GrantsServing.onChange — events, never polling), the rights they give,
 * name resolution through the shared namespace, and revocation of what the session has open.
 *
 * Revocation (a grant removed, expired or narrowed below `read`, or the shared mailbox
 * suspended): a selected folder of that mailbox is closed at once with an untagged
 * `* NO [NOPERM] Access to <name> was revoked` followed by `* OK [CLOSED]`, and the session is
 * back in the authenticated state. Until the next SELECT/EXAMINE, commands that need a selected
 * mailbox answer `NO [NOPERM]` (not BAD), so a client that missed the untagged responses learns
 * why. LIST, STATUS and NOTIFY stop showing the mailbox with the same event.
 */
import type { GrantChange, GrantRight, GrantsServing, ServingGrant } from '../core/access/grants.types.js';
import type { MemberSeenIndex } from '../mailstore/member-seen.js';
import type { FolderInfo, MailStore } from '../mailstore/store.types.js';
import { memberStoreView, type MailboxWatchers } from './member-store.js';
import { ImapNo, type Reply } from './responses.js';
import { OWNER_RIGHTS, lettersOf } from './rights.js';
import type { ImapSession, SessionUser } from './session.js';
import { parseSharedName, sharedName } from './shared-namespace.js';
import type { SessionState } from './commands/types.js';

/**
 * What owners may change over IMAP (SETACL/DELETEACL) and what GETACL reads: the core's
 * owner-managed sharing, policy-gated and audited like an API change. Null when not wired.
 */
export interface AclAdmin {
  /** Members of the owner's mailbox with their rights (GETACL). */
  members(owner: AclOwner): Promise<Array<{ address: string; rights: GrantRight[] }>>;
  /** Sets a member's rights (creates the grant when there is none); Forbidden when the tenant's policy does not let owners manage sharing. */
  setRights(owner: AclOwner, memberAddress: string, rights: GrantRight[], origin: { sourceIp: string }): Promise<void>;
  /** Removes a member's grant; Forbidden as above. */
  remove(owner: AclOwner, memberAddress: string, origin: { sourceIp: string }): Promise<void>;
}

/** The logged-in owner acting on its own mailbox. */
export interface AclOwner {
  mailboxId: string;
  tenantId: string;
}

/** What the IMAP server needs for shared mailboxes (built once by the composition root). */
export interface SharedServing {
  grants: GrantsServing;
  /** Per-member \Seen (null: \Seen is always shared). */
  memberSeen: MemberSeenIndex | null;
  acl: AclAdmin | null;
}

export type Resolved = { kind: 'own'; mailboxId: string; folder: string } | { kind: 'level'; mailboxId: string | null } | { kind: 'shared'; mailboxId: string; folder: string; grant: ServingGrant };

export class SharedAccess {
  /** Live grants by shared mailbox id. */
  private grants = new Map<string, ServingGrant>();
  private loading: Promise<void> | null = null;
  /** Folders handed to commands (id → mailbox and stored name), own and shared. */
  private readonly folders = new Map<number, { mailboxId: string; name: string }>();
  private readonly unlisten: () => void;
  private expiryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Name of a selected shared folder closed by revocation, until the next SELECT/EXAMINE. */
  private revokedName: string | null = null;
  readonly store: MailStore;
  readonly watchers: MailboxWatchers;

  constructor(
    private readonly session: ImapSession,
    readonly user: SessionUser,
    readonly deps: SharedServing,
  ) {
    this.unlisten = deps.grants.onChange(user.mailboxId, (change) => this.onChange(change));
    const view = memberStoreView(session.deps.store, this);
    this.store = view.store;
    this.watchers = view.watchers;
  }

  get memberId(): string {
    return this.user.mailboxId;
  }

  /** Loads the grants once (the first command that needs them). */
  ready(): Promise<void> {
    this.loading ??= this.reload();
    return this.loading;
  }

  private async reload(): Promise<void> {
    const list = await this.deps.grants.forMember(this.memberId);
    if (this.stopped) return;
    this.grants = new Map(list.map((g) => [g.mailboxId, g]));
    this.armExpiry();
  }

  /** A grant ends by itself at its expiry: the session acts then (one timer, not polling). */
  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const next = Math.min(...[...this.grants.values()].map((g) => g.expiresAt ?? Infinity));
    if (next === Infinity) return;
    this.expiryTimer = setTimeout(() => this.onChange({ mailboxId: '', memberMailboxId: this.memberId, kind: 'revoked' }), Math.max(0, Math.min(next - Date.now() + 10, 2 ** 31 - 1)));
    this.expiryTimer.unref();
  }

  /** The live grant on a shared mailbox (an expired one counts as gone). */
  grantOf(mailboxId: string): ServingGrant | null {
    const g = this.grants.get(mailboxId);
    if (!g || (g.expiresAt !== null && g.expiresAt <= Date.now())) return null;
    return g;
  }

  /** Live grants that let the member see the mailbox (read), by address. */
  readable(): ServingGrant[] {
    return [...this.grants.values()].filter((g) => this.grantOf(g.mailboxId) && g.rights.has('read')).sort((a, b) => (a.mailboxAddress < b.mailboxAddress ? -1 : 1));
  }

  private byAddress(address: string): ServingGrant | null {
    for (const g of this.grants.values()) if (g.mailboxAddress === address) return this.grantOf(g.mailboxId);
    return null;
  }

  /** RFC 4314 letters the member holds on a mailbox: all on its own, the grant's on a shared one. */
  rightsOfMailbox(mailboxId: string): string {
    if (mailboxId === this.memberId) return OWNER_RIGHTS;
    const g = this.grantOf(mailboxId);
    return g ? lettersOf(g.rights) : '';
  }

  rightsOfFolder(folder: FolderInfo): string {
    return this.rightsOfMailbox(folder.mailboxId);
  }

  /** Remembers a folder handed to a command (folder ids reach commands only through the view). */
  remember(folder: FolderInfo, storedName: string): void {
    this.folders.set(folder.id, { mailboxId: folder.mailboxId, name: storedName });
  }

  /** The mailbox and stored name of a folder id the view handed out. */
  folderOf(folderId: number): { mailboxId: string; name: string } | null {
    return this.folders.get(folderId) ?? null;
  }

  /** The shared mailbox of a folder id, or null for the member's own folders. */
  sharedMailboxOf(folderId: number): string | null {
    const mb = this.folders.get(folderId)?.mailboxId;
    return mb && mb !== this.memberId ? mb : null;
  }

  /** The grant behind a folder id (null: own folder, or access gone). */
  grantOfFolder(folderId: number): ServingGrant | null {
    const mb = this.sharedMailboxOf(folderId);
    return mb ? this.grantOf(mb) : null;
  }

  /** Maps a client-side name to (mailbox, folder); NO [NOPERM] for a shared mailbox without a live grant. */
  async resolve(name: string): Promise<Resolved> {
    const parts = parseSharedName(name);
    if (parts.kind === 'personal') return { kind: 'own', mailboxId: this.memberId, folder: parts.name };
    await this.ready();
    if (parts.address === null) return { kind: 'level', mailboxId: null };
    const grant = this.byAddress(parts.address);
    if (!grant) throw new ImapNo(`No access to ${sharedName(parts.address, '').slice(0, -1)}`, 'NOPERM');
    this.deps.grants.touch(grant.id);
    if (parts.kind === 'level') return { kind: 'level', mailboxId: grant.mailboxId };
    return { kind: 'shared', mailboxId: grant.mailboxId, folder: parts.folder, grant };
  }

  /** The client-side name of a folder of a mailbox this member reaches. */
  clientName(mailboxId: string, folder: string): string {
    if (mailboxId === this.memberId) return folder;
    const g = this.grants.get(mailboxId);
    return g ? sharedName(g.mailboxAddress, folder) : folder;
  }

  /** The refusal of a command that needs a selected mailbox after the selected one was revoked. */
  stateRefusal(states: readonly SessionState[]): Reply | null {
    if (!this.revokedName || this.session.state !== 'authenticated' || states.includes('authenticated')) return null;
    return { status: 'NO', code: 'NOPERM', text: `Access to ${this.revokedName} was revoked` };
  }

  /** A mailbox is being selected: a revocation notice is over. */
  selecting(): void {
    this.revokedName = null;
  }

  private onChange(change: GrantChange): void {
    if (this.stopped) return;
    this.session.log.debug({ mailboxId: change.mailboxId, kind: change.kind }, 'grants changed');
    this.loading = this.reload().then(
      () => this.afterChange(),
      (err: unknown) => this.session.log.warn({ err, event: 'imap.shared.error' }, 'grants not re-read'),
    );
  }

  /** After the grants were re-read: close a selected folder the member may no longer read, re-point mailbox watchers. */
  private afterChange(): void {
    if (this.stopped) return;
    this.watchers.rewire();
    const sel = this.session.selected;
    if (!sel || sel.folder.mailboxId === this.memberId || this.rightsOfMailbox(sel.folder.mailboxId).includes('r')) return;
    this.session.background(async () => {
      const s = this.session;
      if (s.selected !== sel) return;
      sel.close();
      s.selected = null;
      s.state = 'authenticated';
      this.revokedName = sel.folder.name;
      s.log.info({ event: 'imap.shared.revoked', mailboxId: sel.folder.mailboxId }, 'selected shared folder closed: access revoked');
      s.write(`* NO [NOPERM] Access to ${s.mailboxName(sel.folder.name)} was revoked\r\n* OK [CLOSED] Mailbox closed\r\n`);
    });
  }

  stop(): void {
    this.stopped = true;
    this.unlisten();
    this.watchers.stopAll();
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }
}

/** NO [NOPERM] unless the session holds the right on the folder's mailbox. */
export function needRight(session: ImapSession, folder: FolderInfo, letter: string, what: string): void {
  const shared = session.shared;
  if (!shared || shared.rightsOfFolder(folder).includes(letter)) return;
  throw new ImapNo(`No permission to ${what} ${folder.name}`, 'NOPERM');
}

/** The same for a name (CREATE, DELETE, RENAME): personal names need nothing. */
export async function needNameRight(session: ImapSession, name: string, letter: string, what: string): Promise<void> {
  const shared = session.shared;
  if (!shared) return;
  const r = await shared.resolve(name);
  if (r.kind === 'own') return;
  if (r.kind === 'level' || !shared.rightsOfMailbox(r.mailboxId).includes(letter)) throw new ImapNo(`No permission to ${what} ${name}`, 'NOPERM');
}
