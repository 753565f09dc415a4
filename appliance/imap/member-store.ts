/**
 * The mail store as one member's session sees it (issue 19). Names of the shared namespace
 * (`Shared/<address>/<folder>`) are resolved to the shared mailbox's folders (and folders are
 * handed back under those names), LIST and NOTIFY include the shared mailboxes the member may
 * read, and flag reads and writes of a shared folder go through the member's rights and, where
 * the grant says so, the member's own \Seen (appliance/mailstore/member-seen.ts).
 *
 * Every other store method, and every call about the member's own folders, passes straight to
 * the real store: the view adds one map look-up per call there.
 */
import { AppError } from '../core/kernel/errors.js';
import { copyAcrossMailboxes } from '../mailstore/cross-copy.js';
import { type MemberSeenIndex, storeMemberFlags, withMemberSeen } from '../mailstore/member-seen.js';
import type { FolderInfo, MailboxEvent, MailStore, MessageEntry } from '../mailstore/store.types.js';
import { ImapNo } from './responses.js';
import { letterForFlag } from './rights.js';
import type { SharedAccess } from './shared-access.js';
import { isSharedName } from './shared-namespace.js';
import { columnsOfEntries } from './flag-columns.js';

type Listener = (event: MailboxEvent) => void;

/** The member's mailbox watchers (NOTIFY), each also watching the shared mailboxes the member reads. */
export class MailboxWatchers {
  private readonly watches = new Map<Listener, { own: () => void; shared: Map<string, () => void> }>();

  constructor(
    private readonly base: MailStore,
    private readonly access: SharedAccess,
  ) {}

  add(listener: Listener): () => void {
    const w = { own: this.base.watchMailbox(this.access.memberId, listener), shared: new Map<string, () => void>() };
    this.watches.set(listener, w);
    // The grants may not be read yet in this session: wire the shared mailboxes once they are.
    void this.access.ready().then(
      () => this.watches.get(listener) === w && this.wire(listener, w.shared),
      () => undefined,
    );
    return () => {
      w.own();
      for (const un of w.shared.values()) un();
      this.watches.delete(listener);
    };
  }

  private wire(listener: Listener, shared: Map<string, () => void>): void {
    const want = new Set(this.access.readable().map((g) => g.mailboxId));
    for (const [mb, un] of shared) {
      if (want.has(mb)) continue;
      un();
      shared.delete(mb);
    }
    for (const mb of want) {
      if (shared.has(mb)) continue;
      shared.set(
        mb,
        this.base.watchMailbox(mb, (e) => {
          const t = this.translate(e);
          if (t) listener(t);
        }),
      );
    }
  }

  /** A shared mailbox's event under the member's names; its owner's subscriptions are not the member's. */
  private translate(e: MailboxEvent): MailboxEvent | null {
    const name = (n: string) => this.access.clientName(e.mailboxId, n);
    switch (e.kind) {
      case 'folder':
        return e;
      case 'created':
        return { ...e, name: name(e.name) };
      case 'deleted':
        return { ...e, name: name(e.name) };
      case 'renamed':
        return { ...e, from: name(e.from), to: name(e.to) };
      case 'subscription':
        return null;
    }
  }

  /** After the grants changed: watch what the member may read now, and nothing else. */
  rewire(): void {
    for (const [listener, w] of this.watches) this.wire(listener, w.shared);
  }

  stopAll(): void {
    for (const w of this.watches.values()) {
      w.own();
      for (const un of w.shared.values()) un();
    }
    this.watches.clear();
  }
}

/** A folder as the member's commands see it (shared ones under Shared/<address>/), remembered by id. */
function renamed(access: SharedAccess, f: FolderInfo): FolderInfo {
  access.remember(f, f.name);
  return f.mailboxId === access.memberId ? f : { ...f, name: access.clientName(f.mailboxId, f.name) };
}

/** Flags an APPEND into a shared mailbox may set: those the member's rights allow (RFC 4314 4: the others are ignored). */
function allowedFlags(access: SharedAccess, mailboxId: string, flags: string[] | undefined): string[] | undefined {
  if (!flags) return flags;
  const letters = access.rightsOfMailbox(mailboxId);
  return flags.filter((f) => letters.includes(letterForFlag(f)));
}

