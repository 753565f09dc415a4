/**
 * Inbound: Postfix's smtp-source delivers `inboundMessages` messages of `messageBytes` bytes
 * over the mailboxes, `inboundSessions` SMTP sessions in parallel (one message per session, as
 * MX traffic arrives). Measured: messages/s until every message is acknowledged (250 after
 * DATA) and until every message is stored (Dovecot: files in the Maildirs; Postern: rows in
 * its store index), and the CPU seconds of all processes of the stack meanwhile.
 */
import { address, type BenchContext } from './context.js';
import { type Samples, sample } from './metrics.js';
import { cpuSeconds } from './procs.js';
import type { BenchStack } from './stack.js';
import { pool, runAsync, sleep } from './util.js';

export interface InboundResult {
  ackedPerSec: number;
  storedPerSec: number;
  cpuSeconds: number;
  cpuMsPerMessage: number;
  /** CPU ms per message of the stack's two parts (Postern: appliance, Haraka; reference: Postfix, Dovecot). */
  partsMsPerMessage: [number, number];
  /** Postern: ms from the last message stored until every message had its search-index row; null for the reference. */
  indexLagMs: number | null;
}

export async function deliver(ctx: BenchContext, stack: BenchStack): Promise<InboundResult> {
  const { inboundMessages: n, inboundBatch, inboundSessions, messageBytes } = ctx.sizes;
  const jobs: Array<{ rcpt: string; count: number }> = [];
  for (let sent = 0, i = 0; sent < n; i++) {
    const count = Math.min(inboundBatch, n - sent);
    jobs.push({ rcpt: address(ctx, ctx.localParts[i % ctx.localParts.length]!), count });
    sent += count;
  }
  const base = stack.storedCount();
  const cpu0 = cpuSeconds(stack.rootPids());
  const parts0 = stack.cpuParts();
  const t0 = performance.now();
  let storedAt = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      if (stack.storedCount() - base >= n) {
        storedAt = performance.now();
        return;
      }
      await sleep(20);
    }
  })();
  await pool(jobs, inboundSessions, async (job) => {
    const r = await runAsync('smtp-source', [
      '-s', '1', '-m', String(job.count), '-l', String(messageBytes),
      '-M', 'client.bench.test', '-f', 'sender@client.bench.test', '-S', 'Inbound benchmark', '-t', job.rcpt,
      `127.0.0.1:${stack.smtpPort}`,
    ]);
    if (r.status !== 0) throw new Error(`smtp-source → ${stack.name} exited ${r.status}: ${r.output.slice(-500)}`);
  });
  const ackedAt = performance.now();
  const deadline = Date.now() + Math.max(120_000, n * 50);
  while (!storedAt && Date.now() < deadline) await sleep(20);
  watching = false;
  await watcher;
  if (!storedAt) throw new Error(`${stack.name}: only ${stack.storedCount() - base} of ${n} messages stored`);
  // Postern indexes search text after the commit: the CPU is read once the index has caught up, so it includes that work.
  const backlog = (stack as Partial<{ searchBacklog(): number }>).searchBacklog?.bind(stack);
  let indexLagMs: number | null = null;
  if (backlog) {
    while (backlog() > 0 && Date.now() < deadline) await sleep(20);
    indexLagMs = performance.now() - storedAt;
  }
  const cpu = cpuSeconds(stack.rootPids()) - cpu0;
  const parts1 = stack.cpuParts();
  return {
    partsMsPerMessage: [((parts1[0] - parts0[0]) * 1000) / n, ((parts1[1] - parts0[1]) * 1000) / n],
    ackedPerSec: n / ((ackedAt - t0) / 1000),
    storedPerSec: n / ((storedAt - t0) / 1000),
    cpuSeconds: cpu,
    cpuMsPerMessage: (cpu * 1000) / n,
    indexLagMs,
  };
}

