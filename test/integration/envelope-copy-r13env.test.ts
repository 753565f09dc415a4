/**
 * A large folder's envelope copy (issue 18, thirteenth round): FETCH of ENVELOPE in a fresh
 * process reads one row (folder_envelopes) instead of every message's row, and its texts are the
 * ones the general path formats from each message's meta, byte for byte, after appends,
 * expunges, copies from another folder and a restart. A copy that lacks messages only costs
 * their rows; where the bytes are (blob id, header prefix) comes with it, and reads the same bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import { decodeEnvelopes, ENVELOPE_COPY_MIN_ENTRIES } from '../../appliance/mailstore/envelope-copy.js';
import { envelopeToString } from '../../appliance/imap/bodystructure.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { installStatementCounter, type StatementCounter } from '../helpers/statements.js';

const names = ['"Zoë Quote \\"Q\\"" <zoe@example.org>', 'plain@example.org', '=?UTF-8?B?w4lsw6huZQ==?= <elene@example.net>', 'Group: a@x.org, b@y.org;', '(comment) c@z.org'];
const msg = (i: number, tag: string) =>
  Buffer.from(
    `From: ${names[i % names.length]}\r\n` +
      (i % 3 ? `To: to${i}@example.com\r\n` : '') +
      (i % 4 === 1 ? `Cc: cc${i}@example.com, "Cc Two" <cc2@example.com>\r\n` : '') +
      (i % 6 === 2 ? `Reply-To: reply${i}@example.com\r\n` : '') +
      (i % 5 ? `Subject: ${i % 2 ? 'Re: ' : ''}item ${i} "${tag}" ünïcode\r\n` : '') +
      (i % 7 ? `Date: Mon, ${1 + (i % 27)} Jan 2024 10:00:00 +0000\r\n` : '') +
      (i % 8 ? `Message-ID: <${tag}${i}@t>\r\n` : '') +
      (i % 9 === 3 ? `In-Reply-To: <${tag}${i - 1}@t>\r\n` : '') +
      `\r\nbody ${i}\r\n`,
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('envelope copy (r13env)', () => {
  let core: TestCore;
  let counter: StatementCounter;
  let mailboxId: string;
  let big: FolderInfo;
  let other: FolderInfo;
  const restart = () => new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
  const copyRow = () => core.db.selectFrom('folder_envelopes').selectAll().where('folder_id', '=', big.id).executeTakeFirst();
  const entryIds = async (folderId: number) => (await restart().listMessages(folderId)).map((e) => e.messageId);
  /** The general path: each message's meta read and its envelope formatted (a store of its own). */
  const expected = async (ids: number[]) => {
    const metas = await restart().getMeta(ids);
    return new Map(ids.filter((id) => metas.has(id)).map((id) => [id, envelopeToString(metas.get(id)!.envelope)]));
  };
  /** Waits until the copy holds `entries` messages (the background refresh after a quiet second). */
  const copyOf = async (entries: number) => {
    for (let i = 0; i < 300; i++) {
      const row = await copyRow();
      if (row && Number(row.entries) === entries) return row;
      await sleep(100);
    }
    throw new Error(`no copy of ${entries} entries`);
  };
  /** A fresh store's envelope texts of the folder: equal to the general path's; the statements that read messages' meta (other background work reads message ids). */
  const freshTexts = async () => {
    const ids = await entryIds(big.id);
    const s = restart();
    const got = await counter.count(() => s.envelopeTexts(big.id, ids));
    expect(got.value).toEqual(await expected(ids));
    expect(got.value.size).toBe(ids.length);
    return { ids, store: s, rowReads: got.compiled.filter((q) => /"meta".* from "messages"/.test(q)) };
  };

  beforeAll(async () => {
    counter = installStatementCounter();
    core = await createTestCore();
    mailboxId = (await core.createMailbox('env@r13env.test', 'envelope copy passphrase')).id;
    big = await core.store.createFolder(mailboxId, 'Big');
    other = await core.store.createFolder(mailboxId, 'Other');
    await core.store.appendMany(
      mailboxId,
      'Big',
      Array.from({ length: ENVELOPE_COPY_MIN_ENTRIES + 10 }, (_, i) => ({ raw: msg(i, 'b') })),
    );
    await core.store.appendMany(
      mailboxId,
      'Other',
      Array.from({ length: 60 }, (_, i) => ({ raw: msg(i, 'o') })),
    );
  }, 120_000);
  afterAll(async () => {
    counter?.restore();
    await core?.close();
  });

  it("is written once appends stop, and a fresh store's ENVELOPE texts come from it, equal to the general path", async () => {
    const row = await copyOf(ENVELOPE_COPY_MIN_ENTRIES + 10);
    const copy = decodeEnvelopes(row.data)!;
    expect(copy.length).toBe(ENVELOPE_COPY_MIN_ENTRIES + 10);
    const { ids, store, rowReads } = await freshTexts();
    expect(rowReads).toEqual([]);
    // Where the bytes are came with the copy: the same bytes as a lookup of the rows.
    const pick = [ids[0]!, ids[ids.length - 1]!];
    const bytes = await store.readMessages(pick);
    const fresh = restart();
    for (const id of pick) expect(bytes.get(id)!.equals(await fresh.readMessage(id))).toBe(true);
  });

  it('answers after appends the copy lacks (read from their rows), then holds them', async () => {
    await core.store.appendMany(
      mailboxId,
      'Big',
      Array.from({ length: 40 }, (_, i) => ({ raw: msg(2000 + i, 'n') })),
    );
    await freshTexts(); // the copy lacks them (or was just brought up): equal either way
    await copyOf(ENVELOPE_COPY_MIN_ENTRIES + 50);
    expect((await freshTexts()).rowReads).toEqual([]);
  });

  it('answers after expunges and copies from another folder, and after a restart', async () => {
    const all = await restart().listMessages(big.id);
    const gone = all.filter((_, i) => i % 10 === 3).map((e) => e.uid);
    await core.store.storeFlags(big.id, gone, 'add', ['\\Deleted']);
    await core.store.expunge(big.id, gone);
    await freshTexts();
    const others = (await restart().listMessages(other.id)).map((e) => e.uid);
    await core.store.copyMessages(other.id, others, big.id);
    const now = (await entryIds(big.id)).length;
    expect(now).toBe(all.length - gone.length + others.length);
    await freshTexts();
    await copyOf(now);
    expect((await freshTexts()).rowReads).toEqual([]);
  });

  it('a copy that is not one (cut short, another version) costs only speed', async () => {
    const row = (await copyRow())!;
    await core.db
      .updateTable('folder_envelopes')
      .set({ data: row.data.subarray(0, row.data.length - 7) })
      .where('folder_id', '=', big.id)
      .execute();
    const { rowReads } = await freshTexts();
    expect(rowReads.length).toBeGreaterThan(0);
    await core.db.updateTable('folder_envelopes').set({ data: row.data }).where('folder_id', '=', big.id).execute();
  });
});
