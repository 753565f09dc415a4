/**
 * Memory: `idleConnections` IMAPS connections to Postern (`idleConnectionsReference` to the
 * reference: Dovecot forks a process per session), logged in (spread over the inbound
 * mailboxes) with INBOX selected, then left idle; the client side spreads its connections over
 * four source addresses (127.0.0.1-4) so ephemeral ports do not run short. Measured on the
 * server side only: the growth of the resident memory of the IMAP server's processes (Postern:
 * the appliance and its Haraka child; reference: Dovecot's master and all its children), per
 * connection. RSS counts a shared page once per process, which weighs on Dovecot's
 * one-process-per-session design, so PSS (shared pages split among their users) is reported
 * beside it. A tenth of the connections is opened and closed first (warm-up). Before and after
 * are read settled: Postern (started with --expose-gc by the bench only) collects garbage before
 * each of five readings (SIGUSR2), and the median of the five counts; without that the heap's
 * garbage from the warm-up and the logins swung the difference below zero.
 */
import { address, type BenchContext } from './context.js';
import { ImapClient } from './imap-client.js';
import { type Samples, sample } from './metrics.js';
import { memory } from './procs.js';
import type { PosternStack } from './postern-stack.js';
import { median, pool, sleep } from './util.js';

interface MemResult {
  rssPerConnKiB: number;
  pssPerConnKiB: number;
}

/** Median of five readings spread over `settleMs`, each after a collection when the server offers one. */
async function settledMemory(ctx: BenchContext, roots: () => number[], gc?: () => Promise<void>): Promise<{ rssKiB: number; pssKiB: number }> {
  const rss: number[] = [];
  const pss: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(ctx.sizes.settleMs / 5);
    await gc?.();
    const m = memory(roots());
    rss.push(m.rssKiB);
    pss.push(m.pssKiB);
  }
  return { rssKiB: median(rss), pssKiB: median(pss) };
}

async function openIdle(ctx: BenchContext, port: number, n: number, clients: ImapClient[]): Promise<void> {
  await pool(Array.from({ length: n }, (_, i) => i), 20, async (i) => {
    const c = await ImapClient.connect(port, 30_000, `127.0.0.${1 + (i % 4)}`);
    clients.push(c);
    await c.login(address(ctx, ctx.localParts[i % ctx.localParts.length]!), ctx.password);
    await c.command('SELECT INBOX');
  });
}

async function idle(ctx: BenchContext, n: number, port: number, roots: () => number[], gc?: () => Promise<void>): Promise<MemResult> {
  // warm-up: a tenth of the connections opened and closed first, so that one-time allocations
  // (TLS contexts, compiled code, the first imap-login processes) are not counted per connection
  const warm: ImapClient[] = [];
  await openIdle(ctx, port, Math.max(1, Math.ceil(n / 10)), warm);
  for (const c of warm) c.destroy();
  const before = await settledMemory(ctx, roots, gc);
  const clients: ImapClient[] = [];
  try {
    await openIdle(ctx, port, n, clients);
    const after = await settledMemory(ctx, roots, gc); // idle: the servers settle (Dovecot's processes, Node's allocator)
    return { rssPerConnKiB: (after.rssKiB - before.rssKiB) / n, pssPerConnKiB: (after.pssKiB - before.pssKiB) / n };
  } finally {
    for (const c of clients) c.destroy();
    await sleep(ctx.sizes.settleMs);
  }
}

export async function memoryCase(ctx: BenchContext, repeat: number): Promise<Samples> {
  const res: Record<string, MemResult> = {};
  const postern: PosternStack = ctx.postern;
  const runs: Array<[string, number, () => Promise<MemResult>]> = [
    ['postern', ctx.sizes.idleConnections, () => idle(ctx, ctx.sizes.idleConnections, postern.imapsPort, () => postern.rootPids(), () => postern.gc())],
    ['reference', ctx.sizes.idleConnectionsReference, () => idle(ctx, ctx.sizes.idleConnectionsReference, ctx.reference.imapsPort, () => ctx.reference.dovecotPids())],
  ];
  if (repeat % 2 === 1) runs.reverse();
  for (const [name, n, fn] of runs) {
    ctx.log(`memory: ${name}, ${n} idle IMAP connections`);
    res[name] = await fn();
  }
  if (ctx.sizes.idleConnectionsReference !== ctx.sizes.idleConnections && !ctx.notes.some((x) => x.startsWith('memory:'))) {
    ctx.notes.push(`memory: Postern measured at ${ctx.sizes.idleConnections} connections, the reference at ${ctx.sizes.idleConnectionsReference} (a Dovecot process per session)`);
  }
  const p = res.postern!;
  const r = res.reference!;
  return [
    sample('memory', 'memory.rss', `RSS per idle IMAP connection (${ctx.sizes.idleConnections})`, 'KiB', 'lower', p.rssPerConnKiB, r.rssPerConnKiB),
    sample('memory', 'memory.pss', `PSS per idle IMAP connection (${ctx.sizes.idleConnections})`, 'KiB', 'lower', p.pssPerConnKiB, r.pssPerConnKiB),
  ];
}
