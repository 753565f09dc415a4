/**
 * A large folder's envelope copy (issue 18, fourteenth round; mailstore/envelope-copy.ts): new
 * messages go into it in the background as a chunk from what the ingest held (no read), and a
 * fresh store answers FETCH's ENVELOPE texts and SEARCH's header fields (SUBJECT, FROM/TO/CC/BCC)
 * from it without reading the messages' rows, equal to what the general path makes of each
 * message's meta, after appends, expunges, copies from another folder and restarts. What the copy
 * lacks is read from the rows and written as a chunk; many chunks are merged into one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import { ENVELOPE_COPY_MAX_CHUNKS, ENVELOPE_COPY_MIN_ENTRIES, decodeChunk, encodeChunk, envelopeRow } from '../../appliance/mailstore/envelope-copy.js';
import { envelopeToString } from '../../appliance/imap/bodystructure.js';
import { addressFieldText } from '../../appliance/imap/search.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { installStatementCounter, type StatementCounter } from '../helpers/statements.js';

const names = ['"Zoë Quote \\"Q\\"" <zoe@example.org>', 'plain@example.org', '=?UTF-8?B?w4lsw6huZQ==?= <elene@example.net>', 'Group: a@x.org, b@y.org;', '(comment) c@z.org'];
const msg = (i: number, tag: string) =>
  Buffer.from(
    `From: ${names[i % names.length]}\r\n` +
      (i % 3 ? `To: to${i}@example.com\r\n` : '') +
      (i % 4 === 1 ? `Cc: cc${i}@example.com, "Cc Two" <cc2@example.com>\r\n` : '') +
      (i % 11 === 5 ? `Bcc: hidden${i}@example.com\r\n` : '') +
      (i % 6 === 2 ? `Reply-To: reply${i}@example.com\r\n` : '') +
      (i % 5 ? `Subject: ${i % 2 ? 'Re: ' : ''}item ${i} "${tag}" ünïcode 😀\r\n` : '') +
      (i % 7 ? `Date: Mon, ${1 + (i % 27)} Jan 2024 10:00:00 +0000\r\n` : '') +
      (i % 8 ? `Message-ID: <${tag}${i}@t>\r\n` : '') +
      `\r\nbody ${i}\r\n`,
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FIELDS = ['from', 'to', 'cc', 'bcc'] as const;

describe('envelope copy for FETCH and SEARCH (r14env)', () => {
  let core: TestCore;
  let counter: StatementCounter;
  let mailboxId: string;
  let big: FolderInfo;
  let other: FolderInfo;
  const restart = () => new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
  const chunks = () => core.db.selectFrom('folder_envelope_chunks').selectAll().where('folder_id', '=', big.id).execute();
  const held = async () => (await chunks()).reduce((n, c) => n + Number(c.entries), 0);
  const entryIds = async (folderId: number) => (await restart().listMessages(folderId)).map((e) => e.messageId);
  const metaReads = (compiled: string[]) => compiled.filter((q) => /from "messages"/.test(q));
  /** Waits until the folder's chunks hold `entries` messages in all. */
  const copyHolds = async (entries: number) => {
    for (let i = 0; i < 300; i++) {
      if ((await held()) === entries) return;
      await sleep(100);
    }
    throw new Error(`chunks hold ${await held()} messages, not ${entries}`);
  };
  /** A fresh store's ENVELOPE texts, then its header fields: equal to the general path's (each message's meta); the statements each made. */
  const fresh = async () => {
    // The core's search indexer reads new messages' ids in the background: none inside the counts.
    await core.store.searchIndexer.idle();
    const ids = await entryIds(big.id);
    const metas = await restart().getMeta(ids);
    const s = restart();
    const texts = await counter.count(() => s.envelopeTexts(big.id, ids));
    expect(texts.value.size).toBe(ids.length);
    for (const id of ids) expect(texts.value.get(id)).toBe(envelopeToString(metas.get(id)!.envelope));
    const fields = await counter.count(() => s.headerFields(big.id, ids));
    for (const id of ids) {
      expect(fields.value.subject(id)).toBe(metas.get(id)!.subject ?? '');
      for (const f of FIELDS) expect(fields.value.address(id, f)).toBe(addressFieldText(metas.get(id)!, f));
    }
    return { ids, store: s, textReads: metaReads(texts.compiled), fieldStatements: fields.compiled };
  };

  beforeAll(async () => {
    counter = installStatementCounter();
    core = await createTestCore();
    mailboxId = (await core.createMailbox('env@r14env.test', 'envelope copy passphrase')).id;
    big = await core.store.createFolder(mailboxId, 'Big');
    other = await core.store.createFolder(mailboxId, 'Other');
    await core.store.appendMany(
      mailboxId,
      'Other',
      Array.from({ length: 60 }, (_, i) => ({ raw: msg(i, 'o') })),
    );
    await core.store.appendMany(
      mailboxId,
      'Big',
      Array.from({ length: ENVELOPE_COPY_MIN_ENTRIES + 10 }, (_, i) => ({ raw: msg(i, 'b') })),
    );
  }, 180_000);
  afterAll(async () => {
    counter?.restore();
    await core?.close();
  });

  it('new messages of a large folder go into its copy without a read; a fresh store answers FETCH and SEARCH from it', async () => {
    await copyHolds(ENVELOPE_COPY_MIN_ENTRIES + 10);
    // a small folder gets none
    expect(await core.db.selectFrom('folder_envelope_chunks').select('chunk').where('folder_id', '=', other.id).execute()).toEqual([]);
    const { ids, store, textReads, fieldStatements } = await fresh();
    expect(textReads).toEqual([]);
    // SEARCH after FETCH: the copy FETCH read, no statement at all
    expect(fieldStatements).toEqual([]);
    // where the bytes are came with the copy: the same bytes as a lookup of the rows, no row read
    const pick = [ids[0]!, ids[ids.length - 1]!];
    const lent = await counter.count(() => store.readMessages(pick));
    expect(metaReads(lent.compiled)).toEqual([]);
    const another = restart();
    for (const id of pick) expect(lent.value.get(id)!.equals(await another.readMessage(id))).toBe(true);
  });

  it('SEARCH first on a fresh store reads the copy too', async () => {
    const ids = await entryIds(big.id);
    const s = restart();
    const fields = await counter.count(() => s.headerFields(big.id, ids));
    expect(metaReads(fields.compiled)).toEqual([]);
    const metas = await restart().getMeta(ids);
    for (const id of ids) expect(fields.value.subject(id)).toBe(metas.get(id)!.subject ?? '');
    const texts = await counter.count(() => s.envelopeTexts(big.id, ids));
    expect(texts.compiled).toEqual([]);
  });

  it('answers after appends, expunges and copies the copy lacks (read from their rows, then written as a chunk)', async () => {
    const before = await held();
    await core.store.appendMany(
      mailboxId,
      'Big',
      Array.from({ length: 40 }, (_, i) => ({ raw: msg(2000 + i, 'n') })),
    );
    await copyHolds(before + 40);
    const all = await restart().listMessages(big.id);
    const gone = all.filter((_, i) => i % 10 === 3).map((e) => e.uid);
    await core.store.storeFlags(big.id, gone, 'add', ['\\Deleted']);
    await core.store.expunge(big.id, gone);
    const others = (await restart().listMessages(other.id)).map((e) => e.uid);
    await core.store.copyMessages(other.id, others, big.id);
    const first = await fresh();
    expect(first.textReads.length).toBeGreaterThan(0); // the 60 copied messages
    await copyHolds(before + 40 + 60);
    expect((await fresh()).textReads).toEqual([]);
  });

  it('merges many chunks into one of the folder’s messages; a chunk that is not one costs only speed', async () => {
    const ids = await entryIds(big.id);
    const metas = await restart().getMeta(ids);
    // chunks of a few messages each, one of them of a message no longer in the folder
    const refs = await core.db.selectFrom('messages').select(['id', 'blob_id', 'header_prefix']).where('id', 'in', ids.slice(0, 40)).execute();
    const rowOf = (id: number) => {
      const r = refs.find((x) => Number(x.id) === id)!;
      return envelopeRow(id, metas.get(id)!, r.blob_id, r.header_prefix);
    };
    for (let k = 0; k < ENVELOPE_COPY_MAX_CHUNKS; k++) {
      const rows = ids.slice(4 * k, 4 * k + 4).map(rowOf);
      await core.db
        .insertInto('folder_envelope_chunks')
        .values({ folder_id: big.id, chunk: 1e9 + k, entries: rows.length, data: encodeChunk(rows) })
        .execute();
    }
    const goneRow = { ...rowOf(ids[0]!), messageId: 9e8 };
    await core.db
      .insertInto('folder_envelope_chunks')
      .values({ folder_id: big.id, chunk: 9e8, entries: 1, data: encodeChunk([goneRow]) })
      .execute();
    // a chunk cut short is left out when read
    const cut = encodeChunk(ids.slice(40, 44).map((id) => envelopeRow(id, metas.get(id)!, 'x', null)));
    expect(decodeChunk(1, cut.subarray(0, cut.length - 3))).toBeNull();
    expect((await chunks()).length).toBeGreaterThan(ENVELOPE_COPY_MAX_CHUNKS);
    await fresh();
    for (let i = 0; i < 300 && (await chunks()).length !== 1; i++) await sleep(100);
    const [merged] = await chunks();
    expect(Number(merged!.entries)).toBe(ids.length);
    const c = decodeChunk(Number(merged!.chunk), merged!.data)!;
    expect([...c.ids].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    expect((await fresh()).textReads).toEqual([]);
  });
});
