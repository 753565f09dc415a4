/**
 * COPY/MOVE between two mailboxes (a member's own folder and a shared mailbox's, issue 19). The
 * store shares a stored message only within one mailbox (its quota counts it once), so a copy
 * into another mailbox goes through the one ingest path as an APPEND of the same bytes, flags
 * and internal date (all or none, the destination's quota checked); a move then removes the
 * source entries.
 */
import type { CopyResult, MailStore } from './store.types.js';

export async function copyAcrossMailboxes(store: MailStore, folderId: number, uids: number[], dest: { mailboxId: string; folder: string }, move: boolean): Promise<CopyResult> {
  const wanted = new Set(uids);
  const entries = (await store.listMessages(folderId)).filter((e) => wanted.has(e.uid));
  if (!entries.length) {
    const f = await store.getFolder(dest.mailboxId, dest.folder);
    return { uidValidity: f?.uidValidity ?? 0, pairs: [] };
  }
  const items = [];
  for (const e of entries) {
    items.push({ raw: await store.readMessage(e.messageId), flags: e.flags.filter((f) => f.toLowerCase() !== '\\deleted'), internalDate: e.internalDate });
  }
  const r = await store.appendMany(dest.mailboxId, dest.folder, items);
  const pairs = entries.map((e, i) => [e.uid, r.uids[i]!] as [number, number]);
  if (move) {
    const src = entries.map((e) => e.uid);
    await store.storeFlags(folderId, src, 'add', ['\\Deleted']);
    await store.expunge(folderId, src);
  }
  return { uidValidity: r.uidValidity, pairs };
}
