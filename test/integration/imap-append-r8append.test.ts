/**
 * IMAP APPEND to a folder of the user's own mailbox does not look the folder up before the store
 * does (issue 18): the ingest transaction reads it once. A missing folder is still NO [TRYCREATE]
 * with nothing stored, and a name that reads as a special use ("\\Junk") is still a name (refused
 * when no folder has it), not resolved to the Junk folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installStatementCounter } from '../helpers/statements.js';
import { type ImapTestEnv, RawClient, startImapEnv } from './imap-harness.js';

const USER = 'append@r8.test';
const PASS = 'correct horse battery';

const statements = installStatementCounter();

const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: r8 ${i}\r\nMessage-ID: <r8-${i}@example.org>\r\n\r\nBody ${i}\r\n`);

describe('IMAP APPEND to an own folder', () => {
  let env: ImapTestEnv;
  let c: RawClient;
  let box: { id: string };
  const append = async (tag: string, folder: string, bytes: Buffer) => {
    c.send(`${tag} APPEND ${folder} {${bytes.length}+}\r\n`);
    c.send(Buffer.concat([bytes, Buffer.from('\r\n')]));
    await c.until((b) => new RegExp(`^${tag} (OK|NO|BAD)`, 'm').test(b));
    return c.take();
  };
  /** Entries per folder, by special use ("\\Junk") or name. */
  const counts = async () => {
    const rows = await env.core.db
      .selectFrom('folders')
      .leftJoin('folder_messages', 'folder_messages.folder_id', 'folders.id')
      .select(['folders.name', 'folders.special_use', (eb) => eb.fn.count('folder_messages.uid').as('n')])
      .where('folders.mailbox_id', '=', box.id)
      .groupBy(['folders.name', 'folders.special_use'])
      .execute();
    return Object.fromEntries(rows.map((r) => [r.special_use ?? r.name, Number(r.n)]));
  };
  const blobCount = async () => {
    let n = 0;
    for await (const _ of env.core.blobs.list()) n++;
    return n;
  };

  beforeAll(async () => {
    env = await startImapEnv();
    box = await env.core.createMailbox(USER, PASS);
    c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
  });
  afterAll(async () => {
    statements.restore();
    c?.close();
    await env?.close();
  });

  it('reads the target folder once (in the ingest transaction)', async () => {
    expect(await append('a0', 'INBOX', msg(0))).toMatch(/^a0 OK \[APPENDUID \d+ 1\]/m); // statements prepared
    if (process.env.POSTERN_TEST_PG_URL) return; // statements are counted where they run in-process (SQLite)
    const { value: answer, ran } = await statements.count(() => append('a1', 'inbox', msg(1)));
    expect(answer).toMatch(/^a1 OK \[APPENDUID \d+ 2\]/m);
    expect(ran.filter((s) => /\b(from|update) "folders"/i.test(s))).toHaveLength(1); // the update that takes its UID
  });

  it('a missing folder is NO [TRYCREATE]; nothing is stored and no blob is left', async () => {
    await env.core.store.queue.drain();
    const [before, blobs] = [await counts(), await blobCount()];
    expect(await append('b0', 'Nowhere', msg(2))).toMatch(/^b0 NO \[TRYCREATE\]/m);
    expect(await counts()).toEqual(before);
    expect(await blobCount()).toBe(blobs);
  });

  it('a name that reads as a special use is a name: "\\Junk" is refused, the Junk folder gets nothing', async () => {
    const before = await counts();
    expect(before['\\Junk']).toBeDefined();
    expect(await append('c0', '"\\\\Junk"', msg(3))).toMatch(/^c0 NO \[TRYCREATE\]/m);
    expect(await counts()).toEqual(before);
  });
});
