/**
 * NOTIFY (RFC 5465): which events of which mailboxes a session is told about, as they happen.
 * Everything is driven by the store's mailbox watch (MailStore.watchMailbox, fired after each
 * commit); nothing polls.
 *
 * - The selected mailbox (SELECTED, SELECTED-DELAYED): EXISTS/EXPUNGE/FETCH are written at once
 *   for the requested events, also between commands (RFC 5465 5.1, 5.3); SELECTED-DELAYED holds
 *   EXPUNGE back until a command that allows it. MessageNew may carry fetch attributes
 *   (`MessageNew (UID FLAGS)`), answered like UID FETCH of the new messages.
 * - Other mailboxes of the user (INBOXES, PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES): STATUS
 *   (MESSAGES UIDNEXT UNSEEN, and HIGHESTMODSEQ under CONDSTORE) for MessageNew, MessageExpunge
 *   and FlagChange (RFC 5465 5.2, 5.4), `* LIST` for MailboxName (created, renamed with OLDNAME,
 *   deleted as \NonExistent; RFC 5465 5.4) and SubscriptionChange (RFC 5465 5.5).
 * - While a command runs, notifications wait and are written before its tagged reply.
 * - When the client stops reading (output unread for a second, over 1 MB buffered, or 1000
 *   notifications held back), `* OK [NOTIFICATIONOVERFLOW]` ends notification (RFC 5465 5.8).
 */
import { isSharedName } from './shared-namespace.js';
import type { MailboxEvent } from '../mailstore/store.types.js';
import { parseFetchItems } from './fetch-items.js';
import { ImapSyntaxError, type Token, isAtom } from './parser.js';
import { ImapNo } from './responses.js';
import type { ImapSession } from './session.js';

export type FilterScope = 'SELECTED' | 'SELECTED-DELAYED' | 'INBOXES' | 'PERSONAL' | 'SUBSCRIBED' | 'SUBTREE' | 'MAILBOXES';

export interface NotifyFilter {
  scope: FilterScope;
  /** Mailbox names of SUBTREE and MAILBOXES. */
  names: string[];
  /** Requested events by upper-case name (empty: NONE). */
  events: Set<string>;
  /** Fetch attributes of MessageNew (SELECTED filters only). */
  fetchAtts: Token | null;
}

export const SUPPORTED_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange', 'MailboxName', 'SubscriptionChange'];
const SUPPORTED = new Set(SUPPORTED_EVENTS.map((e) => e.toUpperCase()));
const KNOWN = new Set([...SUPPORTED, 'ANNOTATIONCHANGE', 'MAILBOXMETADATACHANGE', 'SERVERMETADATACHANGE']);
const SCOPES = new Set<FilterScope>(['SELECTED', 'SELECTED-DELAYED', 'INBOXES', 'PERSONAL', 'SUBSCRIBED', 'SUBTREE', 'MAILBOXES']);
/** Output the client has not read beyond which notification stops (NOTIFICATIONOVERFLOW). */
export const OVERFLOW_BYTES = 1024 * 1024;
/** Notifications held back during one command beyond which notification stops. */
export const OVERFLOW_PENDING = 1000;
/** How long the client may leave output unread before a notification overflows. */
export const OVERFLOW_STALL_MS = 1000;

/**
 * Parses the arguments of `NOTIFY SET [STATUS] (filter events) ...` (RFC 5465 6). Syntax
 * errors and violated rules are BAD; events the server does not offer are NO [BADEVENT].
 */
