/**
 * Shared mailboxes over IMAP (issue 19), with imapflow and raw sockets as two members, a
 * delegate and the owner of info@client.example: the shared namespace (NAMESPACE, LIST),
 * reading and flagging, shared \Seen and per-member \Seen, APPEND and MOVE into the shared
 * mailbox, IDLE seeing a colleague's change within a second, NO [NOPERM] without rights, the
 * ACL commands, and revocation within a second on an open session with the folder selected.
 * Grants are made and removed by the core's grant functions (as the API does), which tell the
 * serving layer through GrantsServing.
 */
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoreDeps, type CoreDeps } from '../../appliance/core/deps.js';
import { createGrant, deleteGrant } from '../../appliance/core/access/grants.service.js';
import { updateAccessPolicy } from '../../appliance/core/access/policies.js';
import { suspendMailbox, resumeMailbox } from '../../appliance/core/mailboxes/mailbox-lifecycle.service.js';
import { type Actor, makeActor } from '../../appliance/core/kernel/authz.js';
import type { GrantRight } from '../../appliance/core/access/grants.types.js';
import type { Config } from '../../appliance/config.js';
import { startImapServer, type ImapServerHandle } from '../../appliance/imap/server.js';
import { sharedServing } from '../../appliance/imap/shared-serving.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { imapflow, RawClient, testCertificate, type ImapTestEnv } from './imap-harness.js';

const PASS = 'a long enough passphrase';
const INFO = 'info@client.example';
const ALICE = 'alice@client.example';
const BOB = 'bob@client.example';
const DAVE = 'dave@client.example';
const ERIN = 'erin@client.example';
const CAROL = 'carol@client.example';
const SHARED_INBOX = `Shared/${INFO}/INBOX`;

