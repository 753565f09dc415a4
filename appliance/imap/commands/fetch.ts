/**
 * FETCH and UID FETCH, with CHANGEDSINCE (CONDSTORE). Entries come from one index read,
 * metadata from one batched getMeta, message bytes are read a few messages ahead and written
 * as literals with back-pressure.
 */
import type { MessageMeta } from '../../mailstore/mime/types.js';
import type { MessageEntry } from '../../mailstore/store.types.js';
import { bodyStructureToString, envelopeToString } from '../bodystructure.js';
import { type FetchItem, type SectionItem, filterHeader, parseFetchItems, resolveSection } from '../fetch-items.js';
import { formatFlags, formatInternalDate, hasFlag } from '../format.js';
import { ImapSyntaxError, type Token, expectEnd, isAtom, num, str } from '../parser.js';
import { parseSequenceSet } from '../sequence.js';
import type { SelectedMailbox } from '../selected.js';
import type { ImapSession } from '../session.js';
import { selectedOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

const READ_AHEAD = 8;
const EMPTY_ENVELOPE = '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)';

/** The entries of `uids` (ascending) in the selected folder. */
export async function entriesFor(session: ImapSession, sel: SelectedMailbox, uids: number[]): Promise<MessageEntry[]> {
  if (!uids.length) return [];
  const all = await session.store.listMessages(sel.folder.id);
  if (uids.length === 1) {
    const e = all.find((x) => x.uid === uids[0]);
    return e ? [e] : [];
  }
  const want = new Set(uids);
  return all.filter((e) => want.has(e.uid));
}

function parseModifiers(t: Token | undefined): { changedSince: number | null } {
  if (!t) return { changedSince: null };
  if (t.t !== 'list') throw new ImapSyntaxError('Invalid FETCH modifiers');
  let changedSince: number | null = null;
  for (let i = 0; i < t.v.length; i++) {
    if (isAtom(t.v[i], 'CHANGEDSINCE')) changedSince = num(t.v[++i], 'mod-sequence');
    else throw new ImapSyntaxError('Unsupported FETCH modifier');
  }
  return { changedSince };
}

async function readSections(session: ImapSession, entry: MessageEntry, meta: MessageMeta | null, sections: SectionItem[]): Promise<Buffer[]> {
  const ranges = sections.map((s) => resolveSection(meta, entry.size, s));
  const one = (full: Buffer | null, idx: number): Promise<Buffer> | Buffer => {
    const r = ranges[idx];
    const item = sections[idx]!;
    if (!r || r.end <= r.start) return Buffer.alloc(0);
    const finish = (buf: Buffer) => {
      let data = r.filter ? filterHeader(buf, r.filter.fields, r.filter.not) : buf;
      if (item.partial) data = data.subarray(Math.min(item.partial.start, data.length), Math.min(item.partial.start + item.partial.length, data.length));
      return data;
    };
    if (full) return finish(full.subarray(r.start, r.end));
    if (item.partial && !r.filter) {
      const start = r.start + item.partial.start;
      const end = Math.min(r.end, start + item.partial.length);
      if (start >= r.end) return Buffer.alloc(0);
      return session.store.readMessage(entry.messageId, { start, end });
    }
    return session.store.readMessage(entry.messageId, r.start === 0 && r.end >= entry.size ? undefined : { start: r.start, end: r.end }).then(finish);
  };
  if (sections.length === 1) return [await one(null, 0)];
  const full = await session.store.readMessage(entry.messageId);
  return Promise.all(sections.map((_, i) => one(full, i)));
}

async function runFetch(session: ImapSession, args: Token[], byUid: boolean): Promise<void> {
  const sel = selectedOf(session);
  expectEnd(args, 3);
  const ranges = parseSequenceSet(str(args[0], 'sequence set'));
  const plan = parseFetchItems(args[1]);
  const { changedSince } = parseModifiers(args[2]);
  let items: FetchItem[] = plan.items;
  if (byUid && !items.some((i) => i.kind === 'UID')) items = [{ kind: 'UID' }, ...items];
  if (changedSince !== null) {
    session.condstore = true;
    if (!items.some((i) => i.kind === 'MODSEQ')) items = [...items, { kind: 'MODSEQ' }];
  }
  if (items.some((i) => i.kind === 'MODSEQ')) session.condstore = true;
  const uids = byUid ? sel.view.resolveUid(ranges) : sel.view.resolveSeq(ranges);
  let entries = await entriesFor(session, sel, uids);
  if (changedSince !== null) entries = entries.filter((e) => e.modseq > changedSince);
  if (!entries.length) return;

  // Implicit \Seen for BODY[...] / RFC822 / RFC822.TEXT in a read-write mailbox.
  const flagsChanged = new Set<number>();
  if (plan.setsSeen && !sel.readOnly) {
    const unseen = entries.filter((e) => !hasFlag(e.flags, '\\Seen')).map((e) => e.uid);
    if (unseen.length) {
      const r = await session.store.storeFlags(sel.folder.id, unseen, 'add', ['\\Seen']);
      const byUidMap = new Map(r.updated.map((u) => [u.uid, u]));
      entries = entries.map((e) => {
        const u = byUidMap.get(e.uid);
        if (!u) return e;
        sel.reported(u.uid, u.modseq);
        flagsChanged.add(u.uid);
        return { ...e, flags: u.flags, modseq: u.modseq };
      });
    }
  }
  const metas = plan.needMeta ? await session.store.getMeta(entries.map((e) => e.messageId)) : null;
  const sections = items.filter((i): i is SectionItem => i.kind === 'section');
  const hasFlagsItem = items.some((i) => i.kind === 'FLAGS');

  const reads: Array<Promise<Buffer[]> | null> = new Array(entries.length).fill(null);
  const startRead = (i: number) => {
    if (i < entries.length && sections.length && !reads[i]) {
      const e = entries[i]!;
      reads[i] = readSections(session, e, metas?.get(e.messageId) ?? null, sections);
      reads[i]!.catch(() => undefined);
    }
  };
  for (let i = 0; i < READ_AHEAD; i++) startRead(i);

  let batch = '';
  for (let i = 0; i < entries.length; i++) {
    if (session.isClosed) return;
    startRead(i + READ_AHEAD);
    const e = entries[i]!;
    const seq = sel.view.seqOf(e.uid);
    if (!seq) continue;
    const meta = metas?.get(e.messageId) ?? null;
    let bodies: Buffer[] | null = null;
    if (reads[i]) {
      try {
        bodies = await reads[i]!;
      } catch {
        bodies = null; // the message vanished (expunged elsewhere): skip it
        reads[i] = null;
        continue;
      }
      reads[i] = null;
    }
    const parts: Array<string | Buffer> = [];
    let text = `* ${seq} FETCH (`;
    let first = true;
    let sectionIndex = 0;
    for (const item of items) {
      if (!first) text += ' ';
      first = false;
      switch (item.kind) {
        case 'UID':
          text += `UID ${e.uid}`;
          break;
        case 'FLAGS':
          text += `FLAGS ${formatFlags(e.flags)}`;
          break;
        case 'MODSEQ':
          text += `MODSEQ (${e.modseq})`;
          break;
        case 'INTERNALDATE':
          text += `INTERNALDATE ${formatInternalDate(e.internalDate)}`;
          break;
        case 'RFC822.SIZE':
          text += `RFC822.SIZE ${e.size}`;
          break;
        case 'ENVELOPE':
          text += `ENVELOPE ${meta ? envelopeToString(meta.envelope) : EMPTY_ENVELOPE}`;
          break;
        case 'BODY':
        case 'BODYSTRUCTURE':
          text += `${item.kind} ${meta ? bodyStructureToString(meta.root, item.kind === 'BODYSTRUCTURE') : '("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0)'}`;
          break;
        case 'section': {
          const data = bodies?.[sectionIndex++] ?? Buffer.alloc(0);
          text += `${item.label}${item.partial ? `<${item.partial.start}>` : ''} {${data.length}}\r\n`;
          parts.push(text);
          text = '';
          parts.push(data);
          break;
        }
      }
    }
    if (flagsChanged.has(e.uid) && !hasFlagsItem) text += ` FLAGS ${formatFlags(e.flags)}`;
    text += ')\r\n';
    if (parts.length) {
      if (batch) {
        session.write(batch);
        batch = '';
      }
      for (const p of parts) session.write(p);
      session.write(text);
      await session.drain();
    } else {
      batch += text;
      if (batch.length > 65536) {
        session.write(batch);
        batch = '';
        await session.drain();
      }
    }
  }
  if (batch) session.write(batch);
}

export const fetch: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runFetch(session, cmd.args, false);
    return undefined;
  },
};

export const uidFetch: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runFetch(session, cmd.args, true);
    return undefined;
  },
};
