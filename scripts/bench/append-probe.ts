/**
 * One IMAP session's APPENDs, Postern and the reference Dovecot side by side, for looking into
 * the `imap.append` row (issue 18): the same stacks as `run.js` (compiled appliance, private
 * Postfix + Dovecot), the same corpus and client as the imap case's setup, but several rounds in
 * turn (Postern, Dovecot, Postern, …), each reporting msg/s, the latency per APPEND (median, p90)
 * and the server's CPU per message. With `--strace DIR` each round's server process (Postern's
 * appliance, Dovecot's imap process of the session) is traced: `strace -c` (a count per system
 * call) or, with `--timeline`, `strace -f -tt -T` into DIR for a per-APPEND timeline.
 *
 *   node dist/scripts/bench/append-probe.js [--messages N] [--rounds R] [--strace DIR] [--timeline] [--postern-only]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDnsStub } from './dns-stub.js';
import { ImapClient } from './imap-client.js';
import { variedMessages } from './messages.js';
import { PosternStack } from './postern-stack.js';
import { cpuSeconds, processTree } from './procs.js';
import { ReferenceStack } from './reference-stack.js';
import { SmtpSink } from './sink.js';
import type { BenchStack } from './stack.js';
import { median, percentile, sleep } from './util.js';

interface Args {
  messages: number;
  rounds: number;
  strace: string | null;
  timeline: boolean;
  posternOnly: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { messages: 1200, rounds: 2, strace: null, timeline: false, posternOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--messages') a.messages = Number(argv[++i]);
    else if (k === '--rounds') a.rounds = Number(argv[++i]);
    else if (k === '--strace') a.strace = path.resolve(argv[++i]!);
    else if (k === '--timeline') a.timeline = true;
    else if (k === '--postern-only') a.posternOnly = true;
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** The process serving this session: Postern's appliance, or the newest `imap` process under Dovecot's master. */
function serverPid(stack: BenchStack): number {
  if (stack.name === 'postern') return stack.rootPids()[0]!;
  const imap = processTree(stack.rootPids()).filter((p) => comm(p) === 'imap');
  return Math.max(...imap);
}

async function traced(pid: number, file: string, timeline: boolean): Promise<ChildProcess> {
  const args = timeline ? ['-f', '-tt', '-T', '-o', file, '-p', String(pid)] : ['-f', '-c', '-o', file, '-p', String(pid)];
  const child = spawn('strace', args, { stdio: 'ignore' });
  await sleep(500); // attached to every thread
  return child;
}

async function round(stack: BenchStack, user: string, password: string, corpus: Buffer[], args: Args, tag: string): Promise<string> {
  const c = await ImapClient.connect(stack.imapsPort);
  await c.login(user, password);
  await c.command('NOOP');
  const pid = serverPid(stack);
  let tracer: ChildProcess | null = null;
  if (args.strace) tracer = await traced(pid, path.join(args.strace, `${tag}.txt`), args.timeline);
  const roots = stack.rootPids();
  const cpu0 = cpuSeconds(roots);
  const lat: number[] = [];
  const t0 = performance.now();
  for (const m of corpus) {
    const a = performance.now();
    await c.command('APPEND INBOX', { literal: m });
    lat.push(performance.now() - a);
  }
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(roots) - cpu0;
  if (tracer) {
    tracer.kill('SIGINT');
    await new Promise((r) => tracer!.once('exit', r));
  }
  await c.logout();
  const ms = (x: number) => x.toFixed(2);
  return `${tag}: ${(corpus.length / s).toFixed(0)} msg/s, APPEND median ${ms(median(lat))} ms, p90 ${ms(percentile(lat, 90))} ms, server CPU ${ms((cpu * 1000) / corpus.length)} ms/msg (pid ${pid}), load ${os.loadavg()[0]!.toFixed(2)}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.strace && !existsSync(args.strace)) mkdirSync(args.strace, { recursive: true });
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'postern-append-probe-'));
  chmodSync(workDir, 0o755);
  const domain = 'bench.test';
  const password = 'Bench-Passw0rd-2026!';
  const user = `imapbench@${domain}`;
  const dns = await startDnsStub();
  const sink = await SmtpSink.start(path.join(workDir, 'sink'));
  const stacks: BenchStack[] = [];
  try {
    const postern = await PosternStack.start({ dataDir: path.join(workDir, 'postern-data'), domain, dnsResolver: dns.address, smarthostPort: sink.port });
    stacks.push(postern);
    await postern.provision(['imapbench'], password);
    if (!args.posternOnly) {
      stacks.push(
        await ReferenceStack.start({
          workDir: path.join(workDir, 'reference'),
          domain,
          localParts: ['imapbench'],
          password,
          certFile: postern.certFile,
          keyFile: postern.keyFile,
          smarthostPort: sink.port,
        }),
      );
    }
    const corpus = variedMessages(args.messages, user).messages;
    for (let r = 1; r <= args.rounds; r++) {
      for (const stack of stacks) console.log(await round(stack, user, password, corpus, args, `${stack.name}-${r}`));
    }
  } finally {
    await Promise.allSettled(stacks.map((s) => s.stop()));
    await Promise.allSettled([sink.stop(), dns.close()]);
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
