/**
 * IMAP: one mailbox holds `imapMessages` varied messages (appended once through IMAP by the
 * same client on both servers). Each pass measures, over IMAPS with the raw client:
 *   - login: median LOGIN round trip over `imapLogins` fresh connections (TLS handshake and
 *     greeting measured apart as "connect");
 *   - SELECT INBOX, FETCH 1:* (FLAGS ENVELOPE), FETCH 1:K BODY.PEEK[], SEARCH SUBJECT (a
 *     header), SEARCH BODY (body text), SEARCH TEXT (headers and body), SORT (REVERSE DATE) and THREAD REFERENCES: time to
 *     the tagged OK. (scripts/bench/imap-sort-large.ts times SORT/THREAD on 100,000 messages.)
 * "Cold" is the first pass after the server processes were restarted and, where the kernel
 * lets us, the page cache was dropped (echo 3 > /proc/sys/vm/drop_caches): no process caches,
 * no file pages in memory; each server's on-disk indexes (Dovecot's dovecot.index*, Postern's
 * SQLite index) stay, as they would after a reboot. "Warm" is the pass right after it.
 */
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { address, type BenchContext } from './context.js';
import { ImapClient, searchHits } from './imap-client.js';
import { issue18Notes } from './case-imap-mixed.js';
import { BODY_NEEDLE, SUBJECT_NEEDLE, variedMessages, type VariedCounts } from './messages.js';
import { type Samples, sample } from './metrics.js';
import type { BenchStack } from './stack.js';
import { median } from './util.js';

let counts: VariedCounts | null = null;

/** Appends the corpus to the IMAP mailbox of both stacks (once per run). */
export async function imapSetup(ctx: BenchContext): Promise<Samples> {
  const user = address(ctx, ctx.imapUser);
  const corpus = variedMessages(ctx.sizes.imapMessages, user);
  counts = corpus.counts;
  const rates: Record<string, number> = {};
  for (const stack of [ctx.postern, ctx.reference] as BenchStack[]) {
    ctx.log(`imap: appending ${corpus.messages.length} messages to ${stack.name}`);
    const c = await ImapClient.connect(stack.imapsPort);
    await c.login(user, ctx.password);
    const t0 = performance.now();
    for (const m of corpus.messages) await c.command('APPEND INBOX', { literal: m });
    rates[stack.name] = corpus.messages.length / ((performance.now() - t0) / 1000);
    await c.logout();
  }
  return [sample('imap', 'imap.append', 'APPEND (one session, setup)', 'msg/s', 'higher', rates.postern!, rates.reference!)];
}

