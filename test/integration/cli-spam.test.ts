/**
 * `postern spam …` (issue 15) run as a child process against a real appliance (scanner off, as
 * in every test appliance: policy and lists do not need it): the policy of a tenant and a
 * domain's override by name, lists of a tenant and of a mailbox by address, and the spam counts
 * of /stats/mail, with the exit codes 0/1/2. A block entry added by the CLI refuses a real SMTP
 * sender; the unscanned delivery shows up in `postern spam stats`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { type DnsServer, startDnsServer } from '../helpers/dns.js';
import { swaks } from '../helpers/swaks.js';

let app: Appliance;
let dns: DnsServer;
let tenantName: string;

const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(app, args, env);
const json = cliJson;

beforeAll(async () => {
  dns = await startDnsServer(['spamcli.test', 'other.test'], []);
  app = await Appliance.start({ env: { POSTERN_DNS_RESOLVER: dns.address, POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0' } });
  await app.provisionMailbox('carol@spamcli.test');
  await app.ensureDomain('other.test');
  tenantName = (await app.expectApi<{ name: string }>('GET', `/api/v1/tenants/${app.tenantId}`, undefined, 200)).name;
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await dns?.stop();
});

describe('postern spam', () => {
  it('is listed in help with its commands', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['spam policy <tenant>', 'spam lists <tenant|address>', 'spam stats']) expect(top.stdout).toContain(`postern ${c}`);
    const help = await cli(['spam', 'policy', '--help']);
    expect(help.stdout).toMatch(/--set <value>\s+junk=<score>,reject=<score>,greylisting=on\|off,failmode=tempfail\|accept/);
  });

  it('policy: shown by tenant name, changed with --set (audited with the reason), overridden and reset per domain', async () => {
    const shown = await cli(['spam', 'policy', tenantName]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/in force from:\s+appliance defaults/);
    expect(shown.stdout).not.toMatch(/tnt_/);

    const set = await cli(['spam', 'policy', tenantName, '--set', 'junk=4.5,reject=12,greylisting=off,failmode=accept', '--reason', 'tuning after complaints']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`Spam policy of tenant "${tenantName}" updated.`);
    expect(set.stdout).toMatch(/junk score:\s+4\.5 /);
    expect(set.stdout).toMatch(/reject score:\s+12 /);
    expect(set.stdout).toMatch(/greylisting:\s+off/);
    expect(set.stdout).toMatch(/scanner down:\s+accept/);
    // What the API now holds; an unnamed field keeps its value.
    const api = await app.expectApi<Record<string, unknown>>('GET', `/api/v1/tenants/${app.tenantId}/spam-policy`, undefined, 200);
    expect(api).toMatchObject({ scope: 'tenant', junkScore: 4.5, rejectScore: 12, greylisting: false, failMode: 'accept' });
    const partial = json(await cli(['spam', 'policy', tenantName, '--set', 'reject=20', '--json']));
    expect(partial).toMatchObject({ junkScore: 4.5, rejectScore: 20, failMode: 'accept', tenant: tenantName });
    const audit = await app.expectApi<Array<{ action: string; reason: string | null }>>('GET', `/api/v1/audit/events?tenantId=${app.tenantId}&limit=200`, undefined, 200);
    expect(JSON.stringify(audit)).toContain('tuning after complaints');

    // A domain follows its tenant until overridden; --reset returns it.
    expect(json(await cli(['spam', 'policy', tenantName, '--domain', 'other.test', '--json']))).toMatchObject({ overridden: false, rejectScore: 20, domain: 'other.test' });
    const over = await cli(['spam', 'policy', tenantName, '--domain', 'other.test', '--set', 'greylisting=on,junk=3']);
    expect(over.code, over.stderr).toBe(0);
    expect(over.stdout).toMatch(/in force from:\s+override for domain other\.test/);
    expect(json(await cli(['spam', 'policy', tenantName, '--json']))).toMatchObject({ junkScore: 4.5, greylisting: false });
    const reset = await cli(['spam', 'policy', tenantName, '--domain', 'other.test', '--reset', '--reason', 'back to normal']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain('follows tenant');
    expect(json(await cli(['spam', 'policy', tenantName, '--domain', 'other.test', '--json']))).toMatchObject({ overridden: false, junkScore: 4.5, greylisting: false });
  });

  it.each([
    [['spam', 'policy', 'x', '--set', 'junk=lots'], 'junk=lots: not a number'],
    [['spam', 'policy', 'x', '--set', 'colour=red'], 'unknown key "colour"'],
    [['spam', 'policy', 'x', '--set', 'failmode=maybe'], 'use tempfail or accept'],
    [['spam', 'policy', 'x', '--reset'], 'needs --domain'],
    [['spam', 'lists'], 'usage: postern spam lists <tenant|address>'],
    [['spam', 'lists', 'x', '--allow', 'a@b.test', '--block', 'c@d.test'], 'one of --allow, --block or --remove'],
    [['spam', 'stats', '--hours', '99'], '--hours: a whole number from 1 to 48'],
    [['spam', 'lists', 'x', '--remove', 'a@b.test', '--reason', 'why'], '--reason goes with --allow or --block'],
  ])('usage error %j exits 2', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('refusals exit 1: an unknown tenant, a domain of no such tenant, a value the API rejects, a duplicate', async () => {
    expect((await cli(['spam', 'policy', 'Nobody Inc'])).stderr).toContain('tenant "Nobody Inc" not found');
    const other = await app.expectApi<{ id: string; name: string }>('POST', '/api/v1/tenants', { name: 'Other Co' }, 201);
    const wrong = await cli(['spam', 'policy', other.name, '--domain', 'other.test']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('does not belong to tenant "Other Co"');
    const bad = await cli(['spam', 'policy', tenantName, '--set', 'junk=5000']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/HTTP 400\)/);
    expect((await cli(['spam', 'lists', tenantName, '--block', 'dup@spammer.test'])).code).toBe(0);
    const dup = await cli(['spam', 'lists', tenantName, '--block', 'dup@spammer.test', '--json']);
    expect(dup.code).toBe(1);
    expect(json(dup)).toMatchObject({ status: 409 });
    expect((await cli(['spam', 'lists', tenantName, '--remove', 'dup@spammer.test'])).code).toBe(0);
    expect((await cli(['spam', 'lists', tenantName, '--remove', 'dup@spammer.test'])).code).toBe(1);
  });

  it('lists: a tenant by name and a mailbox by address; a block added here refuses that sender over SMTP; --remove by value or id', async () => {
    const add = await cli(['spam', 'lists', 'carol@spamcli.test', '--block', 'pest@nuisance.test', '--reason', 'keeps writing']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('Added to the block list of mailbox carol@spamcli.test: pest@nuisance.test (address)');
    const allow = json(await cli(['spam', 'lists', tenantName, '--allow', '192.0.2.0/24', '--json']));
    expect(allow).toMatchObject({ kind: 'allow', value: '192.0.2.0/24', valueType: 'ip', mailboxId: null });

    const mine = await cli(['spam', 'lists', 'carol@spamcli.test']);
    expect(mine.stdout).toContain('Spam lists of mailbox carol@spamcli.test');
    expect(mine.stdout).toMatch(/^block\s+pest@nuisance\.test\s+address\s+keeps writing/m);
    expect(mine.stdout).not.toContain('192.0.2.0/24'); // the tenant's entries are listed with the tenant
    const tenantWide = await cli(['spam', 'lists', tenantName]);
    expect(tenantWide.stdout).toMatch(/^allow\s+192\.0\.2\.0\/24\s+ip/m);
    expect(tenantWide.stdout).not.toContain('pest@nuisance.test');

    const refused = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'pest@nuisance.test', '--to', 'carol@spamcli.test', '--quit-after', 'RCPT']);
    expect(refused.replies.at(-2), refused.output).toMatch(/^550 5\.7\.1 /);

    expect((await cli(['spam', 'lists', 'carol@spamcli.test', '--remove', 'PEST@nuisance.test'])).code).toBe(0);
    const accepted = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'pest@nuisance.test', '--to', 'carol@spamcli.test', '--quit-after', 'RCPT']);
    expect(accepted.replies.at(-2), accepted.output).toMatch(/^250 /);
    const removed = await cli(['spam', 'lists', tenantName, '--remove', allow.id, '--json']);
    expect(json(removed)).toMatchObject({ removed: { id: allow.id } });
    expect((await cli(['spam', 'lists', tenantName])).stdout.trim()).toMatch(/\(none\)$/);
  });

  it('stats: the spam counts of /stats/mail, whole appliance and per tenant (an unscanned delivery counts; the blocked sender above counts as rejected)', async () => {
    const sent = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'someone@elsewhere.test', '--to', 'carol@spamcli.test', '--header', 'Subject: counted']);
    expect(sent.replies.at(-2), sent.output).toMatch(/^250 /);
    // The MTA reports the outcome asynchronously after the 250: wait for the count.
    let stats: any;
    for (let i = 0; i < 50; i++) {
      const r = await cli(['spam', 'stats', '--tenant', tenantName, '--json']);
      expect(r.code, r.stderr).toBe(0);
      stats = json(r);
      if (stats.lastHour.unscanned >= 1 && stats.lastHour.rejected >= 1) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(stats).toMatchObject({ scope: 'tenant', tenant: tenantName, lastHour: { unscanned: 1, scanned: 0, junked: 0, rejected: 1, greylisted: 0 }, lastDay: { unscanned: 1 } });
    const human = await cli(['spam', 'stats', '--hours', '2']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^PERIOD\s+SCANNED\s+JUNKED\s+REJECTED\s+GREYLISTED\s+UNSCANNED$/m);
    expect(human.stdout).toMatch(/^last hour\s+0\s+0\s+1\s+0\s+1$/m);
    expect(human.stdout).toMatch(/^hour from \d{4}-\d\d-\d\d \d\d:00 UTC\s+0\s+0\s+1\s+0\s+1$/m);
    const otherTenant = json(await cli(['spam', 'stats', '--tenant', 'Other Co', '--json']));
    expect(otherTenant.lastDay.unscanned).toBe(0);
  });
});
