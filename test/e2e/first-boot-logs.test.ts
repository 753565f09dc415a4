/**
 * What an operator reads in `docker logs` on the first boot (stdout is not a terminal, so log
 * lines are JSON): the first-operator command is also printed as a plain line that works when
 * pasted into a shell, the 503s /readyz answers while the appliance boots are not errors, and
 * healthy probes (Docker’s health check every 30 s) do not fill the log.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';

let app: Appliance;

beforeAll(async () => {
  // No bootstrap token: the first boot of an empty data dir issues a one-time setup link.
  app = await Appliance.start({ env: { POSTERN_BOOTSTRAP_TOKEN: '' } });
}, 60_000);

afterAll(async () => {
  await app?.stop();
});

async function waitFor<T>(probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not seen in the logs:\n${app.logs.join('').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const jsonLines = () =>
  app.logs
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('first boot, logs not on a terminal', () => {
  it('prints the setup command as a plain line that works when pasted into a shell', async () => {
    const line = await waitFor(() => app.logs.join('').match(/^ {2}(curl .*)$/m)?.[1]);
    expect(line).toContain(`${app.url}/api/v1/operator-setup/psu_`);
    expect(line).not.toContain('\\"');

    // The JSON line carries the same command in a field; its message is a fixed text.
    const structured = jsonLines().find((l) => l.event === 'operator.setup_link')!;
    expect(structured.curl).toBe(line);
    expect(structured.level).toBe(40);
    expect(String(structured.msg)).not.toContain('curl');

    const out = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', line], { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}${stdout}`)) : resolve(stdout))),
    );
    const created = JSON.parse(out) as { token: string; name: string };
    expect(created).toMatchObject({ name: 'first operator', token: expect.stringMatching(/^pst_/) });
    expect((await app.api('GET', '/api/v1/tenants', undefined, created.token)).status).toBe(200);

    // Pasted a second time, the used link fails loudly with the API's reason (--fail-with-body).
    const again = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile('bash', ['-c', line], { timeout: 10_000 }, (err, stdout) => resolve({ code: err ? Number(err.code) : 0, out: stdout })),
    );
    expect(again.code).toBe(22);
    expect(JSON.parse(again.out)).toMatchObject({ error: { message: expect.any(String) } });
  });

  it('answers /readyz with 503 while booting and logs those answers below error level; healthy probes stay quiet', async () => {
    const readyz = jsonLines().filter((l) => l.event === 'control.request' && l.route === '/readyz');
    const notReady = readyz.filter((l) => l.status === 503);
    expect(notReady.length).toBeGreaterThan(0); // the helper polls /readyz from the first moment
    for (const l of notReady) expect(l.level).toBe(30);
    // Ready answers (Docker's health check, every 30 s) are debug lines: not in an info-level log.
    expect((await app.readyz()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(jsonLines().filter((l) => l.event === 'control.request' && l.route === '/readyz' && l.status === 200)).toEqual([]);
    // Other 5xx stay errors: nothing here was one.
    expect(jsonLines().filter((l) => Number(l.level) >= 50)).toEqual([]);
  });
});