export async function inboundCase(ctx: BenchContext, repeat: number): Promise<Samples> {
  // alternate who goes first so neither always runs on a machine warmed (or tired) by the other
  const order: BenchStack[] = repeat % 2 === 0 ? [ctx.postern, ctx.reference] : [ctx.reference, ctx.postern];
  const res = new Map<string, InboundResult>();
  for (const s of order) {
    ctx.log(`inbound: ${s.name}, ${ctx.sizes.inboundMessages} messages`);
    res.set(s.name, await deliver(ctx, s));
  }
  const p = res.get('postern')!;
  const r = res.get('reference')!;
  if (p.indexLagMs !== null) {
    ctx.notes.push(
      `inbound: Postern acknowledges once blob and rows are durable and indexes the search text just after, in the background; ` +
        `its index caught up ${Math.round(p.indexLagMs)} ms after the last message was stored, and its CPU figures include that indexing`,
    );
    const mta = Number(process.env.POSTERN_MTA_PROCESSES ?? 1);
    ctx.notes.push(
      mta > 1
        ? `inbound: Haraka ran as ${mta} worker processes and their master (POSTERN_MTA_PROCESSES); its CPU figure is all of them; session caps are counted once by the master, workers call the appliance over a Unix socket`
        : 'inbound: Haraka ran as one process (POSTERN_MTA_PROCESSES=1)',
    );
    ctx.notes.push('inbound: the appliance is called twice per single-recipient message (rcpt.inbound from Haraka: spam decision and recipient check in one call; mail.deliver from its message thread); three before the fourth round of issue 18');
    ctx.notes.push(
      "inbound: Haraka's message thread (a worker thread of its store plugin) writes and parses each message (sixth round of issue 18), runs the SPF/DKIM/DMARC/ARC checks and makes the delivery call to the appliance over its MTA socket (ninth round): Haraka's event loop sends the bytes twice and gets two small answers per message, and looks up a client's reverse DNS name once per 10 s",
    );
    ctx.notes.push(
      "inbound: the appliance's reads per message outside the store (RCPT spam facts and list entries, the router's domain and mailbox, forwards, the auto-reply check) are compiled once per shape, and Haraka's forwarded log lines and the delivery line skip pino's wildcard redaction paths (fields censored key by key), seventh round of issue 18",
    );
    ctx.notes.push(
      'inbound: the RCPT spam decision reads the recipient domain, mailbox and both policy rows in one statement and the list entries in a second (five statements before the fifth round of issue 18); the appliance writes its log lines once per event-loop turn',
    );
    ctx.notes.push(
      "inbound (issue 18, twelfth round): Haraka's message thread no longer tracks the descriptors it opens (trackUnmanagedFds: false): a small blob's file is opened there and closed by a sync thread after its fdatasync, and each delivery printed two Node warnings (a stack trace, a stderr line through Haraka's loop and a log line in the appliance each: 6,066 for 3,128 messages in a probe); Haraka's process asks the system for its host name at most once a second (Haraka's respond called os.hostname() for every reply, 1.5% of its loop). A latency probe shows every SMTP step waiting for Haraka's one event loop, switched out about seven times per message while writing replies",
    );
    ctx.notes.push(
      "inbound (issue 18, fourteenth round): Haraka's log lines leave in one write per 50 ms (or 16 KiB), not one per event-loop turn, which was about two writes and two wake-ups of the appliance per message (Haraka's write calls per message 15.8-16.4 -> 14.2-15.2 in four alternating 1,500-message rounds; the appliance's reading of the lines about half the CPU in an isolated A/B). A per-thread probe shows Haraka's event loop running ~3 ms per message and switched out about once per SMTP reply (5.6-7.5 times per message) on 2 cores; its other threads (message write and parse, SPF/DKIM/DMARC, fdatasync) cost about as much again. smtp-source does not pipeline, so the replies cannot leave together",
    );
    ctx.notes.push(
      "inbound (issue 18, fifteenth round): Haraka's threads start with a 16 MiB young generation (--min-semi-space-size=16 --max-semi-space-size=32; V8's default started at 1 MiB and never grew): about 3x fewer collections and half the thread wake-ups (futex 6.4 -> 3.4 per message), Haraka 13 MB larger, no CPU change measurable at load 20; a profile of Haraka's loop: 29% writing SMTP replies into loopback TCP (smtp-source opens a session per message: 7 replies each), 7% handing the message to its message thread (twice), per-connection set-up about 7%, about 56 system calls per message",
    );
  }
  return [
    sample('inbound', 'inbound.acked', 'acknowledged', 'msg/s', 'higher', p.ackedPerSec, r.ackedPerSec),
    sample('inbound', 'inbound.stored', 'stored (end to end)', 'msg/s', 'higher', p.storedPerSec, r.storedPerSec),
    sample('inbound', 'inbound.cpu', 'CPU of the stack', 's', 'lower', p.cpuSeconds, r.cpuSeconds),
    sample('inbound', 'inbound.cpuPerMsg', 'CPU per message', 'ms', 'lower', p.cpuMsPerMessage, r.cpuMsPerMessage),
    sample('inbound', 'inbound.cpuPerMsg.part1', 'CPU per message: appliance | Postfix', 'ms', 'lower', p.partsMsPerMessage[0], r.partsMsPerMessage[0]),
    sample('inbound', 'inbound.cpuPerMsg.part2', 'CPU per message: Haraka | Dovecot', 'ms', 'lower', p.partsMsPerMessage[1], r.partsMsPerMessage[1]),
  ];
}
