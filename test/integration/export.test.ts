/**
 * Exports read back by tools we did not write: the archive is unpacked by GNU tar and the mail
 * read by Python's mailbox module (mbox and Maildir). Messages, bytes and flags must match
 * what the store holds; the control data and the audit event are there; another tenant's
 * mailbox or tenant is a 404.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

const READER = path.join(__dirname, '..', 'helpers', 'read_mailbox.py');

let t: TestApp;
let store: SqlMailStore;
let a: { tenantId: string; domainId: string; token: string };
let b: { tenantId: string; domainId: string; token: string };
let alice: { id: string; address: string };
let bob: { id: string; address: string };

interface Sample {
  folder: string;
  raw: Buffer;
  flags: string[];
  date: number;
}

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');
const SAMPLES: Sample[] = [
  {
    folder: 'INBOX',
    raw: crlf('From: a@example.org\nTo: alice@export.example\nSubject: plain\n\nhello\nFrom the start of a line\n>From quoted already\n>>From twice\n'),
    flags: ['\\Seen'],
    date: Date.UTC(2025, 0, 2, 3, 4, 5),
  },
  { folder: 'INBOX', raw: crlf('From: b@example.org\nSubject: flagged and answered\n\nbody\n'), flags: ['\\Flagged', '\\Answered', '$Label1'], date: Date.UTC(2025, 5, 1) },
  {
    folder: 'INBOX',
    raw: Buffer.concat([crlf('From: c@example.org\nSubject: 8bit\nContent-Type: text/plain; charset=utf-8\n\n'), Buffer.from('Grüße — ünïcödé\r\nno final newline', 'utf8')]),
    flags: [],
    date: Date.UTC(2024, 11, 31, 23, 59, 59),
  },
  { folder: 'Sent', raw: crlf('From: alice@export.example\nTo: x@example.org\nSubject: sent\n\nsent body\n'), flags: ['\\Seen', '\\Draft'], date: Date.UTC(2025, 2, 3) },
  { folder: 'Projects/2026', raw: crlf('From: d@example.org\nSubject: nested\n\nFrom here on\n'), flags: ['\\Seen', '\\Deleted'], date: Date.UTC(2025, 7, 8) },
];

beforeAll(async () => {
  t = await createTestApp({
    mailStore: async (db, dir) => {
      store = new SqlMailStore({ db, blobs: await FileBlobStore.open(path.join(dir, 'blobs')), maxMessageBytes: 10_000_000 });
      return store;
    },
  });
  a = await provisionTenant(t, 'Export Co', 'export.example');
  b = await provisionTenant(t, 'Other Co', 'other.example');
  alice = await provisionMailbox(t, a.domainId, 'alice');
  bob = await provisionMailbox(t, a.domainId, 'bob');
  await store.createFolder(alice.id, 'Projects');
  await store.createFolder(alice.id, 'Projects/2026');
  for (const s of SAMPLES) await store.append(alice.id, s.folder, s.raw, { flags: s.flags, internalDate: s.date });
  expect((await t.call('POST', `/api/v1/domains/${a.domainId}/aliases`, { body: { localPart: 'info', targets: [alice.address] } })).status).toBe(201);
});
afterAll(async () => t.close());

async function download(url: string, token?: string): Promise<{ dir: string; res: Awaited<ReturnType<TestApp['app']['inject']>> }> {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token ?? t.operatorToken}` } });
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-export-'));
  if (res.statusCode === 200) {
    writeFileSync(path.join(dir, 'x.tar'), res.rawPayload);
    execFileSync('tar', ['-xf', 'x.tar'], { cwd: dir });
  }
  return { dir, res };
}

const python = (...args: string[]) =>
  JSON.parse(execFileSync('python3', [READER, ...args], { encoding: 'utf8' })) as Record<string, Array<{ flags: string; bytes: string; subdir?: string; date?: number; from?: string }>>;

/** mboxrd unquoting, and the flag lines the export adds at the top of each message. */
function mboxOriginal(b64: string): Buffer {
  let text = Buffer.from(b64, 'base64').toString('latin1');
  text = text.replace(/^(Status: [RO]*\n)(X-Status: [AFTD]*\n)?(X-Keywords: [^\n]*\n)?/, '');
  text = text.replace(/^>(>*From )/gm, '$1');
  return Buffer.from(text, 'latin1');
}

