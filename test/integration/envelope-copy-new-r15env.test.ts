/**
 * New messages waiting to go into their folder's envelope copy (issue 18, fifteenth round;
 * mailstore/envelope-copy.ts EnvelopeCopies.stored): a folder whose waiting messages are all
 * below UID ENVELOPE_COPY_MIN_ENTRIES keeps their meta only while they come less than 10 s apart
 * (a burst: an import, a client's APPENDs in a row); once quiet, they are dropped at the next
 * delivery, so small folders' deliveries keep no meta held. A folder that crosses the threshold
 * in a burst still gets every message of it in its chunk; one that crosses after a quiet moment
 * gets the messages since then (the copy is incomplete, never wrong: what it lacks is read from
 * the rows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { ENVELOPE_COPY_MIN_ENTRIES } from '../../appliance/mailstore/envelope-copy.js';
import { envelopeToString } from '../../appliance/imap/bodystructure.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const msg = (i: number, tag: string) => Buffer.from(`From: a${i}@example.org\r\nTo: b@example.org\r\nSubject: ${tag} ${i}\r\nMessage-ID: <${tag}${i}@t>\r\n\r\nbody ${i}\r\n`);
const items = (n: number, tag: string, from = 0) => Array.from({ length: n }, (_, i) => ({ raw: msg(from + i, tag) }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Longer than the quiet moment (10 s) after which a small folder's waiting messages go. */
const QUIET = 10_500;

describe('envelope copy: small folders keep no new messages waiting (r15env)', () => {
  let core: TestCore;
  let mailboxId: string;
  const restart = () => new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
  const held = async (folderId: number) => {
    const rows = await core.db.selectFrom('folder_envelope_chunks').select('entries').where('folder_id', '=', folderId).execute();
    return rows.reduce((n, r) => n + Number(r.entries), 0);
  };
  /** Waits until the folder's chunks hold `entries` messages in all. */
  const copyHolds = async (folderId: number, entries: number) => {
    for (let i = 0; i < 300; i++) {
      if ((await held(folderId)) === entries) return;
      await sleep(100);
    }
    throw new Error(`chunks hold ${await held(folderId)} messages, not ${entries}`);
  };

  beforeAll(async () => {
    core = await createTestCore();
    mailboxId = (await core.createMailbox('new@r15env.test', 'envelope copy passphrase')).id;
  }, 60_000);
  afterAll(async () => {
    await core?.close();
  });

  it('a small folder’s deliveries are held only while they come in a burst', async () => {
    await core.store.createFolder(mailboxId, 'SmallA');
    await core.store.createFolder(mailboxId, 'SmallB');
    expect(core.store.envelopes.waiting).toBe(0);
    await core.store.appendMany(mailboxId, 'SmallA', items(5, 'a'));
    await core.store.appendMany(mailboxId, 'SmallB', items(3, 'b'));
    expect(core.store.envelopes.waiting).toBe(8);
    await sleep(QUIET);
    await core.store.appendMany(mailboxId, 'SmallB', items(1, 'b', 3));
    // the quiet ones are gone, the new one waits (its folder may still get a burst)
    expect(core.store.envelopes.waiting).toBe(1);
  }, 60_000);

  it('a folder crossing the threshold in a burst gets all of it in its chunk', async () => {
    const big = await core.store.createFolder(mailboxId, 'Burst');
    await core.store.appendMany(mailboxId, 'Burst', items(ENVELOPE_COPY_MIN_ENTRIES - 100, 'u'));
    await core.store.appendMany(mailboxId, 'Burst', items(110, 'u', ENVELOPE_COPY_MIN_ENTRIES - 100));
    await copyHolds(big.id, ENVELOPE_COPY_MIN_ENTRIES + 10);
  }, 120_000);

  it('a folder crossing the threshold after a quiet moment gets the messages since in its chunk; a fresh store answers every message', async () => {
    const big = await core.store.createFolder(mailboxId, 'Quiet');
    await core.store.appendMany(mailboxId, 'Quiet', items(ENVELOPE_COPY_MIN_ENTRIES - 5, 'q'));
    await sleep(QUIET);
    await core.store.appendMany(mailboxId, 'Quiet', items(10, 'q', ENVELOPE_COPY_MIN_ENTRIES - 5));
    await copyHolds(big.id, 10);
    expect(core.store.envelopes.waiting).toBe(0);
    // never wrong: the copy's messages and those read from the rows alike
    const ids = (await restart().listMessages(big.id)).map((e) => e.messageId);
    const metas = await restart().getMeta(ids);
    const texts = await restart().envelopeTexts(big.id, ids);
    expect(texts.size).toBe(ids.length);
    for (const id of ids) expect(texts.get(id)).toBe(envelopeToString(metas.get(id)!.envelope));
  }, 120_000);
});
