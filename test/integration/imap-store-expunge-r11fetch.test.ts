/**
 * STORE and EXPUNGE under mixed load (issue 18). A command that waited for its commit writes its
 * untagged responses in a later turn than the one it started in: they leave with its tagged reply
 * in one socket write, as a FETCH's do (checked on SQLite, where nothing else is waited for). And
 * EXPUNGE reads back only the rows that may be \Deleted, not every row of the folder, with the
 * flags still checked exactly (a keyword holding "Deleted" stays; a \Deleted stored in another
 * case goes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectOf } from '../../appliance/db/dialect.js';
import { startImapServer, type ImapServerHandle } from '../../appliance/imap/server.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { RawClient, serverWritesDuring, testCertificate } from './imap-harness.js';

const USER = 'store@r11fetch.test';
const PASS = 'correct horse battery';
const msg = (i: number) => Buffer.from(`From: a${i}@example.org\r\nSubject: store ${i}\r\nMessage-ID: <store-${i}@example.org>\r\n\r\nBody ${i}\r\n`);

describe('STORE and EXPUNGE output and reads', () => {
  let core: TestCore;
  let store: SqlMailStore;
  let server: ImapServerHandle;
  let mailboxId: string;
  let inbox: FolderInfo;
  let a: RawClient;
  /** Rows each counted SELECT of folder_messages returned while `counting`. */
  const rowsRead: number[] = [];
  let counting = false;
  const sqlite = () => dialectOf(core.db) === 'sqlite';

  beforeAll(async () => {
    core = await createTestCore();
    const fromFolderMessages = new WeakSet<object>();
    const db = core.db.withPlugin({
      transformQuery(args) {
        const node = args.node as { kind: string; from?: { froms: Array<{ table?: { identifier?: { name?: string } } }> } };
        if (counting && node.kind === 'SelectQueryNode' && node.from?.froms[0]?.table?.identifier?.name === 'folder_messages') fromFolderMessages.add(args.queryId);
        return args.node;
      },
      transformResult: async (args) => {
        if (fromFolderMessages.has(args.queryId)) rowsRead.push(args.result.rows.length);
        return args.result;
      },
    });
    store = new SqlMailStore({ db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
    mailboxId = (await core.createMailbox(USER, PASS)).id;
    for (let i = 0; i < 40; i++) await store.append(mailboxId, 'INBOX', msg(i));
    inbox = (await store.getFolder(mailboxId, 'INBOX'))!;
    server = await startImapServer({
      config: { ...core.config, ports: { ...core.config.ports, imap: 0, imaps: 0 } },
      logger: core.logger,
      store,
      credentials: core.credentials,
      tls: testCertificate(),
    });
    a = await RawClient.connect(server.ports.imaps, true);
    await a.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await a.cmd('s', 'SELECT INBOX');
  });
  afterAll(async () => {
    a?.close();
    await server?.close();
    await store?.queue.drain();
    await core?.close();
  });

  it('sends a STORE response and the tagged reply in one write', async () => {
    let out = '';
    const writes = await serverWritesDuring(async () => {
      out = await a.cmd('t1', 'STORE 3 +FLAGS (\\Flagged)');
    });
    expect(out).toMatch(/^\* 3 FETCH \(FLAGS \(\\Flagged \\Recent\)\)\r\nt1 OK STORE completed\r\n$/);
    if (sqlite()) expect(writes).toBe(1);
  });

  it('sends the EXPUNGE responses and the tagged reply in one write', async () => {
    await a.cmd('t2', 'STORE 5,7 +FLAGS.SILENT (\\Deleted)');
    let out = '';
    const writes = await serverWritesDuring(async () => {
      out = await a.cmd('t3', 'EXPUNGE');
    });
    expect(out).toBe('* 7 EXPUNGE\r\n* 5 EXPUNGE\r\nt3 OK EXPUNGE completed\r\n');
    if (sqlite()) expect(writes).toBe(1);
  });

  it('reads back only the rows that may be \\Deleted, and expunges exactly the \\Deleted ones', async () => {
    const uids = (await store.listMessages(inbox.id)).map((e) => e.uid);
    expect(uids.length).toBe(38);
    await store.storeFlags(inbox.id, [uids[1]!, uids[20]!], 'add', ['\\Deleted']);
    await store.storeFlags(inbox.id, [uids[2]!], 'add', ['$NotDeleted', '\\Seen']);
    // a \Deleted stored in another spelling (hasFlag ignores case): it goes too
    await core.db.updateTable('folder_messages').set({ flags: '\\deleted' }).where('folder_id', '=', inbox.id).where('uid', '=', uids[30]!).execute();
    rowsRead.length = 0;
    counting = true;
    let removed: number[];
    try {
      removed = await store.expunge(inbox.id);
    } finally {
      counting = false;
    }
    expect(removed).toEqual([uids[1], uids[20], uids[30]]);
    // the three \Deleted rows and the keyword's, not the folder's 38
    expect(rowsRead).toEqual([4]);
    const left = (await new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes }).listMessages(inbox.id)).map((e) => e.uid);
    expect(left).toEqual(uids.filter((u) => u !== uids[1] && u !== uids[20] && u !== uids[30]));
  });
});