export function parseNotifySet(args: Token[], mailboxArg: (t: Token) => string): { status: boolean; filters: NotifyFilter[] } {
  let i = 0;
  let status = false;
  if (isAtom(args[0], 'STATUS')) {
    status = true;
    i = 1;
  }
  if (i >= args.length) throw new ImapSyntaxError('NOTIFY SET needs at least one event group');
  const filters: NotifyFilter[] = [];
  const seen = new Set<string>();
  for (; i < args.length; i++) {
    const group = args[i]!;
    if (group.t !== 'list' || group.v.length < 2) throw new ImapSyntaxError('Invalid event group');
    const head = group.v[0]!;
    if (head.t !== 'atom' || !SCOPES.has(head.v.toUpperCase() as FilterScope)) throw new ImapSyntaxError('Invalid filter');
    const scope = head.v.toUpperCase() as FilterScope;
    let names: string[] = [];
    let k = 1;
    if (scope === 'SUBTREE' || scope === 'MAILBOXES') {
      const m = group.v[1]!;
      names = (m.t === 'list' ? m.v : [m]).map((t) => mailboxArg(t));
      if (!names.length) throw new ImapSyntaxError('Filter needs mailbox names');
      k = 2;
    }
    const key = scope === 'SELECTED-DELAYED' ? 'SELECTED' : scope;
    if (seen.has(key) && scope !== 'SUBTREE' && scope !== 'MAILBOXES') throw new ImapSyntaxError(`Filter ${scope} given twice`);
    seen.add(key);
    const evTok = group.v[k];
    if (!evTok || group.v.length !== k + 1) throw new ImapSyntaxError('Invalid event group');
    const events = new Set<string>();
    let fetchAtts: Token | null = null;
    if (!isAtom(evTok, 'NONE')) {
      if (evTok.t !== 'list' || !evTok.v.length) throw new ImapSyntaxError('Invalid event list');
      for (let j = 0; j < evTok.v.length; j++) {
        const e = evTok.v[j]!;
        if (e.t !== 'atom') throw new ImapSyntaxError('Invalid event');
        const name = e.v.toUpperCase();
        if (!KNOWN.has(name) || !SUPPORTED.has(name)) throw new ImapNo('Event not supported', `BADEVENT (${SUPPORTED_EVENTS.join(' ')})`);
        events.add(name);
        if (name === 'MESSAGENEW' && evTok.v[j + 1]?.t === 'list') {
          fetchAtts = evTok.v[++j]!;
          // RFC 5465 5.2: fetch attributes only for the selected mailbox; none may set \Seen.
          if (key !== 'SELECTED') throw new ImapSyntaxError('MessageNew fetch attributes are only allowed for SELECTED');
          if (parseFetchItems(fetchAtts).setsSeen) throw new ImapSyntaxError('MessageNew fetch attributes may not set \\Seen');
        }
      }
      // RFC 5465 5: MessageNew and MessageExpunge go together; FlagChange needs both.
      if (events.has('MESSAGENEW') !== events.has('MESSAGEEXPUNGE')) throw new ImapSyntaxError('MessageNew and MessageExpunge must be given together');
      if (events.has('FLAGCHANGE') && !events.has('MESSAGENEW')) throw new ImapSyntaxError('FlagChange needs MessageNew and MessageExpunge');
      if (key === 'SELECTED' && (events.has('MAILBOXNAME') || events.has('SUBSCRIPTIONCHANGE'))) throw new ImapSyntaxError('Mailbox events are not selected-mailbox events');
    }
    filters.push({ scope, names, events, fetchAtts });
  }
  return { status, filters };
}

export class Notifier {
  private unwatch: () => void;
  private readonly names = new Map<number, string>();
  private subscribed = new Set<string>();
  private readonly pendingStatus = new Set<number>();
  private statusScheduled = false;
  private stopped = false;
  readonly selectedFilter: NotifyFilter | null;
  private readonly others: NotifyFilter[];

  private constructor(
    private readonly session: ImapSession,
    filters: NotifyFilter[],
    private readonly mailboxId: string,
  ) {
    this.selectedFilter = filters.find((f) => f.scope === 'SELECTED' || f.scope === 'SELECTED-DELAYED') ?? null;
    this.others = filters.filter((f) => f !== this.selectedFilter && f.events.size);
    this.unwatch = session.store.watchMailbox(mailboxId, (event) => this.onEvent(event));
  }

  /** Starts watching, loads the folder list (and subscriptions when needed), and sends STATUS when asked. */
  static async start(session: ImapSession, filters: NotifyFilter[], status: boolean): Promise<Notifier> {
    const n = new Notifier(session, filters, session.user!.mailboxId);
    try {
      for (const f of await session.store.listFolders(n.mailboxId)) n.names.set(f.id, f.name);
      if (n.others.some((f) => f.scope === 'SUBSCRIBED')) n.subscribed = new Set(await session.store.listSubscriptions(n.mailboxId));
      if (status) {
        // RFC 5465 6: STATUS of each mailbox the message events cover, now.
        for (const [id, name] of n.names) if (id !== session.selected?.folder.id && n.filterOf(name)?.events.has('MESSAGENEW')) n.pendingStatus.add(id);
        await n.writeStatus();
      }
    } catch (err) {
      n.stop();
      throw err;
    }
    return n;
  }

  stop(): void {
    this.stopped = true;
    this.unwatch();
  }

  /** Whether a change of the selected mailbox is written at once (RFC 5465 5.1). */
  wantsSelected(kind: 'exists' | 'flags' | 'expunge' | 'deleted'): boolean {
    const ev = this.selectedFilter?.events;
    if (!ev) return false;
    return kind === 'exists' ? ev.has('MESSAGENEW') : kind === 'expunge' ? ev.has('MESSAGEEXPUNGE') : kind === 'flags' ? ev.has('FLAGCHANGE') : false;
  }

  /** SELECTED-DELAYED holds EXPUNGE back until a command allows it (RFC 5465 5.1). */
  get expungeAtOnce(): boolean {
    return this.selectedFilter?.scope === 'SELECTED';
  }

  /** The first non-selected filter covering a mailbox name. */
  private filterOf(name: string): NotifyFilter | null {
    for (const f of this.others) {
      switch (f.scope) {
        case 'PERSONAL':
          if (!isSharedName(name)) return f; // shared mailboxes are not personal (RFC 5465 6)
          break;
        case 'INBOXES':
          if (name === 'INBOX') return f;
          break;
        case 'SUBSCRIBED':
          if (this.subscribed.has(name)) return f;
          break;
        case 'SUBTREE':
          if (f.names.some((n) => name === n || name.startsWith(`${n}/`))) return f;
          break;
        case 'MAILBOXES':
          if (f.names.includes(name)) return f;
          break;
        default:
          break;
      }
    }
    return null;
  }