/** The name-based half of the view: every call naming a folder of the member's mailbox is resolved first. */
function nameMethods(base: MailStore, access: SharedAccess): Partial<MailStore> {
  const member = access.memberId;
  const target = async (mailboxId: string, name: string) => {
    if (mailboxId !== member) return { mailboxId, folder: name, shared: false };
    const r = await access.resolve(name);
    if (r.kind === 'level') throw new AppError('AlreadyExists', 'a level of the shared namespace');
    return { mailboxId: r.mailboxId, folder: r.folder, shared: r.kind === 'shared' };
  };
  return {
    async listFolders(mailboxId) {
      const own = await base.listFolders(mailboxId);
      if (mailboxId !== member) return own;
      await access.ready();
      const shared = await Promise.all(access.readable().map((g) => base.listFolders(g.mailboxId)));
      return [...own.filter((f) => !isSharedName(f.name)), ...shared.flat()].map((f) => renamed(access, f));
    },
    async getFolder(mailboxId, name) {
      if (mailboxId !== member) return base.getFolder(mailboxId, name);
      if (!isSharedName(name)) {
        const own = await base.getFolder(mailboxId, name);
        return own && renamed(access, own);
      }
      const r = await access.resolve(name);
      if (r.kind === 'level') return null;
      const f = await base.getFolder(r.mailboxId, r.folder);
      return f && renamed(access, f);
    },
    async createFolder(mailboxId, name, specialUse) {
      const t = await target(mailboxId, name);
      return renamed(access, await base.createFolder(t.mailboxId, t.folder, specialUse));
    },
    async deleteFolder(mailboxId, name) {
      const t = await target(mailboxId, name);
      return base.deleteFolder(t.mailboxId, t.folder);
    },
    async renameFolder(mailboxId, from, to) {
      const [a, b] = [await target(mailboxId, from), await target(mailboxId, to)];
      if (a.mailboxId !== b.mailboxId) throw new ImapNo('Cannot move a folder between mailboxes', 'CANNOT');
      return base.renameFolder(a.mailboxId, a.folder, b.folder);
    },
    async listSubscriptions(mailboxId) {
      const subs = await base.listSubscriptions(mailboxId);
      if (mailboxId !== member || !subs.some(isSharedName)) return subs;
      await access.ready();
      const prefixes = access.readable().map((g) => access.clientName(g.mailboxId, ''));
      // Subscriptions to a shared mailbox the member no longer reaches are not shown.
      return subs.filter((s) => !isSharedName(s) || prefixes.some((p) => s.startsWith(p)));
    },
    async append(mailboxId, folderName, raw, opts) {
      const t = await target(mailboxId, folderName);
      return base.append(t.mailboxId, t.folder, raw, t.shared && opts ? { ...opts, flags: allowedFlags(access, t.mailboxId, opts.flags) } : opts);
    },
    async appendMany(mailboxId, folderName, items) {
      const t = await target(mailboxId, folderName);
      return base.appendMany(t.mailboxId, t.folder, t.shared ? items.map((i) => ({ ...i, flags: allowedFlags(access, t.mailboxId, i.flags) })) : items);
    },
  };
}

/** The destination of a COPY/MOVE between two mailboxes (own ↔ shared), null within one. */
function acrossMailboxes(access: SharedAccess, folderId: number, destFolderId: number): { mailboxId: string; folder: string } | null {
  const [src, dst] = [access.folderOf(folderId), access.folderOf(destFolderId)];
  if (!src || !dst || src.mailboxId === dst.mailboxId) return null;
  return { mailboxId: dst.mailboxId, folder: dst.name };
}

