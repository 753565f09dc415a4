/**
 * Memory: `idleConnections` IMAPS connections, logged in (spread over the inbound mailboxes)
 * with INBOX selected, then left idle. Measured on the server side only: the growth of the
 * resident memory of the IMAP server's processes (Postern: the appliance and its Haraka child;
 * reference: Dovecot's master and all its children), per connection. RSS counts a shared page
 * once per process, which weighs on Dovecot's one-process-per-session design, so PSS (shared
 * pages split among their users) is reported beside it. A tenth of the connections is opened and
 * closed first (warm-up); before and after are medians of five readings over `settleMs`.
 */
import { address, type BenchContext } from './context.js';
import { ImapClient } from './imap-client.js';
import { type Samples, sample } from './metrics.js';
import { memory } from './procs.js';
import { median, pool, sleep } from './util.js';

interface MemResult {
  rssPerConnKiB: number;
  pssPerConnKiB: number;
}

/** Median of five readings spread over `settleMs` (a single reading catches GC and allocator swings). */
async function settledMemory(ctx: BenchContext, roots: () => number[]): Promise<{ rssKiB: number; pssKiB: number }> {
  const rss: number[] = [];
  const pss: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(ctx.sizes.settleMs / 5);
    const m = memory(roots());
    rss.push(m.rssKiB);
    pss.push(m.pssKiB);
  }
  return { rssKiB: median(rss), pssKiB: median(pss) };
}

async function openIdle(ctx: BenchContext, port: number, n: number, clients: ImapClient[]): Promise<void> {
  await pool(Array.from({ length: n }, (_, i) => i), 20, async (i) => {
    const c = await ImapClient.connect(port);
    clients.push(c);
    await c.login(address(ctx, ctx.localParts[i % ctx.localParts.length]!), ctx.password);
    await c.command('SELECT INBOX');
  });
}

async function idle(ctx: BenchContext, port: number, roots: () => number[]): Promise<MemResult> {
  const n = ctx.sizes.idleConnections;
  // warm-up: a tenth of the connections opened and closed first, so that one-time allocations
  // (TLS contexts, compiled code, the first imap-login processes) are not counted per connection
  const warm: ImapClient[] = [];
  await openIdle(ctx, port, Math.max(1, Math.ceil(n / 10)), warm);
  for (const c of warm) c.destroy();
  const before = await settledMemory(ctx, roots);
  const clients: ImapClient[] = [];
  try {
    await openIdle(ctx, port, n, clients);
    const after = await settledMemory(ctx, roots); // idle: the servers settle (Dovecot's processes, Node's allocator)
    return { rssPerConnKiB: (after.rssKiB - before.rssKiB) / n, pssPerConnKiB: (after.pssKiB - before.pssKiB) / n };
  } finally {
    for (const c of clients) c.destroy();
    await sleep(ctx.sizes.settleMs);
  }
}

export async function memoryCase(ctx: BenchContext, repeat: number): Promise<Samples> {
  const res: Record<string, MemResult> = {};
  const runs: Array<[string, () => Promise<MemResult>]> = [
    ['postern', () => idle(ctx, ctx.postern.imapsPort, () => ctx.postern.rootPids())],
    ['reference', () => idle(ctx, ctx.reference.imapsPort, () => ctx.reference.dovecotPids())],
  ];
  if (repeat % 2 === 1) runs.reverse();
  for (const [name, fn] of runs) {
    ctx.log(`memory: ${name}, ${ctx.sizes.idleConnections} idle IMAP connections`);
    res[name] = await fn();
  }
  const p = res.postern!;
  const r = res.reference!;
  return [
    sample('memory', 'memory.rss', `RSS per idle IMAP connection (${ctx.sizes.idleConnections})`, 'KiB', 'lower', p.rssPerConnKiB, r.rssPerConnKiB),
    sample('memory', 'memory.pss', `PSS per idle IMAP connection (${ctx.sizes.idleConnections})`, 'KiB', 'lower', p.pssPerConnKiB, r.pssPerConnKiB),
  ];
}