export function dropCaches(): boolean {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

interface Pass {
  connectMs: number;
  loginMs: number;
  selectMs: number;
  fetchEnvelopeMs: number;
  fetchBodyMs: number;
  searchHeaderMs: number;
  searchBodyMs: number;
  searchTextMs: number;
  /** Hits of SEARCH TEXT (the needle is in bodies only: the same as SEARCH BODY's). */
  textHits: number;
  sortMs: number;
  threadMs: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [performance.now() - t0, r];
}

async function pass(ctx: BenchContext, stack: BenchStack): Promise<Pass> {
  const user = address(ctx, ctx.imapUser);
  const n = ctx.sizes.imapMessages;
  const k = Math.min(ctx.sizes.imapBodyFetch, n);
  // the mailbox commands first, so that the cold pass meets them cold
  const c = await ImapClient.connect(stack.imapsPort);
  await c.login(user, ctx.password);
  const [selectMs] = await timed(() => c.command('SELECT INBOX'));
  const [fetchEnvelopeMs, env] = await timed(() => c.command('FETCH 1:* (FLAGS ENVELOPE)'));
  if (env.fetches !== n) throw new Error(`${stack.name}: FETCH ENVELOPE returned ${env.fetches} of ${n} messages`);
  const [fetchBodyMs, body] = await timed(() => c.command(`FETCH 1:${k} BODY.PEEK[]`));
  if (body.fetches !== k) throw new Error(`${stack.name}: FETCH BODY.PEEK[] returned ${body.fetches} of ${k} messages`);
  const [searchHeaderMs, sh] = await timed(() => c.command(`SEARCH SUBJECT "${SUBJECT_NEEDLE}"`, { keep: true }));
  const [searchBodyMs, sb] = await timed(() => c.command(`SEARCH BODY "${BODY_NEEDLE}"`, { keep: true }));
  if (counts && searchHits(sh.lines) !== counts.subjectHits) throw new Error(`${stack.name}: SEARCH SUBJECT found ${searchHits(sh.lines)}, expected ${counts.subjectHits}`);
  if (counts && searchHits(sb.lines) !== counts.bodyHits) throw new Error(`${stack.name}: SEARCH BODY found ${searchHits(sb.lines)}, expected ${counts.bodyHits}`);
  const [searchTextMs, st] = await timed(() => c.command(`SEARCH TEXT "${BODY_NEEDLE}"`, { keep: true }));
  if (stack === ctx.postern && counts && searchHits(st.lines) !== counts.bodyHits) throw new Error(`${stack.name}: SEARCH TEXT found ${searchHits(st.lines)}, expected ${counts.bodyHits}`);
  // What webmails ask on every page view (issue 16): newest first, and the thread tree.
  const [sortMs, so] = await timed(() => c.command('SORT (REVERSE DATE) UTF-8 ALL', { keep: true }));
  const [threadMs, th] = await timed(() => c.command('THREAD REFERENCES UTF-8 ALL', { keep: true }));
  if (so.status !== 'OK' || th.status !== 'OK') throw new Error(`${stack.name}: SORT/THREAD failed`);
  await c.logout();

  const connect: number[] = [];
  const login: number[] = [];
  for (let i = 0; i < ctx.sizes.imapLogins; i++) {
    const [cm, client] = await timed(() => ImapClient.connect(stack.imapsPort));
    const [lm] = await timed(() => client.login(user, ctx.password));
    connect.push(cm);
    login.push(lm);
    await client.logout();
  }
  return { connectMs: median(connect), loginMs: median(login), selectMs, fetchEnvelopeMs, fetchBodyMs, searchHeaderMs, searchBodyMs, searchTextMs, textHits: searchHits(st.lines), sortMs, threadMs };
}

export async function imapCase(ctx: BenchContext, repeat: number): Promise<Samples> {
  issue18Notes(ctx);
  const results: Record<string, { cold: Pass; warm: Pass }> = {};
  let dropped = true;
  const order: BenchStack[] = repeat % 2 === 0 ? [ctx.postern, ctx.reference] : [ctx.reference, ctx.postern];
  for (const stack of order) {
    ctx.log(`imap: ${stack.name} cold and warm`);
    await stack.restart();
    dropped = dropCaches() && dropped;
    const cold = await pass(ctx, stack);
    const warm = await pass(ctx, stack);
    results[stack.name] = { cold, warm };
  }
  if (!dropped && !ctx.notes.some((n) => n.includes('drop_caches'))) ctx.notes.push('IMAP cold: the page cache could not be dropped (no write access to /proc/sys/vm/drop_caches); cold = process restart only');
  const p = results.postern!;
  const r = results.reference!;
  if (!ctx.notes.some((n) => n.startsWith('SEARCH BODY/TEXT'))) {
    ctx.notes.push(
      'SEARCH BODY/TEXT (issue 18): Postern answers from a search index built just after each message is stored (in the background, off the acknowledgement path) — the decoded, lower-cased text of each stored message (text parts, HTML reduced to text; header fields for TEXT) in SQLite FTS5 with the trigram tokenizer (PostgreSQL: pg_trgm) — checked exactly on the candidates; messages without an index row and needles under 3 characters are answered from the stored text or the messages as before. Dovecot here runs without an FTS plugin (it reads its cache and the messages).',
    );
  }
  if (r.cold.textHits !== p.cold.textHits) ctx.notes.push(`SEARCH TEXT: the reference found ${r.cold.textHits} messages, Postern ${p.cold.textHits}`);
  const k = Math.min(ctx.sizes.imapBodyFetch, ctx.sizes.imapMessages);
  const out: Samples = [];
  for (const temp of ['cold', 'warm'] as const) {
    const a = p[temp];
    const b = r[temp];
    out.push(
      sample('imap', `imap.${temp}.connect`, `TLS connect + greeting, median (${temp})`, 'ms', 'lower', a.connectMs, b.connectMs),
      sample('imap', `imap.${temp}.login`, `LOGIN, median of ${ctx.sizes.imapLogins} (${temp})`, 'ms', 'lower', a.loginMs, b.loginMs),
      sample('imap', `imap.${temp}.select`, `SELECT INBOX (${temp})`, 'ms', 'lower', a.selectMs, b.selectMs),
      sample('imap', `imap.${temp}.envelope`, `FETCH FLAGS ENVELOPE of ${ctx.sizes.imapMessages} (${temp})`, 'ms', 'lower', a.fetchEnvelopeMs, b.fetchEnvelopeMs),
      sample('imap', `imap.${temp}.body`, `FETCH BODY.PEEK[] of ${k} (${temp})`, 'ms', 'lower', a.fetchBodyMs, b.fetchBodyMs),
      sample('imap', `imap.${temp}.searchHeader`, `SEARCH SUBJECT (${temp})`, 'ms', 'lower', a.searchHeaderMs, b.searchHeaderMs),
      sample('imap', `imap.${temp}.searchBody`, `SEARCH BODY (${temp})`, 'ms', 'lower', a.searchBodyMs, b.searchBodyMs),
      sample('imap', `imap.${temp}.searchText`, `SEARCH TEXT (${temp})`, 'ms', 'lower', a.searchTextMs, b.searchTextMs),
      sample('imap', `imap.${temp}.sort`, `SORT (REVERSE DATE) ALL (${temp})`, 'ms', 'lower', a.sortMs, b.sortMs),
      sample('imap', `imap.${temp}.thread`, `THREAD REFERENCES ALL (${temp})`, 'ms', 'lower', a.threadMs, b.threadMs),
    );
  }
  return out;
}