/** The folder-id half: flags of shared folders through the member's rights and own \Seen. */
function folderMethods(base: MailStore, access: SharedAccess, seenIndex: MemberSeenIndex | null): Partial<MailStore> {
  const perMember = (folderId: number) => {
    const g = access.grantOfFolder(folderId);
    return g?.seenPerMember && seenIndex ? seenIndex : null;
  };
  const overlay = async (folderId: number, entries: MessageEntry[]) => {
    const idx = perMember(folderId);
    return idx ? withMemberSeen(entries, await idx.seen(access.memberId, folderId)) : entries;
  };
  const flagColumns = async (folderId: number) => {
    // The member's own \Seen changes flags per entry: columns made from the overlaid entries.
    if (perMember(folderId) || !base.flagColumns) return columnsOfEntries(await overlay(folderId, await base.listMessages(folderId)));
    return base.flagColumns(folderId);
  };
  return {
    async listMessages(folderId) {
      return overlay(folderId, await base.listMessages(folderId));
    },
    async entriesOf(folderId, uids) {
      if (base.entriesOf) return overlay(folderId, await base.entriesOf(folderId, uids));
      const want = new Set(uids);
      return overlay(
        folderId,
        (await base.listMessages(folderId)).filter((e) => want.has(e.uid)),
      );
    },
    flagColumns,
    async uidFlagColumns(folderId) {
      // Never the owner's \Seen for a member who keeps their own: the columns above.
      if (perMember(folderId) || !base.uidFlagColumns) return flagColumns(folderId);
      return base.uidFlagColumns(folderId);
    },
    async getEntry(folderId, uid) {
      const e = await base.getEntry(folderId, uid);
      return e && (await overlay(folderId, [e]))[0]!;
    },
    async changesSince(folderId, modseq, seen) {
      const ch = await base.changesSince(folderId, modseq, seen);
      return perMember(folderId) ? { ...ch, changed: await overlay(folderId, ch.changed) } : ch;
    },
    async folderStatus(folderId) {
      const st = await base.folderStatus(folderId);
      const idx = perMember(folderId);
      return idx ? { ...st, unseen: st.messages - (await idx.seenCount(access.memberId, folderId)) } : st;
    },
    async storeFlags(folderId, uids, op, flags, unchangedSince) {
      const mb = access.sharedMailboxOf(folderId);
      if (!mb) return base.storeFlags(folderId, uids, op, flags, unchangedSince);
      const letters = access.rightsOfMailbox(mb);
      const scope = { member: access.memberId, seenPerMember: Boolean(perMember(folderId)), mayChange: (f: string) => letters.includes(letterForFlag(f)) };
      return storeMemberFlags(base, seenIndex, scope, folderId, uids, op, flags, unchangedSince);
    },
    async expunge(folderId, uids) {
      const mb = access.sharedMailboxOf(folderId);
      if (!mb) return base.expunge(folderId, uids);
      // CLOSE without the right expunges nothing (RFC 4314 4); EXPUNGE itself checks first.
      if (!access.rightsOfMailbox(mb).includes('e')) return [];
      const gone = await base.expunge(folderId, uids);
      if (seenIndex && gone.length) await seenIndex.forget(folderId, gone);
      return gone;
    },
    async copyMessages(folderId, uids, destFolderId) {
      const across = acrossMailboxes(access, folderId, destFolderId);
      return across ? copyAcrossMailboxes(base, folderId, uids, across, false) : base.copyMessages(folderId, uids, destFolderId);
    },
    async moveMessages(folderId, uids, destFolderId) {
      const across = acrossMailboxes(access, folderId, destFolderId);
      const r = across ? await copyAcrossMailboxes(base, folderId, uids, across, true) : await base.moveMessages(folderId, uids, destFolderId);
      if (seenIndex && access.sharedMailboxOf(folderId) && r.pairs.length)
        await seenIndex.forget(
          folderId,
          r.pairs.map((p) => p[0]),
        );
      return r;
    },
  };
}

/** The member's view of `base` (a Proxy: methods the view does not change pass through as they are). */
export function memberStoreView(base: MailStore, access: SharedAccess): { store: MailStore; watchers: MailboxWatchers } {
  const watchers = new MailboxWatchers(base, access);
  const overrides: Partial<MailStore> = {
    ...nameMethods(base, access),
    ...folderMethods(base, access, access.deps.memberSeen),
    watchMailbox: (mailboxId, listener) => (mailboxId === access.memberId ? watchers.add(listener) : base.watchMailbox(mailboxId, listener)),
  };
  // Methods bound to the base once (issue 18: a bind per `session.store.X` access cost each command).
  const bound = new Map<PropertyKey, { fn: unknown; bound: unknown }>();
  const store = new Proxy(base, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop as keyof MailStore];
      const v: unknown = Reflect.get(target, prop);
      if (typeof v !== 'function') return v;
      const kept = bound.get(prop);
      if (kept?.fn === v) return kept.bound;
      const b = (v as (...a: unknown[]) => unknown).bind(target);
      bound.set(prop, { fn: v, bound: b });
      return b;
    },
  });
  return { store, watchers };
}
