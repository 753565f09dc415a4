/**
 * `postern migrate` leaves large folders' envelope copies behind (issue 18, fourteenth round):
 * their encoded chunks hold each message's blob id, which the blob copy rewrites only in the
 * messages table, so a copied chunk would point the target's FETCH at the source's blob ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteTables } from '../../appliance/db/move-adapter.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { testOnPostgres } from '../helpers/database.js';

describe.skipIf(testOnPostgres())('storage move: derived copies', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => {
    await core?.close();
  });

  it('copies the message tables and the folder copies without blob ids, not the envelope chunks', async () => {
    const names = (await sqliteTables(core.db)).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['messages', 'folder_messages', 'folder_index_heads', 'folder_sort_keys']));
    expect(names).not.toContain('folder_envelope_chunks');
  });
});