  private onEvent(event: MailboxEvent): void {
    if (this.stopped) return;
    switch (event.kind) {
      case 'folder': {
        const e = event.event;
        if (e.kind === 'deleted' || e.folderId === this.session.selected?.folder.id) return;
        const name = this.names.get(e.folderId);
        if (name === undefined) {
          // A folder this session has not seen yet (created by another session): learn its name.
          this.session.background(async () => {
            for (const f of await this.session.store.listFolders(this.mailboxId)) this.names.set(f.id, f.name);
            if (this.names.has(e.folderId)) this.folderChanged(e.folderId, e.kind);
          });
          return;
        }
        this.folderChanged(e.folderId, e.kind);
        return;
      }
      case 'created':
        if (this.filterOf(event.name)?.events.has('MAILBOXNAME')) this.send(`* LIST () "/" ${this.session.mailboxName(event.name)}\r\n`);
        return;
      case 'deleted':
        this.names.delete(event.folderId);
        if (this.filterOf(event.name)?.events.has('MAILBOXNAME')) this.send(`* LIST (\\NonExistent) "/" ${this.session.mailboxName(event.name)}\r\n`);
        return;
      case 'renamed': {
        for (const [id, n] of this.names) if (n === event.from) this.names.set(id, event.to);
        if (this.subscribed.delete(event.from)) this.subscribed.add(event.to);
        const f = this.filterOf(event.to) ?? this.filterOf(event.from);
        if (f?.events.has('MAILBOXNAME')) this.send(`* LIST () "/" ${this.session.mailboxName(event.to)} ("OLDNAME" (${this.session.mailboxName(event.from)}))\r\n`);
        return;
      }
      case 'subscription': {
        const before = this.filterOf(event.name);
        if (event.subscribed) this.subscribed.add(event.name);
        else this.subscribed.delete(event.name);
        const f = before ?? this.filterOf(event.name);
        if (f?.events.has('SUBSCRIPTIONCHANGE')) this.send(`* LIST (${event.subscribed ? '\\Subscribed' : ''}) "/" ${this.session.mailboxName(event.name)}\r\n`);
        return;
      }
    }
  }

  private folderChanged(folderId: number, kind: 'exists' | 'flags' | 'expunge'): void {
    const f = this.filterOf(this.names.get(folderId)!);
    if (!f) return;
    if (kind === 'flags' ? !f.events.has('FLAGCHANGE') : !f.events.has('MESSAGENEW')) return;
    if (this.overflowed()) return;
    // Changes in quick succession share one STATUS (read when it is written).
    this.pendingStatus.add(folderId);
    if (this.statusScheduled) return;
    this.statusScheduled = true;
    this.session.background(() => {
      this.statusScheduled = false;
      return this.writeStatus();
    });
  }

  private async writeStatus(): Promise<void> {
    const ids = [...this.pendingStatus];
    this.pendingStatus.clear();
    const lines: string[] = [];
    for (const id of ids) {
      const name = this.names.get(id);
      if (name === undefined || id === this.session.selected?.folder.id) continue;
      let st;
      try {
        st = await this.session.store.folderStatus(id);
      } catch {
        continue; // deleted meanwhile
      }
      const modseq = this.session.condstore ? ` HIGHESTMODSEQ ${st.highestModseq}` : '';
      lines.push(`* STATUS ${this.session.mailboxName(name)} (MESSAGES ${st.messages} UIDNEXT ${st.uidNext} UNSEEN ${st.unseen}${modseq})\r\n`);
    }
    if (lines.length) this.send(lines.join(''));
  }

  /** Writes now, or before the running command's tagged reply; overflows when the client does not read. */
  private send(text: string): void {
    if (this.stopped) return;
    if (this.overflowed()) return;
    this.session.background(async () => {
      if (!this.stopped) this.session.write(text);
    });
  }

  /** Checked when an event arrives: a client that does not read makes notification stop. */
  private overflowed(): boolean {
    const s = this.session;
    if (s.outputBuffered <= OVERFLOW_BYTES && s.deferredCount <= OVERFLOW_PENDING && s.outputStalledMs <= OVERFLOW_STALL_MS) return false;
    this.overflow();
    return true;
  }

  /** RFC 5465 5.8: the server gives up on notification, as if NOTIFY NONE. */
  private overflow(): void {
    this.stop();
    if (this.session.notifier === this) this.session.notifier = null;
    this.session.log.info({ event: 'imap.notify.overflow' }, 'notification overflow');
    // Written like any notification: never inside a running command's output.
    this.session.background(async () => {
      this.session.write('* OK [NOTIFICATIONOVERFLOW] Notifications stopped; the client does not keep up\r\n');
    });
  }
}