/** Flags as an IMAP4rev1 session writes them, without the session's \\Recent. */
const noRecent = (s: string) => s.replace(/ ?\\Recent/g, '').replace(/\( /g, '(');

const mail = (subject: string) =>
  Buffer.from(`From: Customer <c@example.org>\r\nTo: ${INFO}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.org>\r\n\r\nBody of ${subject}\r\n`);

describe('shared mailboxes over IMAP', () => {
  let core: TestCore;
  let deps: CoreDeps;
  let server: ImapServerHandle;
  let env: ImapTestEnv;
  const ids: Record<string, string> = {};
  const open: Array<ImapFlow | RawClient> = [];
  let tenantId = '';
  let admin: Actor;
  const grants: Record<string, string> = {};

  /** Grants `rights` on info@ to a member through the core's use case (as the API does). */
  async function grant(member: string, rights: GrantRight[], seenPerMember = false): Promise<void> {
    const g = await createGrant(admin, deps, ids[INFO]!, { memberMailboxId: ids[member]!, rights, seenPerMember, reason: 'team inbox' });
    grants[member] = g.id;
  }

  async function revoke(member: string): Promise<void> {
    await deleteGrant(admin, deps, grants[member]!, { reason: 'left the team' });
  }

  async function client(user: string): Promise<ImapFlow> {
    const c = imapflow(env, user, PASS);
    await c.connect();
    open.push(c);
    return c;
  }

  async function raw(user: string): Promise<RawClient> {
    const c = await RawClient.connect(server.ports.imaps, true);
    open.push(c);
    expect(await c.cmd('L', `LOGIN ${user} "${PASS}"`)).toMatch(/L OK/);
    return c;
  }

  beforeAll(async () => {
    core = await createTestCore();
    deps = createCoreDeps(core.db, core.config, Date.now, { credentials: core.credentials, revoker: core.credentials });
    const config = Object.freeze({ ...core.config, ports: { ...core.config.ports, imap: 0, imaps: 0 } }) as Readonly<Config>;
    server = await startImapServer({ config, logger: core.logger, store: core.store, credentials: core.credentials, tls: testCertificate(), shared: sharedServing(deps) });
    env = { core, server, config, close: async () => undefined };
    for (const a of [INFO, ALICE, BOB, DAVE, ERIN, CAROL]) ids[a] = (await core.createMailbox(a, PASS)).id;
    tenantId = (await core.db.selectFrom('mailboxes').select('tenant_id').where('id', '=', ids[INFO]!).executeTakeFirstOrThrow()).tenant_id;
    admin = makeActor({
      kind: 'tenant-admin',
      tenantId,
      principalId: 'prn_test_admin',
      permissions: ['mailboxes.read', 'mailboxes.share', 'mailboxes.manage', 'mailboxes.suspend', 'policies.manage'],
    });
    await core.store.createFolder(ids[INFO]!, 'Projects');
    await core.store.createFolder(ids[INFO]!, 'Projects/2026');
    for (const s of ['First question', 'Second question', 'Third question']) await core.deliver(INFO, mail(s));
    await grant(ALICE, ['read', 'seen', 'write', 'insert', 'delete', 'create']);
    await grant(BOB, ['read', 'seen', 'write']);
    await grant(DAVE, ['read', 'seen', 'write'], true);
    await grant(ERIN, ['read']);
  });

  afterAll(async () => {
    for (const c of open) {
      if ('logout' in c) await c.logout().catch(() => undefined);
      else c.close();
    }
    await server?.close();
    await core?.close();
  });

  it('announces the shared namespace and lists the shared mailbox under it', async () => {
    const r = await raw(ALICE);
    expect(await r.cmd('N', 'NAMESPACE')).toContain('* NAMESPACE (("" "/")) NIL (("Shared/" "/"))');
    const list = await r.cmd('A', 'LIST "" "*"');
    expect(list).toContain('* LIST (\\Noselect \\HasChildren) "/" Shared\r\n');
    expect(list).toContain(`* LIST (\\Noselect \\HasChildren) "/" Shared/${INFO}\r\n`);
    expect(list).toContain(`"/" ${SHARED_INBOX}\r\n`);
    expect(list).toContain(`"/" Shared/${INFO}/Projects/2026\r\n`);
    expect(await r.cmd('B', 'LIST "" "%"')).toMatch(/\* LIST \(\\Noselect \\HasChildren\) "\/" Shared\r\n/);
    const status = await r.cmd('C', `LIST "" "Shared/${INFO}/*" RETURN (STATUS (MESSAGES UNSEEN))`);
    expect(status).toContain(`* STATUS ${SHARED_INBOX} (MESSAGES 3 UNSEEN 3)`);
    expect(await r.cmd('D', `SUBSCRIBE ${SHARED_INBOX}`)).toMatch(/D OK/);
    expect(await r.cmd('E', 'LSUB "" "Shared/*"')).toContain(`* LSUB () "/" ${SHARED_INBOX}\r\n`);
    // imapflow (a client we did not write) sees the same tree.
    const paths = (await (await client(ALICE)).list()).map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['INBOX', SHARED_INBOX, `Shared/${INFO}/Projects`, `Shared/${INFO}/Projects/2026`]));
  });

  it('shows nothing shared to a mailbox without a grant, and refuses its names with NOPERM', async () => {
    const r = await raw(CAROL);
    expect(await r.cmd('A', 'LIST "" "*"')).not.toContain('Shared');
    expect(await r.cmd('B', `SELECT ${SHARED_INBOX}`)).toMatch(/B NO \[NOPERM\]/);
    expect(await r.cmd('C', `STATUS ${SHARED_INBOX} (MESSAGES)`)).toMatch(/C NO \[NOPERM\]/);
    expect(await r.cmd('D', `APPEND ${SHARED_INBOX} {5}\r\nHello`)).toMatch(/NO \[NOPERM\]/);
  });

  it('lets members read and flag with shared \\Seen; the owner and a colleague see it', async () => {
    const alice = await client(ALICE);
    const lock = await alice.getMailboxLock(SHARED_INBOX);
    try {
      const msg = await alice.fetchOne('1', { envelope: true, source: true, flags: true });
      if (!msg) throw new Error('no message');
      expect(msg.envelope?.subject).toBe('First question');
      expect(msg.source?.toString()).toContain('Body of First question');
      await alice.messageFlagsAdd('1', ['\\Seen', '\\Flagged']);
    } finally {
      lock.release();
    }
    const entries = await core.store.listMessages((await core.store.getFolder(ids[INFO]!, 'INBOX'))!.id);
    expect(entries[0]!.flags).toEqual(expect.arrayContaining(['\\Seen', '\\Flagged']));
    const bob = await client(BOB);
    const st = await bob.status(SHARED_INBOX, { messages: true, unseen: true });
    expect(st).toMatchObject({ messages: 3, unseen: 2 });
  });

  it('keeps \\Seen per member where the grant says so', async () => {
    const dave = await raw(DAVE);
    const selected = await dave.cmd('S', `SELECT ${SHARED_INBOX}`);
    expect(selected).toMatch(/S OK \[READ-WRITE\]/);
    // The shared \Seen of message 1 is not dave's (his first unseen is 1, the owner's is not); reading message 2 marks it seen for dave only.
    expect(selected).toMatch(/\[UNSEEN 1\]/);
    expect(noRecent(await dave.cmd('A', 'FETCH 1:3 (FLAGS)'))).toMatch(/\* 1 FETCH \(FLAGS \(\\Flagged\)\)/);
    const body = noRecent(await dave.cmd('B', 'FETCH 2 (BODY[TEXT])'));
    expect(body).toContain('Body of Second question');
    expect(body).toMatch(/FLAGS \(\\Seen\)/);
    expect(await dave.cmd('C', 'SEARCH UNSEEN')).toContain('* SEARCH 1 3\r\n');
    expect(noRecent(await dave.cmd('D', 'STORE 3 +FLAGS (\\Seen \\Answered)'))).toMatch(/\* 3 FETCH \(FLAGS \(\\Answered \\Seen\)\)/);
    expect(await dave.cmd('E', `STATUS ${SHARED_INBOX} (UNSEEN)`)).toContain('(UNSEEN 1)');
    // The owner's flags: \Answered (shared) but no \Seen from dave.
    const owner = await raw(INFO);
    const ownerView = await owner.cmd('O', 'EXAMINE INBOX');
    expect(ownerView).toMatch(/O OK/);
    const flags = noRecent(await owner.cmd('P', 'FETCH 1:3 (FLAGS)'));
    expect(flags).toMatch(/\* 2 FETCH \(FLAGS \(\)\)/);
    expect(flags).toMatch(/\* 3 FETCH \(FLAGS \(\\Answered\)\)/);
    expect(noRecent(await dave.cmd('F', 'STORE 2 -FLAGS (\\Seen)'))).toMatch(/\* 2 FETCH \(FLAGS \(\)\)/);
  });

  it('APPENDs and MOVEs into the shared mailbox with the insert right', async () => {
    const alice = await client(ALICE);
    const appended = await alice.append(SHARED_INBOX, mail('Appended by Alice'), ['\\Seen']);
    expect(appended).toMatchObject({ destination: SHARED_INBOX });
    await alice.append('INBOX', mail('Alice private note'));
    const lock = await alice.getMailboxLock('INBOX');
    try {
      const moved = await alice.messageMove('1', `Shared/${INFO}/Projects`);
      expect(moved).toBeTruthy();
    } finally {
      lock.release();
    }
    const projects = (await core.store.getFolder(ids[INFO]!, 'Projects'))!;
    expect((await core.store.folderStatus(projects.id)).messages).toBe(1);
    expect((await core.store.folderStatus((await core.store.getFolder(ids[ALICE]!, 'INBOX'))!.id)).messages).toBe(0);
  });

  it("IDLE on the shared folder sees a colleague's change within a second", async () => {
    const bob = await raw(BOB);
    await bob.cmd('S', `SELECT ${SHARED_INBOX}`);
    bob.send('I IDLE\r\n');
    await bob.until((b) => b.includes('+ idling'));
    bob.take();
    const alice = await raw(ALICE);
    await alice.cmd('S', `SELECT ${SHARED_INBOX}`);
    const t0 = Date.now();
    await alice.cmd('F', 'STORE 2 +FLAGS.SILENT (\\Flagged)');
    await bob.until((b) => /\* 2 FETCH \(UID 2 FLAGS \([^)]*\\Flagged/.test(b), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    // The owner's new mail too.
    await core.deliver(INFO, mail('Fresh mail'));
    await bob.until((b) => /\* 5 EXISTS/.test(b), 1000);
    bob.send('DONE\r\n');
    await bob.until((b) => /I OK/.test(b));
  });

  it('NOTIFY reaches a member for the shared mailbox (SUBTREE), not under PERSONAL', async () => {
    const alice = await raw(ALICE);
    expect(await alice.cmd('N', `NOTIFY SET (SUBTREE (Shared/${INFO}) (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))`)).toMatch(/N OK/);
    const t0 = Date.now();
    await core.deliver(INFO, mail('Notified mail'));
    const out = await alice.until((b) => b.includes(`* STATUS ${SHARED_INBOX} (MESSAGES`), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(out).toMatch(/UNSEEN \d+/);
    alice.take();
    await core.deliver(ALICE, mail('Own mail'));
    expect(await alice.until((b) => b.includes('* STATUS INBOX'), 1000)).not.toContain('Shared/');
  });

  it('answers NO [NOPERM] for what the rights do not allow', async () => {
    const erin = await raw(ERIN); // read only
    expect(await erin.cmd('S', `SELECT ${SHARED_INBOX}`)).toMatch(/S OK \[READ-ONLY\]/);
    expect(await erin.cmd('A', `APPEND ${SHARED_INBOX} {5}\r\nHello`)).toMatch(/A NO \[NOPERM\]/);
    expect(await erin.cmd('C', `CREATE Shared/${INFO}/Erin`)).toMatch(/C NO \[NOPERM\]/);
    const quota = await erin.cmd('Q', `GETQUOTAROOT ${SHARED_INBOX}`);
    expect(quota).toContain(`* QUOTAROOT ${SHARED_INBOX} Shared/${INFO}\r\n* QUOTA Shared/${INFO} (STORAGE `);
    expect(await erin.cmd('R', `GETQUOTA Shared/${INFO}`)).toMatch(/\* QUOTA Shared\/info@client\.example \(STORAGE \d+ \d+\)/);
    const bob = await raw(BOB); // read, seen, write: no insert, delete, create
    expect(await bob.cmd('S', `SELECT ${SHARED_INBOX}`)).toMatch(/S OK \[READ-WRITE\]/);
    expect(await bob.cmd('D', 'STORE 1 +FLAGS (\\Deleted)')).toMatch(/D NO \[NOPERM\]/);
    expect(await bob.cmd('E', 'EXPUNGE')).toMatch(/E NO \[NOPERM\]/);
    expect(await bob.cmd('M', 'MOVE 1 INBOX')).toMatch(/M NO \[NOPERM\]/);
    expect(await bob.cmd('K', 'COPY 1 INBOX')).toMatch(/K OK/);
    expect(await bob.cmd('X', `DELETE Shared/${INFO}/Projects/2026`)).toMatch(/X NO \[NOPERM\]/);
    const alice = await raw(ALICE); // create and delete: folders under the shared mailbox
    expect(await alice.cmd('C', `CREATE Shared/${INFO}/Projects/2027`)).toMatch(/C OK/);
    expect(await core.store.getFolder(ids[INFO]!, 'Projects/2027')).not.toBeNull();
    expect(await alice.cmd('R', `RENAME Shared/${INFO}/Projects/2027 Shared/${INFO}/Projects/2028`)).toMatch(/R OK/);
    expect(await alice.cmd('X', `DELETE Shared/${INFO}/Projects/2028`)).toMatch(/X OK/);
  });

  it('APPEND into the shared mailbox sets only the flags the rights allow', async () => {
    await grant(CAROL, ['read', 'insert']);
    const carol = await raw(CAROL);
    const msg = 'Subject: flags by rights\r\n\r\nbody\r\n';
    const out = await carol.cmd('A', `APPEND ${SHARED_INBOX} (\\Seen \\Flagged \\Deleted) {${msg.length}+}\r\n${msg}`);
    const uid = Number(/A OK \[APPENDUID \d+ (\d+)\]/.exec(out)?.[1]);
    expect(uid).toBeGreaterThan(0);
    const inbox = (await core.store.getFolder(ids[INFO]!, 'INBOX'))!;
    expect((await core.store.getEntry(inbox.id, uid))!.flags).toEqual([]);
    await core.store.expunge(inbox.id, [uid]);
    await revoke(CAROL);
  });

  it('does not set \\Seen on FETCH without the seen right', async () => {
    await grant(CAROL, ['read', 'write']);
    const carol = await raw(CAROL);
    expect(await carol.cmd('S', `SELECT ${SHARED_INBOX}`)).toMatch(/S OK \[READ-WRITE\]/);
    const out = await carol.cmd('A', 'FETCH 3 (BODY[] FLAGS)');
    expect(out).toContain('Body of Third question');
    expect(out).not.toMatch(/\\Seen/);
    expect(await carol.cmd('B', 'STORE 3 +FLAGS (\\Seen)')).toMatch(/B NO \[NOPERM\]/);
    await revoke(CAROL);
  });

  it('answers MYRIGHTS, GETACL and LISTRIGHTS from the grants', async () => {
    const alice = await raw(ALICE);
    expect(await alice.cmd('A', `MYRIGHTS ${SHARED_INBOX}`)).toContain(`* MYRIGHTS ${SHARED_INBOX} lrswipkxte\r\n`);
    expect(await alice.cmd('B', 'MYRIGHTS INBOX')).toContain('* MYRIGHTS INBOX lrswipkxtea\r\n');
    expect(await alice.cmd('C', `GETACL ${SHARED_INBOX}`)).toMatch(/C NO \[NOPERM\]/);
    const erin = await raw(ERIN);
    expect(await erin.cmd('A', `MYRIGHTS ${SHARED_INBOX}`)).toContain(`* MYRIGHTS ${SHARED_INBOX} lr\r\n`);
    const owner = await raw(INFO);
    expect(await owner.cmd('C', 'CAPABILITY')).toMatch(/ ACL .*RIGHTS=texk/);
    const acl = await owner.cmd('G', 'GETACL INBOX');
    expect(acl).toContain(`* ACL INBOX ${INFO} lrswipkxtea`);
    expect(await owner.cmd('L', `LISTRIGHTS INBOX ${BOB}`)).toContain(`* LISTRIGHTS INBOX ${BOB} "" lr s w ip k xte\r\n`);
    expect(await owner.cmd('M', `LISTRIGHTS INBOX ${INFO}`)).toContain(`* LISTRIGHTS INBOX ${INFO} lrswipkxtea\r\n`);
  });

  it('revokes within a second: the selected shared folder is closed, later commands get NOPERM, LIST forgets it', async () => {
    const bob = await raw(BOB);
    expect(await bob.cmd('S', `SELECT ${SHARED_INBOX}`)).toMatch(/S OK/);
    bob.send('I IDLE\r\n');
    await bob.until((b) => b.includes('+ idling'));
    bob.take();
    const t0 = Date.now();
    await revoke(BOB);
    const out = await bob.until((b) => b.includes('[CLOSED]'), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(out).toContain(`* NO [NOPERM] Access to ${SHARED_INBOX} was revoked\r\n* OK [CLOSED]`);
    bob.send('DONE\r\n');
    await bob.until((b) => /I OK/.test(b));
    bob.take();
    expect(await bob.cmd('F', 'FETCH 1 (FLAGS)')).toMatch(/F NO \[NOPERM\] Access to .* was revoked/);
    expect(await bob.cmd('S2', `SELECT ${SHARED_INBOX}`)).toMatch(/S2 NO \[NOPERM\]/);
    expect(await bob.cmd('L', 'LIST "" "*"')).not.toContain('Shared');
  });

  it('ends access when the shared mailbox is suspended', async () => {
    const alice = await raw(ALICE);
    expect(await alice.cmd('S', `SELECT ${SHARED_INBOX}`)).toMatch(/S OK/);
    const t0 = Date.now();
    await suspendMailbox(admin, deps, ids[INFO]!, { reason: 'test' });
    await alice.until((b) => b.includes('[CLOSED]'), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    alice.take();
    expect(await alice.cmd('L', 'LIST "" "*"')).not.toContain('Shared');
    await resumeMailbox(admin, deps, ids[INFO]!, { reason: 'test' });
    expect(await alice.cmd('M', 'LIST "" "Shared/*"')).toContain(SHARED_INBOX);
  });

  it('SETACL and DELETEACL change grants only when the tenant policy lets owners manage sharing, audited', async () => {
    const owner = await raw(INFO);
    expect(await owner.cmd('A', `SETACL INBOX ${CAROL} lrs`)).toMatch(/A NO \[NOPERM\]/);
    const alice = await raw(ALICE);
    expect(await alice.cmd('B', `SETACL ${SHARED_INBOX} ${CAROL} lrs`)).toMatch(/B NO \[NOPERM\]/);
    await updateAccessPolicy(admin, deps, tenantId, { ownersManageSharing: true, reason: 'owners share their mailboxes' });
    const carol = await raw(CAROL);
    expect(await owner.cmd('C', `SETACL INBOX ${CAROL} lrs`)).toMatch(/C OK/);
    expect(await carol.cmd('M', `MYRIGHTS ${SHARED_INBOX}`)).toContain(`* MYRIGHTS ${SHARED_INBOX} lrs\r\n`);
    expect(await owner.cmd('D', `SETACL INBOX ${CAROL} +w`)).toMatch(/D OK/);
    expect(await owner.cmd('G', 'GETACL INBOX')).toContain(`${CAROL} lrsw`);
    expect(await carol.cmd('N', `MYRIGHTS ${SHARED_INBOX}`)).toContain(' lrsw\r\n');
    const audited = await core.db.selectFrom('audit_events').select(['action', 'actor_id']).where('target_id', '=', ids[INFO]!).execute();
    expect(audited.filter((e) => e.actor_id === `mailbox:${ids[INFO]}`).length).toBeGreaterThanOrEqual(2);
    expect(await owner.cmd('E', `DELETEACL INBOX ${CAROL}`)).toMatch(/E OK/);
    expect(await carol.cmd('O', `MYRIGHTS ${SHARED_INBOX}`)).toMatch(/O NO \[NOPERM\]/);
    expect(await owner.cmd('F', `SETACL INBOX ${INFO} lr`)).toMatch(/F NO \[CANNOT\]/);
  });
});
