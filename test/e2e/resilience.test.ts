/**
 * The process model under failure: Haraka killed (the supervisor restarts it, /readyz tells),
 * the whole appliance SIGKILLed right after a 250 (nothing acknowledged is lost), no orphans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { findStored } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';
import { alive } from '../helpers/process.js';

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('process model and durability', () => {
  let app: Appliance;

  beforeAll(async () => {
    app = await Appliance.start();
    await app.provisionMailbox('durable@crash.test');
  });
  afterAll(async () => app?.stop());

  it('reports 503 naming the MTA while Haraka is down, and 200 once the supervisor restarted it', async () => {
    const [haraka] = app.childPids();
    expect(haraka).toBeGreaterThan(0);
    process.kill(haraka!, 'SIGKILL');
    const down = await waitFor(
      async () => {
        const r = await app.readyz();
        return r.status === 503 ? r : undefined;
      },
      5_000,
      '/readyz 503',
    );
    expect(down.body.failing).toContain('mta');
    await waitFor(async () => ((await app.readyz()).status === 200 ? true : undefined), 20_000, '/readyz 200');
    const [restarted] = app.childPids();
    expect(restarted).not.toBe(haraka);
    const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'x@elsewhere.test', '--to', 'durable@crash.test', '--header', 'Subject: after-restart']);
    expect(r.exitCode, r.output).toBe(0);
  });

  it('loses nothing acknowledged with 250 when the appliance is SIGKILLed right after, and leaves no orphan', async () => {
    const subjects = Array.from({ length: 5 }, (_, i) => `crash-${i}-${Date.now()}`);
    const acks = await Promise.all(subjects.map((s) => swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'x@elsewhere.test', '--to', 'durable@crash.test', '--header', `Subject: ${s}`])));
    const haraka = app.childPids();
    await app.kill('SIGKILL');
    for (const a of acks) expect(a.replies.at(-2), a.output).toMatch(/^250 /);
    // The Haraka child notices the closed IPC channel and exits by itself.
    await waitFor(() => (haraka.every((p) => !alive(p)) ? true : undefined), 5_000, 'Haraka child to exit');
    await app.restart();
    for (const s of subjects) expect(findStored(app.dataDir, 'durable@crash.test', `Subject: ${s}`), s).toBeDefined();
  });

  it('shuts down cleanly on SIGTERM, Haraka included', async () => {
    const haraka = app.childPids();
    expect(haraka.length).toBe(1);
    const pid = app.pid;
    await app.kill('SIGTERM');
    expect(alive(pid)).toBe(false);
    await waitFor(() => (haraka.every((p) => !alive(p)) ? true : undefined), 2_000, 'Haraka to stop');
    await app.restart();
  });
});
