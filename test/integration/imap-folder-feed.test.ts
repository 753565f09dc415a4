/**
 * Sessions on the same folder share its recent changes (appliance/imap/folder-feed.ts, issue 18):
 * after a change, the first session to catch up reads it from the store and the others get it
 * from memory, with the same untagged updates as before (flags, new messages, expunges), also
 * for a session that selected the folder later or one far behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderFeed } from '../../appliance/imap/folder-feed.js';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'feed@feed.test';
const PASS = 'feed test passphrase';
const msg = (subject: string) => Buffer.from(`From: a@example.org\r\nTo: ${USER}\r\nSubject: ${subject}\r\n\r\nbody\r\n`);

describe('IMAP shared folder changes', () => {
  let env: ImapTestEnv;
  let folderId: number;
  beforeAll(async () => {
    env = await startImapEnv();
    const { id } = await env.core.createMailbox(USER, PASS);
    for (let i = 1; i <= 4; i++) await env.core.deliver(USER, msg(`message ${i}`));
    folderId = (await env.core.store.getFolder(id, 'INBOX'))!.id;
  });
  afterAll(async () => env?.close());

  const session = async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    expect(await c.cmd('l', `LOGIN ${USER} "${PASS}"`)).toMatch(/l OK/);
    expect(await c.cmd('s', 'SELECT INBOX')).toMatch(/s OK/);
    return c;
  };

  it('reads a change once for all sessions and gives each the same updates', async () => {
    const [a, b, c] = [await session(), await session(), await session()];
    const feed = FolderFeed.acquire(env.core.store, folderId);
    try {
      // a's own sync reads the change; b and c are answered from what it read
      await a.cmd('f', 'STORE 2 +FLAGS.SILENT (\\Flagged)');
      const before = feed.reads;
      expect(await b.cmd('n1', 'NOOP')).toMatch(/\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\)\)/);
      expect(await c.cmd('n1', 'NOOP')).toMatch(/\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\)\)/);
      expect(feed.reads).toBe(before);

      // a delivery: one read (the first to catch up), then EXISTS for everyone
      await env.core.deliver(USER, msg('new one'));
      const atDelivery = feed.reads;
      expect(await b.cmd('n2', 'NOOP')).toContain('* 5 EXISTS');
      expect(await c.cmd('n2', 'NOOP')).toContain('* 5 EXISTS');
      expect(await a.cmd('n2', 'NOOP')).toContain('* 5 EXISTS');
      expect(feed.reads).toBe(atDelivery + 1);

      // an expunge by a: the others learn it when allowed, with their own numbering
      await a.cmd('d', 'STORE 3 +FLAGS.SILENT (\\Deleted)');
      expect(await a.cmd('x', 'EXPUNGE')).toContain('* 3 EXPUNGE');
      const fetched = await b.cmd('f2', 'FETCH 4 (UID)');
      expect(fetched).not.toContain('EXPUNGE');
      expect(fetched).toContain('* 4 FETCH (UID 4)'); // still the old numbering
      expect(await b.cmd('n3', 'NOOP')).toContain('* 3 EXPUNGE');
      expect(await c.cmd('n3', 'NOOP')).toContain('* 3 EXPUNGE');
      expect(await c.cmd('f3', 'FETCH 1:* (UID)')).toMatch(/\* 4 FETCH \(UID 5\)/);

      // a session selected later starts from the folder as it is and sees later changes
      const d = await session();
      const all = await d.cmd('f4', 'FETCH 1:* (UID FLAGS)');
      expect(all).toContain('* 2 FETCH (UID 2 FLAGS (\\Flagged))');
      expect(all).toMatch(/\* 4 FETCH \(UID 5 FLAGS/);
      await b.cmd('f5', 'STORE 1 +FLAGS.SILENT (\\Answered)');
      expect(await d.cmd('n4', 'NOOP')).toMatch(/\* 1 FETCH \(UID 1 FLAGS \(\\Answered\)\)/);
      for (const s of [a, b, c, d]) s.close();
    } finally {
      feed.release();
    }
  });

  it('gives a session the latest flags of a message changed several times since its last command', async () => {
    const a = await session();
    const b = await session();
    try {
      for (let i = 0; i < 6; i++) await a.cmd(`t${i}`, `STORE 1 ${i % 2 ? '-' : '+'}FLAGS.SILENT (\\Seen)`);
      const noop = await b.cmd('n', 'NOOP');
      expect(noop).toMatch(/\* 1 FETCH \(UID 1 FLAGS \(\\Answered\)\)/);
      expect(noop.match(/\* 1 FETCH/g)).toHaveLength(1);
    } finally {
      a.close();
      b.close();
    }
  });
});
