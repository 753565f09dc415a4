/**
 * The reference stack's scanner: Debian's rspamd (and a redis for it) configured exactly as the
 * appliance configures its own (appliance/spam/rspamd-config.ts), plus the proxy worker in
 * milter mode that Postfix talks to (`smtpd_milters`), scanning in-process (self_scan). Run as
 * supervised children of the benchmark on free loopback ports.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../../appliance/logger.js';
import { ProcessSupervisor } from '../../appliance/spam/process.js';
import { writeSpamConfig } from '../../appliance/spam/rspamd-config.js';
import { freePorts } from './util.js';

export interface ReferenceRspamd {
  milter: string;
  pids(): number[];
  stop(): Promise<void>;
}

export async function startReferenceRspamd(dir: string, dnsResolver: { host: string; port: number }, hsCacheDir: string): Promise<ReferenceRspamd> {
  const [normal, controller, redis, milter] = await freePorts(4);
  const spam = {
    enabled: true,
    rspamdPort: normal!,
    controllerPort: controller!,
    redisPort: redis!,
    failMode: 'tempfail' as const,
    timeoutMs: 20_000,
    junkScore: 6,
    rejectScore: 15,
    greylisting: false,
    greylistDelaySeconds: 300,
    dnsblZones: [],
    connectionsPerMinute: 0,
    recipientsPerMinute: 0,
    earlyTalkerMs: 0,
    hsCacheDir,
  };
  const layout = await writeSpamConfig(
    { spam, dnsResolver },
    { spam: path.join(dir, 'spam'), root: dir },
    `worker "rspamd_proxy" {\n  bind_socket = "127.0.0.1:${milter}";\n  milter = yes;\n  timeout = 120s;\n  count = 1;\n  upstream "local" {\n    default = yes;\n    self_scan = yes;\n  }\n}\n`,
  );
  // As Postern's tenants without greylisting: the module is off (Postern disables it per message).
  await writeFile(path.join(layout.confDir, 'local.d', 'greylist.conf'), 'enabled = false;\n');
  const logger = createLogger('silent');
  const probe = async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${normal}/ping`, { signal: AbortSignal.timeout(1000) });
      return res.ok;
    } catch {
      return false;
    }
  };
  const redisProc = new ProcessSupervisor({ name: 'redis', command: 'redis-server', args: layout.redisArgs, probe: async () => true }, logger);
  const rspamd = new ProcessSupervisor({ name: 'rspamd', command: 'rspamd', args: layout.rspamdArgs, probe, startTimeoutMs: 300_000 }, logger);
  redisProc.start();
  rspamd.start();
  await rspamd.waitReady(300_000);
  return {
    milter: `inet:127.0.0.1:${milter}`,
    pids: () => [rspamd.pid, redisProc.pid].filter((p): p is number => typeof p === 'number'),
    stop: async () => {
      await Promise.allSettled([rspamd.stop(), redisProc.stop()]);
    },
  };
}