const expectedMboxFlags = (f: string[]) =>
  `${f.includes('\\Seen') ? 'R' : ''}O${f.includes('\\Deleted') ? 'D' : ''}${f.includes('\\Flagged') ? 'F' : ''}${f.includes('\\Answered') ? 'A' : ''}${f.includes('\\Draft') ? 'T' : ''}`;
const sortChars = (s: string) => [...s].sort().join('');
const withNewline = (b: Buffer) => (b[b.length - 1] === 0x0a ? b : Buffer.concat([b, Buffer.from('\n')]));

describe('GET /api/v1/mailboxes/{id}/export', () => {
  it('mbox: one mboxrd file per folder that Python reads back with the same bytes and flags', async () => {
    const { dir, res } = await download(`/api/v1/mailboxes/${alice.id}/export?format=mbox`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-tar');
    expect(res.headers['x-export-messages']).toBe('5');
    const base = path.join(dir, 'alice@export.example');
    const files = ['INBOX', 'Sent', 'Projects/2026'].map((f) => path.join(base, 'mbox', `${f}.mbox`));
    const read = python('mbox', ...files);
    for (const [i, folder] of ['INBOX', 'Sent', 'Projects/2026'].entries()) {
      const want = SAMPLES.filter((s) => s.folder === folder);
      const got = read[files[i]!]!;
      expect(got.length, folder).toBe(want.length);
      for (const [j, s] of want.entries()) {
        // A message without a final newline gets one (an mbox message ends with a line).
        expect(mboxOriginal(got[j]!.bytes).equals(withNewline(s.raw)), `${folder} #${j}`).toBe(true);
        expect(sortChars(got[j]!.flags)).toBe(sortChars(expectedMboxFlags(s.flags)));
        expect(got[j]!.from).toMatch(/^MAILER-DAEMON \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
      }
    }
    // The empty folders are there too (empty files).
    expect(readFileSync(path.join(base, 'mbox', 'Drafts.mbox')).length).toBe(0);
    const control = JSON.parse(readFileSync(path.join(base, 'control.json'), 'utf8'));
    expect(control.mailbox.address).toBe('alice@export.example');
    expect(control.ownership).toBeTruthy();
    expect(control.aliases.map((x: { address: string }) => x.address)).toEqual(['info@export.example']);
    expect(control.audit.events.some((e: { action: string }) => e.action === 'mailbox.export')).toBe(true);
    const messages = JSON.parse(readFileSync(path.join(base, 'messages.json'), 'utf8'));
    expect(messages.messages).toHaveLength(5);
  });

  it('maildir: Maildir++ that Python reads back with identical bytes, flags and dates', async () => {
    const { dir, res } = await download(`/api/v1/mailboxes/${alice.id}/export?format=maildir`);
    expect(res.statusCode).toBe(200);
    const root = path.join(dir, 'alice@export.example', 'Maildir');
    const read = python('maildir', root);
    const map: Record<string, string> = { INBOX: 'INBOX', Sent: 'Sent', 'Projects/2026': 'Projects.2026' };
    for (const folder of ['INBOX', 'Sent', 'Projects/2026']) {
      const want = SAMPLES.filter((s) => s.folder === folder);
      const got = [...read[map[folder]!]!].sort((x, y) => x.date! - y.date!);
      const sorted = [...want].sort((x, y) => x.date - y.date);
      expect(got.length, folder).toBe(want.length);
      for (const [j, s] of sorted.entries()) {
        expect(Buffer.from(got[j]!.bytes, 'base64').equals(s.raw), `${folder} #${j}`).toBe(true);
        const f = s.flags;
        const flags = `${f.includes('\\Draft') ? 'D' : ''}${f.includes('\\Flagged') ? 'F' : ''}${f.includes('\\Answered') ? 'R' : ''}${f.includes('\\Seen') ? 'S' : ''}${f.includes('\\Deleted') ? 'T' : ''}`;
        expect(got[j]!.flags).toBe(flags);
        expect(got[j]!.subdir).toBe('cur');
        expect(got[j]!.date).toBe(Math.floor(s.date / 1000));
      }
    }
    // Every folder of the mailbox is a Maildir++ folder ("A/B" is ".A.B").
    const folders = (await store.listFolders(alice.id)).map((f) => f.name.replace(/\//g, '.'));
    expect(Object.keys(read).sort()).toEqual(folders.sort());
  });

  it("is audited with the format and size, and another tenant's mailbox is a 404", async () => {
    const events = await t.call('GET', `/api/v1/audit/events?action=mailbox.export&targetId=${alice.id}`);
    expect(events.body.length).toBeGreaterThanOrEqual(2);
    expect(events.body.at(-1).after).toMatchObject({ format: 'maildir', messages: 5, folders: expect.any(Number) });
    const other = await t.call('GET', `/api/v1/mailboxes/${alice.id}/export`, { token: b.token });
    expect(other.status).toBe(404);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/export`, { token: b.token })).status).toBe(404);
    const own = await download(`/api/v1/mailboxes/${alice.id}/export`, a.token);
    expect(own.res.statusCode).toBe(200);
  });
});

describe('GET /api/v1/tenants/{id}/export', () => {
  it('holds tenant.json and every mailbox of the tenant', async () => {
    const { dir, res } = await download(`/api/v1/tenants/${a.tenantId}/export?format=maildir`);
    expect(res.statusCode).toBe(200);
    const tenant = JSON.parse(readFileSync(path.join(dir, 'tenant.json'), 'utf8'));
    expect(tenant.tenant.name).toBe('Export Co');
    expect(tenant.mailboxes.map((m: { mailbox: { address: string } }) => m.mailbox.address).sort()).toEqual(['alice@export.example', 'bob@export.example']);
    expect(tenant.aliases.map((x: { address: string }) => x.address)).toContain('info@export.example');
    expect(readdirSync(dir).sort()).toEqual(['alice@export.example', 'bob@export.example', 'tenant.json', 'x.tar']);
    expect(python('maildir', path.join(dir, 'alice@export.example', 'Maildir')).INBOX).toHaveLength(3);
  });
});

describe('offboarding: export before delete', () => {
  it('the plan offers the export; apply with exportBeforeDelete refuses until the mailbox was exported, then records it', async () => {
    const plan = await t.call('POST', `/api/v1/mailboxes/${bob.id}/offboarding/plan`, { body: { exportBeforeDelete: true } });
    expect(plan.status).toBe(200);
    expect(plan.body.export).toEqual({ requested: true, url: `/api/v1/mailboxes/${bob.id}/export?format=mbox`, lastExportAt: null });
    const refused = await t.call('POST', `/api/v1/mailboxes/${bob.id}/offboarding/apply`, { body: { reason: 'left the company', exportBeforeDelete: true } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/export before delete: no export of bob@export.example/);

    const { res } = await download(`/api/v1/mailboxes/${bob.id}/export?format=mbox`);
    expect(res.statusCode).toBe(200);
    const replanned = await t.call('POST', `/api/v1/mailboxes/${bob.id}/offboarding/plan`, { body: { exportBeforeDelete: true } });
    expect(replanned.body.export.lastExportAt).toEqual(expect.any(String));
    const applied = await t.call('POST', `/api/v1/mailboxes/${bob.id}/offboarding/apply`, { body: { reason: 'left the company', exportBeforeDelete: true } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.offboarding.exportedBeforeDelete).toBe(replanned.body.export.lastExportAt);
    const events = await t.call('GET', `/api/v1/audit/events?action=offboarding.apply&targetId=${bob.id}`);
    expect(events.body[0].after.exportedBeforeDelete).toBe(replanned.body.export.lastExportAt);
  });
});
