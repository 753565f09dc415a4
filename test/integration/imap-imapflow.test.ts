/**
 * The IMAP server as imapflow 2.1.2 (a real client we did not write) uses it, over the real
 * store: STARTTLS and implicit TLS, special-use folders, envelope/bodystructure/parts of real
 * multipart messages, search, flags, copy, move, expunge, append, quota, IDLE, CONDSTORE.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imapflow, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/mail', name));
const USER = 'owner@imapflow.test';
const PASS = 'a long enough passphrase';

describe('IMAP with imapflow', () => {
  let env: ImapTestEnv;
  let client: ImapFlow;

  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    for (const f of ['multipart-attachment.eml', 'nested-rfc822.eml', 'utf8-headers.eml']) await env.core.deliver(USER, fixture(f));
    client = imapflow(env, USER, PASS);
    await client.connect();
  });
  afterAll(async () => {
    await client?.logout().catch(() => undefined);
    await env?.close();
  });

  it('connects over STARTTLS on the plain port', async () => {
    const c = imapflow(env, USER, PASS, { secure: false });
    await c.connect();
    expect(c.secureConnection).toBe(true); // upgraded by STARTTLS on the plain port
    const st = await c.status('INBOX', { messages: true });
    if (!st) throw new Error('STATUS failed');
    expect(st.messages).toBe(3);
    await c.logout();
  });

  it('refuses a wrong password', async () => {
    const c = imapflow(env, USER, 'wrong password here');
    await expect(c.connect()).rejects.toThrow();
  });

  it('lists folders with special-use flags', async () => {
    const list = await client.list();
    const byUse = Object.fromEntries(list.filter((f) => f.specialUse).map((f) => [f.specialUse, f.path]));
    expect(byUse).toMatchObject({ '\\Sent': 'Sent', '\\Drafts': 'Drafts', '\\Trash': 'Trash', '\\Junk': 'Junk', '\\Archive': 'Archive' });
    expect(list.map((f) => f.path)).toContain('INBOX');
  });

  it('fetches envelope and body structure of a multipart message with an attachment', async () => {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const msg = await client.fetchOne('1', { envelope: true, bodyStructure: true, uid: true, size: true, flags: true, internalDate: true });
      if (!msg) throw new Error('no message');
      expect(msg.envelope?.subject).toBe('Quarterly report');
      expect(msg.envelope?.from?.[0]).toMatchObject({ name: 'Alice Example', address: 'alice@example.org' });
      expect(msg.envelope?.cc?.[0]?.name).toBe('Jürgen Müller');
      const bs = msg.bodyStructure!;
      expect(bs.type).toBe('multipart/mixed');
      expect(bs.childNodes?.[0]?.type).toBe('multipart/alternative');
      const att = bs.childNodes![1]!;
      expect(att.type).toBe('application/pdf');
      expect(att.part).toBe('2');
      expect(att.disposition).toBe('attachment');
      expect(att.dispositionParameters?.filename).toBe('Q3 report €.pdf');
      expect(att.encoding).toBe('base64');
    } finally {
      lock.release();
    }
  });

  it('downloads body parts and the nested message', async () => {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const { content } = await client.download('1', '2');
      const chunks: Buffer[] = [];
      for await (const c of content!) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).subarray(0, 8).toString()).toBe('%PDF-1.4');

      const text = await client.download('1', '1.1');
      const t: Buffer[] = [];
      for await (const c of text.content!) t.push(c as Buffer);
      expect(Buffer.concat(t).toString('utf8')).toContain('Grüße');

      const nested = await client.fetchOne('2', { bodyStructure: true, bodyParts: ['2', '2.HEADER', '2.1', '2.MIME'] });
      if (!nested) throw new Error('no message');
      const inner = nested.bodyStructure!.childNodes![1]!;
      expect(inner.type).toBe('message/rfc822');
      expect(inner.envelope?.subject).toBe('Lunch?');
      expect(inner.childNodes?.[0]?.type).toBe('multipart/alternative');
      expect(nested.bodyParts?.get('2.header')?.toString()).toContain('Subject: Lunch?');
      expect(nested.bodyParts?.get('2.1')?.toString()).toContain('Lunch at noon?');
      expect(nested.bodyParts?.get('2.mime')?.toString()).toContain('Content-Type: message/rfc822');
    } finally {
      lock.release();
    }
  });

  it('decodes UTF-8 and RFC 2047 headers', async () => {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const msg = await client.fetchOne('3', { envelope: true, headers: ['subject'] });
      if (!msg) throw new Error('no message');
      expect(msg.envelope?.subject).toBe('📧 Mail für dich and café');
      expect(msg.envelope?.cc?.[0]).toMatchObject({ name: 'Zoë Ünïcode' });
      expect(msg.headers?.toString()).toMatch(/^Subject: /);
    } finally {
      lock.release();
    }
  });

  it('searches by header, body, flags, size and date', async () => {
    const lock = await client.getMailboxLock('INBOX');
    try {
      expect(await client.search({ subject: 'lunch' })).toEqual([2]);
      expect(await client.search({ from: 'alice@example.org' })).toEqual([1]);
      expect(await client.search({ body: 'noon' })).toEqual([2]);
      expect(await client.search({ body: 'grüße' })).toEqual([1, 3]);
      expect(await client.search({ subject: 'für' })).toEqual([3]);
      expect(await client.search({ header: { 'message-id': 'utf8-1' } })).toEqual([3]);
      expect(await client.search({ seen: false })).toEqual([1, 2, 3]);
      expect(await client.search({ larger: 2000 })).toEqual([1]);
      expect(await client.search({ or: [{ subject: 'lunch' }, { subject: 'quarterly' }] })).toEqual([1, 2]);
      expect(await client.search({ not: { subject: 'lunch' } })).toEqual([1, 3]);
      expect(await client.search({ sentBefore: new Date('2025-07-02T00:00:00Z') })).toEqual([1]);
      expect(await client.search({ since: new Date(Date.now() - 86_400_000) })).toEqual([1, 2, 3]);
      expect(await client.search({ uid: '2:*' }, { uid: true })).toEqual([2, 3]);
    } finally {
      lock.release();
    }
  });

  it('sets and clears flags, with MODSEQ (CONDSTORE)', async () => {
    const lock = await client.getMailboxLock('INBOX');
    try {
      expect(client.enabled.has('CONDSTORE')).toBe(true);
      await client.messageFlagsAdd('1', ['\\Flagged', '$Important']);
      await client.messageFlagsRemove('1', ['$Important']);
      const msg = await client.fetchOne('1', { flags: true });
      if (!msg) throw new Error('no message');
      // \Recent is session state (RFC 3501 2.3.2): whether this session saw the message first.
      expect([...(msg.flags ?? [])].filter((f) => f !== '\\Recent').sort()).toEqual(['\\Flagged']);
      expect(typeof msg.modseq).toBe('bigint');
      const changed = await client.fetchAll('1:*', { flags: true }, { changedSince: msg.modseq! - 1n });
      expect(changed.map((m) => m.seq)).toEqual([1]);
      expect(await client.search({ flagged: true })).toEqual([1]);
    } finally {
      lock.release();
    }
  });

  it('reads the full source', async () => {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const raw = await client.fetchOne('2', { source: true, size: true });
      if (!raw) throw new Error('no message');
      expect(raw.source?.toString()).toContain('Subject: Fwd: Lunch?');
      expect(raw.source?.length).toBe(raw.size);
    } finally {
      lock.release();
    }
  });

  it('copies, moves, expunges and appends with UIDPLUS answers', async () => {
    await client.mailboxCreate('Projects/2025');
    const lock = await client.getMailboxLock('INBOX');
    try {
      const copied = await client.messageCopy('1', 'Projects/2025');
      expect(copied && copied.uidMap?.size).toBe(1);
      const moved = await client.messageMove('3', 'Archive');
      expect(moved && moved.uidMap?.size).toBe(1);
      expect(client.mailbox && client.mailbox.exists).toBe(2);
      await client.messageFlagsAdd('2', ['\\Deleted']);
      await client.messageDelete('2');
      expect(client.mailbox && client.mailbox.exists).toBe(1);
    } finally {
      lock.release();
    }
    const appended = await client.append('Drafts', Buffer.from('From: owner@imapflow.test\r\nSubject: draft\r\n\r\nbody\r\n'), ['\\Draft', '\\Seen'], new Date('2025-01-02T03:04:05Z'));
    expect(appended && appended.uid).toBe(1);
    const st = await client.status('Drafts', { messages: true, uidNext: true, unseen: true });
    expect(st).toMatchObject({ messages: 1, uidNext: 2, unseen: 0 });
    const archive = await client.status('Archive', { messages: true });
    if (!archive) throw new Error('STATUS failed');
    expect(archive.messages).toBe(1);
    const tree = (await client.list()).map((f) => f.path);
    expect(tree).toEqual(expect.arrayContaining(['Projects', 'Projects/2025']));
    const lock2 = await client.getMailboxLock('Drafts');
    try {
      const d = await client.fetchOne('1', { flags: true, internalDate: true });
      expect([...(d ? (d.flags ?? []) : [])].filter((f) => f !== '\\Recent').sort()).toEqual(['\\Draft', '\\Seen']);
      expect(d && (d.internalDate as Date).toISOString()).toBe('2025-01-02T03:04:05.000Z');
    } finally {
      lock2.release();
    }
  });

  it('renames and deletes folders', async () => {
    await client.mailboxCreate('Temp');
    await client.mailboxRename('Temp', 'Temp2');
    expect((await client.list()).map((f) => f.path)).toContain('Temp2');
    await client.mailboxDelete('Temp2');
    expect((await client.list()).map((f) => f.path)).not.toContain('Temp2');
    await expect(client.mailboxDelete('Nope')).rejects.toThrow();
  });

  it('reports the quota the control plane set', async () => {
    const q = await client.getQuota('INBOX');
    expect(q).toBeTruthy();
    const storage = (q as { storage?: { usage: number; limit: number } }).storage!;
    expect(storage.limit).toBe(Math.floor(env.config.defaultQuotaBytes / 1024) * 1024);
    expect(storage.usage).toBeGreaterThan(0);
  });

  it('keeps its view in sync with QRESYNC enabled (VANISHED instead of EXPUNGE)', async () => {
    const q = imapflow(env, USER, PASS, { qresync: true });
    await q.connect();
    expect(q.enabled.has('QRESYNC')).toBe(true);
    await q.mailboxOpen('INBOX');
    await q.append('INBOX', Buffer.from('Subject: to vanish\r\n\r\nx\r\n'));
    await q.noop();
    const before = q.mailbox ? q.mailbox.exists : 0;
    const expunged = new Promise<{ uid?: number; vanished?: boolean }>((resolve) => q.on('expunge', resolve));
    const [uid] = (await q.search({ subject: 'to vanish' }, { uid: true })) || [];
    await q.messageDelete(String(uid), { uid: true });
    const ev = await expunged;
    expect(ev.vanished).toBe(true);
    expect(ev.uid).toBe(uid);
    // imapflow 2.1.2 does not decrement `exists` on VANISHED itself; the server's count did drop.
    const st = await client.status('INBOX', { messages: true });
    if (!st) throw new Error('STATUS failed');
    expect(st.messages).toBe(before - 1);
    await q.logout();
  });

  it('receives new mail during IDLE within one second', async () => {
    const watcher = imapflow(env, USER, PASS);
    await watcher.connect();
    await watcher.mailboxOpen('INBOX');
    const before = watcher.mailbox ? watcher.mailbox.exists : 0;
    const got = new Promise<{ count: number; at: number }>((resolve) => watcher.on('exists', (d: { count: number }) => resolve({ count: d.count, at: Date.now() })));
    const idling = watcher.idle();
    await new Promise((r) => setTimeout(r, 200));
    const sentAt = Date.now();
    await env.core.deliver(USER, Buffer.from('From: x@example.org\r\nSubject: ping\r\n\r\nping\r\n'));
    const ev = await got;
    expect(ev.count).toBe(before + 1);
    expect(ev.at - sentAt).toBeLessThan(1000);
    await watcher.logout();
    await idling.catch(() => undefined);
  });
});
