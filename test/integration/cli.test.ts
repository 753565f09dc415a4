/**
 * The operator CLI (`postern`, dist/scripts/cli.js) run as a child process against a real
 * appliance: every command group, human and --json output, --help, and the exit codes that tell
 * success (0) from an API refusal (1), a usage error (2) and an unreachable control plane (3).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance, OPERATOR_TOKEN } from '../helpers/appliance.js';
import { type CliRun, cliJson, runCli } from '../helpers/cli.js';
import { type DnsServer, startDnsServer } from '../helpers/dns.js';
import { freePorts } from '../helpers/ports.js';

let app: Appliance;
let dns: DnsServer;
let tmp: string;

type Run = CliRun;
const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(app, args, env);
const json = cliJson;

beforeAll(async () => {
  dns = await startDnsServer(['acme.test'], []);
  app = await Appliance.start({ env: { POSTERN_DNS_RESOLVER: dns.address, POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0' } });
  tmp = await mkdtemp(path.join(tmpdir(), 'postern-cli-'));
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await dns?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('help and usage', () => {
  it('--help lists every command; <command> --help lists its options', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of [
      'status',
      'tenants list',
      'tenants create <name>',
      'tenants required-addresses <tenant>',
      'domains create <domain>',
      'domains dns <domain>',
      'mailboxes create <address>',
      'mailboxes suspend',
      'mailboxes resume',
      'mailboxes ownership',
      'resets list',
      'resets approve',
      'audit verify',
      'audit export',
      'queue list',
    ]) {
      expect(top.stdout).toContain(`postern ${c}`);
    }
    expect(top.stdout).toContain('POSTERN_TOKEN');
    const create = await cli(['mailboxes', 'create', '--help']);
    expect(create.code).toBe(0);
    expect(create.stdout).toMatch(/--owner-name <value>.*\(required\)/);
    expect(create.stdout).toContain('--json');
    const group = await cli(['audit', '--help']);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain('postern audit export');
  });

  it.each([
    [[], 'Usage: postern'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['tenants'], 'needs a command'],
    [['tenants', 'create'], 'usage: postern tenants create <name>'],
    [['domains', 'create', 'x.test'], '--tenant is required'],
    [['tenants', 'list', '--colour'], "Unknown option '--colour'"],
  ])('usage error %j exits 2', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(message);
  });

  it('without POSTERN_TOKEN: exit 2 naming the variable', async () => {
    const r = await cli(['tenants', 'list'], { POSTERN_TOKEN: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('POSTERN_TOKEN is not set');
  });
});

describe('refusals and connection failures', () => {
  it('a wrong token: exit 1 with the API’s own error, in text and in --json', async () => {
    const r = await cli(['tenants', 'list'], { POSTERN_TOKEN: 'not-a-valid-token-000000000000' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 401\): /);
    const j = await cli(['tenants', 'list', '--json'], { POSTERN_TOKEN: 'not-a-valid-token-000000000000' });
    expect(j.code).toBe(1);
    expect(json(j)).toMatchObject({ status: 401, error: { code: expect.any(String), message: expect.any(String) } });
  });

  it('the README’s curl helper shows the API’s error body and fails (no KeyError, no silence)', async () => {
    const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    const helper = readme.match(/^api\(\) \{.*\}$/m)?.[0];
    expect(helper, 'the README defines api()').toBeTruthy();
    const run = (token: string) =>
      new Promise<Run>((resolve) =>
        execFile('bash', ['-c', `${helper}\napi ${app.url}/api/v1/tenants`], { env: { PATH: process.env.PATH!, POSTERN_TOKEN: token }, timeout: 20_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        ),
      );
    const bad = await run('not-a-valid-token-000000000000');
    expect(bad.code).toBe(22);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'Unauthorized' } });
    const good = await run(OPERATOR_TOKEN);
    expect(good.code).toBe(0);
    expect(Array.isArray(JSON.parse(good.stdout))).toBe(true);
  });

  it('nothing listening: exit 3', async () => {
    const [port] = await freePorts(1);
    const r = await cli(['status'], { POSTERN_API_URL: `http://127.0.0.1:${port}/api/v1` });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the control plane at http://127.0.0.1:${port}`);
  });
});

describe('an operator’s first hour, by the CLI', () => {
  it('status: ready, token accepted; the default API is this box’s control plane (POSTERN_HTTP_PORT)', async () => {
    const r = await cli(['status'], { POSTERN_API_URL: undefined, POSTERN_HTTP_PORT: String(app.ports.http), POSTERN_LISTEN_HOST: '127.0.0.1' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ready:\s+yes/);
    expect(r.stdout).toMatch(/database\s+ok/);
    const j = await cli(['status', '--json']);
    expect(json(j)).toMatchObject({ ready: true, token: { accepted: true } });
    const refused = await cli(['status'], { POSTERN_TOKEN: 'not-a-valid-token-000000000000' });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/token:\s+refused/);
  });

  it('tenants and domains by name, with the records to publish and a DNS check', async () => {
    const t = await cli(['tenants', 'create', 'Acme Ltd']);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('Tenant "Acme Ltd" created.');
    const list = await cli(['tenants', 'list']);
    expect(list.stdout).toMatch(/^TENANT\s+STATUS/m);
    expect(list.stdout).toMatch(/^Acme Ltd\s+active/m);
    expect(json(await cli(['tenants', 'list', '--json'])).map((x: { name: string }) => x.name)).toContain('Acme Ltd');

    const d = await cli(['domains', 'create', 'acme.test', '--tenant', 'Acme Ltd']);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('Domain acme.test added to tenant "Acme Ltd"');
    expect(d.stdout).toMatch(/^MX\s+acme\.test/m);
    const again = await cli(['domains', 'create', 'acme.test', '--tenant', 'Acme Ltd']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/HTTP 409\): .*acme\.test/);
    expect((await cli(['domains', 'create', 'x.test', '--tenant', 'Nobody Inc'])).stderr).toContain('tenant "Nobody Inc" not found');

    const dl = await cli(['domains', 'list']);
    expect(dl.stdout).toMatch(/^acme\.test\s+Acme Ltd\s+active/m);
    expect(dl.stdout).not.toMatch(/tnt_/);
    const zone = await cli(['domains', 'dns', 'acme.test', '--zone']);
    expect(zone.stdout).toMatch(/\bIN\s+MX\b/);

    // Nothing is published in the test's DNS server: the check says so and exits 1.
    const check = await cli(['domains', 'dns', 'acme.test', '--check']);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/DNS status:\s+failing/);
    expect(check.stdout).toMatch(/^missing\s+MX\s+acme\.test/m);
    const expected = json(await cli(['domains', 'dns', 'acme.test', '--json']));
    const mx = expected.records.find((r: { type: string }) => r.type === 'MX');
    await dns.setRecords([{ type: 'MX', name: 'acme.test', value: mx.value.split(' ')[1].replace(/\.$/, ''), priority: Number(mx.value.split(' ')[0]) }]);
    const checkJson = json(await cli(['domains', 'dns', 'acme.test', '--check', '--json']));
    expect(checkJson.records.find((r: { type: string }) => r.type === 'MX').status).toBe('ok');
  });

  it('tenants required-addresses: where postmaster@, abuse@ and the report address deliver, and choosing it', async () => {
    const shown = await cli(['tenants', 'required-addresses', 'Acme Ltd']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^chosen:\s+none \(the default applies\)/m);
    expect(shown.stdout).toMatch(/^ADDRESS\s+DELIVERS TO/m);
    expect(shown.stdout).toMatch(/^postmaster@acme\.test\s+\S+/m);
    expect(shown.stdout).toMatch(/^dmarc-reports@acme\.test\s+\S+/m);
    const before = json(await cli(['tenants', 'required-addresses', 'Acme Ltd', '--json']));
    expect(before).toMatchObject({ tenant: { name: 'Acme Ltd' }, chosen: null });
    expect(before.addresses.map((a: { address: string }) => a.address)).toEqual(['postmaster@acme.test', 'abuse@acme.test', 'dmarc-reports@acme.test']);

    const set = await cli(['tenants', 'required-addresses', 'Acme Ltd', '--set', 'hostmaster@acme-home.example', '--reason', 'agency desk reads these']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('Required addresses of "Acme Ltd" now deliver to hostmaster@acme-home.example.');
    expect(set.stdout).toMatch(/^abuse@acme\.test\s+hostmaster@acme-home\.example$/m);
    const after = json(await cli(['tenants', 'required-addresses', 'Acme Ltd', '--json']));
    expect(after).toMatchObject({ chosen: 'hostmaster@acme-home.example', effective: 'hostmaster@acme-home.example', source: 'tenant-choice' });
    // Refused by the API (not an address): exit 1 with its message; usage errors exit 2.
    const bad = await cli(['tenants', 'required-addresses', 'Acme Ltd', '--set', 'not an address']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/HTTP 400/);
    expect((await cli(['tenants', 'required-addresses', 'Acme Ltd', '--set', 'a@b.example', '--default'])).code).toBe(2);
    expect((await cli(['tenants', 'required-addresses', 'Nobody Inc'])).code).toBe(1);
    const back = json(await cli(['tenants', 'required-addresses', 'Acme Ltd', '--default', '--json']));
    expect(back).toMatchObject({ chosen: null, repointed: expect.arrayContaining(['postmaster@acme.test']) });
    expect(back.source).not.toBe('tenant-choice');
  });

  it('mailboxes by address: create prints the setup link; list, suspend, resume, ownership', async () => {
    const c = await cli(['mailboxes', 'create', 'alice@acme.test', '--owner-name', 'Alice Example', '--owner-email', 'alice@home.example']);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('Mailbox alice@acme.test created');
    const url = c.stdout.match(/^ {2}(http\S+)$/m)?.[1];
    expect(url).toMatch(new RegExp(`^${app.url}/setup/psu_`));
    // The link opens a page in the browser; its token is what the setup API takes.
    expect((await fetch(url!)).status).toBe(200);
    // Without a browser: the README's own curl command (its two lines, pointed at this appliance) sets it and says so.
    const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    const documented = readme.match(/^curl --fail-with-body -sS -H 'content-type: application\/json' -d '\{"password".*\\\n.*$/m)?.[0];
    expect(documented, 'the README documents the setup curl').toBeTruthy();
    const command = `LINK=${url}\n${documented!.replaceAll('http://127.0.0.1:8080', app.url)}`;
    const out = await new Promise<Run>((resolve) => execFile('bash', ['-c', command], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr })));
    expect(out.code, out.stderr + out.stdout).toBe(0);
    expect(out.stdout).toContain('password set: alice@acme.test is active');
    // The same command again: the used link's error is shown (and the command fails).
    const again = await new Promise<Run>((resolve) => execFile('bash', ['-c', command], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr })));
    expect(again.code).toBe(22);
    expect(again.stdout).toMatch(/already been used/);

    const dup = await cli(['mailboxes', 'create', 'alice@acme.test', '--owner-name', 'A', '--owner-email', 'a@home.example', '--json']);
    expect(dup.code).toBe(1);
    expect(json(dup)).toMatchObject({ status: 409 });

    const list = await cli(['mailboxes', 'list', '--domain', 'acme.test']);
    expect(list.stdout).toMatch(/^alice@acme\.test\s+Acme Ltd\s+active\s+Alice Example <alice@home\.example>/m);
    const s = await cli(['mailboxes', 'suspend', 'alice@acme.test', '--reason', 'laptop stolen']);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('alice@acme.test is now suspended');
    expect(json(await cli(['mailboxes', 'list', '--tenant', 'Acme Ltd', '--status', 'suspended', '--json']))).toHaveLength(1);
    const r = await cli(['mailboxes', 'resume', 'alice@acme.test', '--json']);
    expect(json(r)).toMatchObject({ address: 'alice@acme.test', status: 'active' });
    const missing = await cli(['mailboxes', 'suspend', 'bob@acme.test']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('mailbox bob@acme.test not found');

    const o = await cli(['mailboxes', 'ownership', 'alice@acme.test']);
    expect(o.code).toBe(0);
    expect(o.stdout).toMatch(/owner of record:\s+Alice Example <alice@home\.example>/);
    expect(o.stdout).toContain('admin-reset');
    expect(o.stdout).toMatch(/last change:\s+mailbox\.resume/);
    expect(json(await cli(['mailboxes', 'ownership', 'alice@acme.test', '--json']))).toMatchObject({ address: 'alice@acme.test', owner: { name: 'Alice Example' } });
  });

  it('resets: the approvers’ queue by mailbox address, approval by a second operator', async () => {
    const m = json(await cli(['mailboxes', 'list', '--domain', 'acme.test', '--json']))[0];
    await app.expectApi(
      'POST',
      `/api/v1/mailboxes/${m.id}/resets`,
      {
        kind: 'emergency',
        reason: 'phone and private mail account stolen',
        verification: { method: 'video-call', evidence: 'passport shown on a video call' },
        newResetDestination: 'alice.new@home.example',
      },
      201,
    );
    const queue = await cli(['resets', 'list', '--status', 'pending-approval']);
    expect(queue.code).toBe(0);
    expect(queue.stdout).toMatch(/^alice@acme\.test\s+Acme Ltd\s+emergency\s+pending-approval/m);
    const resetId = json(await cli(['resets', 'list', '--status', 'pending-approval', '--json']))[0].id;

    const self = await cli(['resets', 'approve', resetId]);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('cannot approve their own');

    const second = await app.expectApi<{ token: string }>('POST', '/api/v1/tokens', { name: 'second approver' }, 201);
    const ok = await cli(['resets', 'approve', resetId, '--note', 'checked with HR'], { POSTERN_TOKEN: second.token });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`Reset ${resetId} of alice@acme.test approved`);
  });

  it('audit: verify the chain, export as CSV to a file and as JSON lines to stdout', async () => {
    const v = await cli(['audit', 'verify']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^Audit chain intact: \d+ events verified\.$/m);
    expect(json(await cli(['audit', 'verify', '--json']))).toMatchObject({ ok: true });

    const file = path.join(tmp, 'audit.csv');
    const e = await cli(['audit', 'export', '--format', 'csv', '--tenant', 'Acme Ltd', '--out', file]);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/^\d+ audit events written to /);
    const csv = readFileSync(file, 'utf8').trim().split('\n');
    expect(csv.length).toBeGreaterThan(3);
    expect(csv.slice(1).join('\n')).toContain('mailbox.suspend');

    const lines = (await cli(['audit', 'export', '--action', 'mailbox.*', '--since', '2020-01-01T00:00:00Z'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.action)).toEqual(expect.arrayContaining(['mailbox.create', 'mailbox.suspend', 'mailbox.resume']));
    expect(lines.every((l) => l.action.startsWith('mailbox.'))).toBe(true);
    expect((await cli(['audit', 'export', '--since', 'yesterday'])).code).toBe(2);
  });

  it('queue: the outbound queue (the reset notices to home.example, which has no MX here) as a table and as JSON', async () => {
    const entries = json(await cli(['queue', 'list', '--json'])) as Array<{ recipients: string[]; attempts: number }>;
    expect(entries.flatMap((e) => e.recipients)).toContain('alice.new@home.example');
    const q = await cli(['queue']);
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/^FROM\s+TO\s+TENANT\s+AGE\s+ATTEMPTS\s+NEXT ATTEMPT\s+LAST ERROR$/m);
    expect(q.stdout).toMatch(/alice\.new@home\.example/);
    expect(q.stdout.trim().split('\n')).toHaveLength(entries.length + 1);
    expect(json(await cli(['queue', '--domain', 'nowhere.example', '--json']))).toEqual([]);
  });
});
