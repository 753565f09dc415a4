import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appPasswordHash, CredentialService, normalizeAppPassword } from '../../appliance/core/access/credentials.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

describe('credential module', () => {
  let core: TestCore;
  let box: { id: string; address: string };
  const PASSWORD = 'Correct-Horse-99';

  beforeAll(async () => {
    core = await createTestCore();
    box = await core.createMailbox('cred@cred.test', PASSWORD);
  });
  afterAll(async () => core?.close());

  const login = (password: string, protocol: 'imap' | 'smtp' | 'web' = 'imap', remoteAddress = '127.0.0.10') =>
    core.credentials.verifyLogin({ username: box.address, password, protocol, remoteAddress });

  async function addAppPassword(id: string, secret: string, scopes: string[]) {
    const tenant = (await core.db.selectFrom('mailboxes').select('tenant_id').where('id', '=', box.id).executeTakeFirstOrThrow()).tenant_id;
    await core.db
      .insertInto('app_passwords')
      .values({
        id,
        tenant_id: tenant,
        mailbox_id: box.id,
        name: id,
        scopes: JSON.stringify(scopes),
        secret_hash: appPasswordHash(normalizeAppPassword(secret)!),
        created_by: 'test',
        created_at: Date.now(),
      })
      .execute();
  }

  it('accepts the mailbox password, case-insensitive user name, and refuses a wrong one', async () => {
    expect(await login(PASSWORD)).toMatchObject({ ok: true, mailboxId: box.id, credentialId: 'password' });
    expect(await core.credentials.verifyLogin({ username: 'CRED@Cred.Test', password: PASSWORD, protocol: 'smtp', remoteAddress: '127.0.0.10' })).toMatchObject({ ok: true });
    expect(await login('wrong-password', 'imap', '127.0.0.11')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('accepts an app password only for its scopes, typed with spaces or dashes', async () => {
    await addAppPassword('app1', 'abcd efgh ijkl mnop', ['imap']);
    expect(await login('ABCD-EFGH-IJKL-MNOP', 'imap')).toMatchObject({ ok: true, credentialId: 'app:app1' });
    expect(await login('abcdefghijklmnop', 'smtp', '127.0.0.12')).toMatchObject({ ok: false });
    expect(await login('abcdefghijklmnop', 'web', '127.0.0.13')).toMatchObject({ ok: false });
  });

  it('ends only the sessions of a revoked app password, and isCurrent fails for it at once', async () => {
    await addAppPassword('app2', 'qrst uvwx yzab cdef', ['imap', 'smtp']);
    const r = await login('qrstuvwxyzabcdef', 'smtp');
    if (!r.ok) throw new Error('login failed');
    const ended: string[] = [];
    const stopMain = core.credentials.onRevoke(box.id, () => ended.push('password'), 'password');
    core.credentials.onRevoke(box.id, () => ended.push('app2'), 'app:app2');
    await core.db.updateTable('app_passwords').set({ revoked_at: Date.now() }).where('id', '=', 'app2').execute();
    expect(core.credentials.notifyRevoked(box.id, 'app password revoked', 'app:app2')).toBe(1);
    expect(ended).toEqual(['app2']);
    expect(await core.credentials.isCurrent(box.id, r.credentialVersion, 'app:app2')).toBe(false);
    expect(await core.credentials.isCurrent(box.id, r.credentialVersion, 'password')).toBe(true);
    expect(await login('qrstuvwxyzabcdef', 'smtp', '127.0.0.14')).toMatchObject({ ok: false });
    stopMain();
  });

  it('a credential change takes effect at once: cached verifications and open sessions', async () => {
    const r = await login(PASSWORD);
    if (!r.ok) throw new Error('login failed');
    const ended: string[] = [];
    core.credentials.onRevoke(box.id, (reason) => ended.push(reason));
    await core.credentials.revokeAccess(box.id, 'password reset');
    expect(ended).toEqual(['password reset']);
    expect(await core.credentials.isCurrent(box.id, r.credentialVersion)).toBe(false);
    await core.db.updateTable('mailboxes').set({ status: 'suspended' }).where('id', '=', box.id).execute();
    expect(await login(PASSWORD, 'imap', '127.0.0.15')).toEqual({ ok: false, reason: 'disabled' });
    await core.db.updateTable('mailboxes').set({ status: 'active' }).where('id', '=', box.id).execute();
  });

  it('throttles the failing source for an account (not the account everywhere), and a client IP across accounts', async () => {
    const svc = new CredentialService(core.db, core.logger, { accountFailures: 3, ipFailures: 5, baseLockMs: 60_000 });
    for (let i = 0; i < 3; i++) await svc.verifyLogin({ username: box.address, password: 'nope', protocol: 'imap', remoteAddress: '10.9.9.1' });
    expect(await svc.verifyLogin({ username: box.address, password: PASSWORD, protocol: 'imap', remoteAddress: '10.9.9.1' })).toMatchObject({ ok: false, reason: 'throttled' });
    expect(await svc.verifyLogin({ username: box.address, password: PASSWORD, protocol: 'imap', remoteAddress: '10.9.8.2' })).toMatchObject({ ok: true });
    for (let i = 0; i < 5; i++) await svc.verifyLogin({ username: `nobody${i}@cred.test`, password: 'nope', protocol: 'smtp', remoteAddress: '10.9.9.3' });
    expect(await svc.verifyLogin({ username: 'other@cred.test', password: 'x', protocol: 'smtp', remoteAddress: '10.9.9.3' })).toMatchObject({ ok: false, reason: 'throttled' });
  });
});
