/**
 * IMAP end to end on the real appliance: an imapflow session IDLEs on INBOX while swaks
 * delivers through Haraka (a separate process); the EXISTS arrives within one second of the
 * 250. Suspending the mailbox through the API closes the IDLE session with BYE within a second.
 */
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { swaks } from '../helpers/swaks.js';

const ADDRESS = 'idler@imap-e2e.test';
const PASSWORD = 'Sturdy-Passw0rd!';

describe('IMAP on the running appliance', () => {
  let app: Appliance;
  let mailboxId: string;

  beforeAll(async () => {
    app = await Appliance.start();
    mailboxId = (await app.provisionMailbox(ADDRESS, PASSWORD)).id;
  });
  afterAll(async () => app?.stop());

  const client = () => new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user: ADDRESS, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });

  it('delivers to an IDLE session within one second of the SMTP 250', async () => {
    const c = client();
    await c.connect();
    await c.mailboxOpen('INBOX');
    const before = c.mailbox ? c.mailbox.exists : 0;
    let seenAt = 0;
    const exists = new Promise<number>((resolve) =>
      c.on('exists', (d: { count: number }) => {
        seenAt = Date.now();
        resolve(d.count);
      }),
    );
    const idle = c.idle();
    await new Promise((r) => setTimeout(r, 300));
    const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'sender@elsewhere.test', '--to', ADDRESS, '--header', 'Subject: idle-e2e']);
    const ackedAt = Date.now();
    expect(r.exitCode, r.output).toBe(0);
    const count = await Promise.race([exists, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('no EXISTS within 1 s')), 1000))]);
    expect(count).toBe(before + 1);
    expect(seenAt - ackedAt).toBeLessThan(1000);
    const msg = await c.fetchOne('*', { envelope: true });
    expect(msg && msg.envelope?.subject).toBe('idle-e2e');
    await c.logout();
    await idle.catch(() => undefined);
  });

  it('closes an IDLE session with BYE within one second of suspension', async () => {
    const c = client();
    await c.connect();
    await c.mailboxOpen('INBOX');
    const closed = new Promise<number>((resolve) => c.on('close', () => resolve(Date.now())));
    void c.idle().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const res = await app.api('POST', `/api/v1/mailboxes/${mailboxId}/suspend`, { reason: 'e2e test' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const at = await Promise.race([closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('not closed within 1 s')), 1500))]);
    expect(at - t0).toBeLessThan(1000);
    await expect(client().connect()).rejects.toThrow();
  });
});
