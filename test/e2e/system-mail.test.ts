/**
 * Mail the appliance sends itself (setup and reset links): external recipients through Haraka's
 * outbound queue (appliance → Haraka RPC), hosted recipients through the one ingest path.
 * Boots the compiled appliance in this process to reach its mailer directly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer } from '../helpers/dns.js';
import { freePorts } from '../helpers/ports.js';
import { type Sink, startSink } from '../helpers/sink.js';
import { findStored } from '../helpers/stored.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dist = require(path.resolve(__dirname, '../../dist/appliance/main.js')) as typeof import('../../appliance/main.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadConfig } = require(path.resolve(__dirname, '../../dist/appliance/config.js')) as typeof import('../../appliance/config.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createLogger } = require(path.resolve(__dirname, '../../dist/appliance/logger.js')) as typeof import('../../appliance/logger.js');

describe('system mail', () => {
  let dataDir: string;
  let sink: Sink;
  let dns: DnsServer;
  let appliance: Awaited<ReturnType<typeof dist.boot>>;

  beforeAll(async () => {
    sink = await startSink();
    dns = await startDnsServer(
      ['test'],
      [
        { type: 'MX', name: 'home.test', value: 'mx.home.test' },
        { type: 'A', name: 'mx.home.test', value: '127.0.0.1' },
      ],
    );
    dataDir = await mkdtemp(path.join(tmpdir(), 'postern-sysmail-'));
    const [smtp, submission, submissions, imap, imaps, http] = await freePorts(6);
    const config = loadConfig({
      POSTERN_DATA_DIR: dataDir,
      POSTERN_HOSTNAME: 'mx.postern.test',
      POSTERN_SMTP_PORT: String(smtp),
      POSTERN_SUBMISSION_PORT: String(submission),
      POSTERN_SUBMISSIONS_PORT: String(submissions),
      POSTERN_IMAP_PORT: String(imap),
      POSTERN_IMAPS_PORT: String(imaps),
      POSTERN_HTTP_PORT: String(http),
      POSTERN_DNS_RESOLVER: dns.address,
      POSTERN_OUTBOUND_PORT: String(sink.port),
      POSTERN_LOG_LEVEL: 'warn',
      POSTERN_BOOTSTRAP_TOKEN: 'test-operator-token-0123456789abcdef',
    });
    appliance = await dist.boot(config, createLogger('warn', { pretty: false }));
    await appliance.supervisor.waitListening(30_000);
  });

  afterAll(async () => {
    await appliance?.stop();
    await Promise.all([sink?.close(), dns?.stop()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('queues mail to an external address in Haraka and delivers it, UTF-8 subject and body intact', async () => {
    const r = await appliance.mailer.sendMail({ to: 'owner@home.test', subject: 'Set up your mailbox – Grüße', text: 'Open this link once:\nhttps://example.invalid/setup/abc\n' });
    expect(r.delivery).toBe('queued');
    const got = await sink.waitFor((m) => m.to.includes('owner@home.test'));
    expect(got.from).toBe('');
    expect(got.raw).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(got.raw).toMatch(/^Auto-Submitted: auto-generated/m);
    const body = Buffer.from(got.raw.split('\r\n\r\n')[1]!.replace(/\s+/g, ''), 'base64').toString('utf8');
    expect(body).toContain('https://example.invalid/setup/abc');
  });

  it('stores mail to a hosted address through the ingest path', async () => {
    const db = appliance.db;
    const now = Date.now();
    await db.insertInto('tenants').values({ id: 'tnt_sys', name: 'Sys', created_at: now, updated_at: now }).execute();
    await db.insertInto('domains').values({ id: 'dom_sys', tenant_id: 'tnt_sys', name: 'hosted.test', created_at: now, updated_at: now }).execute();
    await db
      .insertInto('mailboxes')
      .values({
        id: 'mbx_sys',
        tenant_id: 'tnt_sys',
        domain_id: 'dom_sys',
        local_part: 'it',
        address: 'it@hosted.test',
        status: 'active',
        quota_bytes: 1e9,
        owner_name: 'IT',
        owner_email: 'it.lead@home.test',
        reset_destination: 'it.lead@home.test',
        created_at: now,
        updated_at: now,
      })
      .execute();
    const { createDefaultFolders } = await import('../../appliance/mailstore/folders.js');
    await createDefaultFolders(db, 'mbx_sys', now);
    const r = await appliance.mailer.sendMail({ to: 'it@hosted.test', subject: 'local notice', text: 'hello' });
    expect(r.delivery).toBe('local');
    expect(findStored(dataDir, 'it@hosted.test', 'Subject: local notice', 'INBOX')).toBeDefined();
  });
});
