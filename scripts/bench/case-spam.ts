/**
 * Inbound with spam scanning on both sides (issue 15): Postern with its own rspamd + redis
 * (scanning over rspamd's HTTP protocol from the Haraka plugin) beside Postfix → Dovecot with
 * an rspamd of the same configuration attached as a milter, on the same box. The same
 * smtp-source load as the inbound case; CPU counts every process of each stack, scanner
 * included. Each repeat starts both stacks fresh (the other cases' stacks are unscanned).
 */
import os from 'node:os';
import path from 'node:path';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { type BenchContext } from './context.js';
import { deliver } from './case-inbound.js';
import { type Samples, sample } from './metrics.js';
import { cpuSeconds } from './procs.js';
import { PosternStack } from './postern-stack.js';
import { startReferenceRspamd } from './reference-rspamd.js';
import { ReferenceStack } from './reference-stack.js';
import type { BenchStack } from './stack.js';
import { freePorts } from './util.js';

/** rspamd's compiled rules survive between runs here (both stacks share them). */
const HS_CACHE = path.join(os.tmpdir(), 'postern-bench-rspamd-hs-cache');

export async function spamCase(ctx: BenchContext, repeat: number, dnsResolver: string): Promise<Samples> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'postern-bench-spam-'));
  chmodSync(work, 0o755); // Postfix's, Dovecot's and rspamd's unprivileged users walk through it
  const [host, port] = dnsResolver.split(':') as [string, string];
  const [rspamdPort, controllerPort, redisPort] = await freePorts(3);
  let postern: PosternStack | null = null;
  let reference: ReferenceStack | null = null;
  const scanner = await startReferenceRspamd(path.join(work, 'reference-rspamd'), { host, port: Number(port) }, HS_CACHE);
  try {
    ctx.log('spam: starting Postern with scanning');
    postern = await PosternStack.start({ dataDir: path.join(work, 'postern-data'), domain: ctx.domain, dnsResolver, smarthostPort: ctx.sink.port, spam: { rspamdPort: rspamdPort!, controllerPort: controllerPort!, redisPort: redisPort!, hsCacheDir: HS_CACHE } });
    await postern.provision(ctx.localParts, ctx.password);
    ctx.log('spam: starting Postfix + Dovecot with the rspamd milter');
    reference = await ReferenceStack.start({
      workDir: path.join(work, 'reference'),
      domain: ctx.domain,
      localParts: ctx.localParts,
      password: ctx.password,
      certFile: postern.certFile,
      keyFile: postern.keyFile,
      smarthostPort: ctx.sink.port,
      milter: scanner.milter,
    });
    const ref = reference;
    // The reference's CPU includes its scanner (Postern's runs under the appliance's tree).
    const scanned: BenchStack = {
      name: 'reference',
      smtpPort: ref.smtpPort,
      submissionPort: ref.submissionPort,
      imapsPort: ref.imapsPort,
      rootPids: () => [...ref.rootPids(), ...scanner.pids()],
      cpuParts: () => {
        const [a, b] = ref.cpuParts();
        return [a + cpuSeconds(scanner.pids()), b];
      },
      storedCount: () => ref.storedCount(),
      restart: () => ref.restart(),
      stop: () => ref.stop(),
    };
    const order: BenchStack[] = repeat % 2 === 0 ? [postern, scanned] : [scanned, postern];
    const res = new Map<string, Awaited<ReturnType<typeof deliver>>>();
    for (const s of order) {
      ctx.log(`spam: inbound with scanning, ${s.name}, ${ctx.sizes.inboundMessages} messages`);
      res.set(s.name, await deliver(ctx, s));
    }
    const p = res.get('postern')!;
    const r = res.get('reference')!;
    ctx.notes.push(
      "inbound-spam (issue 18, twelfth round): the spam learner keeps the facts of INBOX and of \\Junk folders instead of reading the database about the folder of every stored message (other folders are read each time: a RENAME may make them Junk)",
      "inbound-spam (issue 18, thirteenth round): per process, Postern's rspamd normal worker and redis cost about what the reference's rspamd milter proxy and redis cost per message (3.8-5.4 and 0.43-0.59 ms in five runs on a loaded machine, within noise of each other; the row 'Haraka + rspamd + redis / Dovecot' sets Postern's scanner against Dovecot alone): the scanned gap is Haraka's own work. rspamd 3.4 closes the HTTP connection after every /checkv2 answer, so the plugin sends each scan as one write on a plain socket instead of through node:http (client CPU per scan 1.0-1.24 -> 0.68-0.9 ms), and the scan decisions of a quarter second reach the appliance in one call (spam.results) instead of one call per message (about 8% less Haraka CPU per scanned message against the same run's rspamd, two alternating pairs on a loaded machine)",
    );
    return [
      sample('inbound-spam', 'spam.acked', 'scanned: acknowledged', 'msg/s', 'higher', p.ackedPerSec, r.ackedPerSec),
      sample('inbound-spam', 'spam.stored', 'scanned: stored (end to end)', 'msg/s', 'higher', p.storedPerSec, r.storedPerSec),
      sample('inbound-spam', 'spam.cpuPerMsg', 'scanned: CPU per message (scanner included)', 'ms', 'lower', p.cpuMsPerMessage, r.cpuMsPerMessage),
      sample('inbound-spam', 'spam.cpuPerMsg.part1', 'scanned: CPU per message: appliance / Postfix + rspamd', 'ms', 'lower', p.partsMsPerMessage[0], r.partsMsPerMessage[0]),
      sample('inbound-spam', 'spam.cpuPerMsg.part2', 'scanned: CPU per message: Haraka + rspamd + redis / Dovecot', 'ms', 'lower', p.partsMsPerMessage[1], r.partsMsPerMessage[1]),
    ];
  } finally {
    await Promise.allSettled([postern?.stop(), reference?.stop()]);
    await scanner.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
