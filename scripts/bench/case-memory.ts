/**
 * Memory: `idleConnections` IMAPS connections, logged in (spread over the inbound mailboxes)
 * with INBOX selected, then left idle. Measured on the server side only: the growth of the
 * resident memory of the IMAP server's processes (Postern: the appliance and its Haraka child;
 * reference: Dovecot's master and all its children), per connection. RSS counts a shared page
 * once per process, which weighs on Dovecot's one-process-per-session design, so PSS (shared
 * pages split among their users) is reported beside it.
 */
import { address, type BenchContext } from './context.js';
import { ImapClient } from './imap-client.js';
import { type Samples, sample } from './metrics.js';
import { memory } from './procs.js';
import { pool, sleep } from './util.js';

interface MemResult {
  rssPerConnKiB: number;
  pssPerConnKiB: number;
}

async function idle(ctx: BenchContext, port: number, roots: () => number[]): Promise<MemResult> {
  const n = ctx.sizes.idleConnections;
  await sleep(ctx.sizes.settleMs);
  const before = memory(roots());
  const clients: ImapClient[] = [];
  try {
    await pool(Array.from({ length: n }, (_, i) => i), 20, async (i) => {
      const c = await ImapClient.connect(port);
      clients.push(c);
      await c.login(address(ctx, ctx.localParts[i % ctx.localParts.length]!), ctx.password);
      await c.command('SELECT INBOX');
    });
    await sleep(ctx.sizes.settleMs); // let the servers settle (Dovecot's processes, Node's allocator)
    const after = memory(roots());
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
