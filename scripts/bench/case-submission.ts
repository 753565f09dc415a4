/**
 * Submission + DKIM + outbound: `submissionSessions` authenticated sessions (STARTTLS, AUTH
 * PLAIN, each as a different mailbox) submit `submissionMessages` ~4 KiB messages to external
 * recipients; both stacks relay to the same smtp-sink. Both sign: Postern DKIM-signs every
 * message (RSA-2048 and Ed25519), the reference Postfix through its private OpenDKIM milter
 * (RSA-2048). The sink's dump is checked: every message of each stack must have arrived with
 * its stack's RSA signature (d= the bench domain), or the case fails. Measured: messages/s until
 * all are accepted (250) and until all reached the sink, and the CPU seconds of the stack.
 */
import { address, type BenchContext } from './context.js';
import { submissionMessage } from './messages.js';
import { type Samples, sample } from './metrics.js';
import { cpuSeconds } from './procs.js';
import { SmtpClient } from './smtp-client.js';
import type { BenchStack } from './stack.js';
import { sleep } from './util.js';

interface SubResult {
  /** DKIM-Signature header fields with d=<bench domain> that reached the sink, by algorithm. */
  signatures: { rsa: number; ed25519: number };
  acceptedPerSec: number;
  relayedPerSec: number;
  cpuSeconds: number;
  partsMsPerMessage: [number, number];
}

/** Counts the DKIM-Signature fields (unfolded) of `domain` in a dump of messages, by algorithm. */
export function countSignatures(dump: string, domain: string): { rsa: number; ed25519: number } {
  const out = { rsa: 0, ed25519: 0 };
  for (const m of dump.matchAll(/^DKIM-Signature:[^\n]*(?:\n[ \t][^\n]*)*/gim)) {
    const field = m[0].replace(/\r?\n[ \t]+/g, ' ');
    const d = /(?:^|[;\s])d=\s*([^;\s]+)/i.exec(field.slice('DKIM-Signature:'.length))?.[1]?.toLowerCase();
    if (d !== domain.toLowerCase()) continue;
    if (/(?:^|[;\s])a=\s*rsa-sha256/i.test(field)) out.rsa++;
    else if (/(?:^|[;\s])a=\s*ed25519-sha256/i.test(field)) out.ed25519++;
  }
  return out;
}

async function submit(ctx: BenchContext, stack: BenchStack, repeat: number): Promise<SubResult> {
  const n = ctx.sizes.submissionMessages;
  const base = ctx.sink.received;
  const dumpMark = ctx.sink.dumpOffset();
  const cpu0 = cpuSeconds(stack.rootPids());
  const parts0 = stack.cpuParts();
  let next = 0;
  const t0 = performance.now();
  const sessions = Array.from({ length: Math.min(ctx.sizes.submissionSessions, ctx.localParts.length) }, async (_, s) => {
    const from = address(ctx, ctx.localParts[s]!);
    const c = await SmtpClient.open(stack.submissionPort, from, ctx.password);
    while (next < n) {
      const i = next++;
      const to = `rcpt${i % 500}@remote.bench.example`;
      await c.send(from, to, submissionMessage(from, to, repeat * 1_000_000 + i));
    }
    await c.quit();
  });
  await Promise.all(sessions);
  const acceptedAt = performance.now();
  const deadline = Date.now() + Math.max(120_000, n * 100);
  while (ctx.sink.received - base < n && Date.now() < deadline) await sleep(20);
  const relayedAt = performance.now();
  if (ctx.sink.received - base < n) throw new Error(`${stack.name}: only ${ctx.sink.received - base} of ${n} submissions reached the sink`);
  const cpu = cpuSeconds(stack.rootPids()) - cpu0;
  const parts1 = stack.cpuParts();
  const partsMsPerMessage: [number, number] = [((parts1[0] - parts0[0]) * 1000) / n, ((parts1[1] - parts0[1]) * 1000) / n];
  // smtp-sink appends a message to its dump when the transaction ends: give the last ones a moment
  let signatures = countSignatures(ctx.sink.dumpSince(dumpMark), ctx.domain);
  for (let i = 0; i < 50 && signatures.rsa < n; i++) {
    await sleep(100);
    signatures = countSignatures(ctx.sink.dumpSince(dumpMark), ctx.domain);
  }
  if (signatures.rsa < n) throw new Error(`${stack.name}: ${signatures.rsa} of ${n} relayed messages carry an RSA DKIM signature of ${ctx.domain}`);
  return { signatures, partsMsPerMessage, acceptedPerSec: n / ((acceptedAt - t0) / 1000), relayedPerSec: n / ((relayedAt - t0) / 1000), cpuSeconds: cpu };
}

export async function submissionCase(ctx: BenchContext, repeat: number): Promise<Samples> {
  const order: BenchStack[] = repeat % 2 === 0 ? [ctx.postern, ctx.reference] : [ctx.reference, ctx.postern];
  const res: Record<string, SubResult> = {};
  for (const s of order) {
    ctx.log(`submission: ${s.name}, ${ctx.sizes.submissionMessages} messages`);
    res[s.name] = await submit(ctx, s, repeat);
    await sleep(500); // the sink's counter is shared: let stragglers settle
  }
  const p = res.postern!;
  const r = res.reference!;
  const n = ctx.sizes.submissionMessages;
  ctx.notes.push(
    `submission: both stacks DKIM-sign (checked at the sink): Postern ${p.signatures.rsa}/${n} RSA + ${p.signatures.ed25519}/${n} Ed25519, ` +
      `reference ${r.signatures.rsa}/${n} RSA (Postfix + OpenDKIM milter); relayed ${(p.relayedPerSec / r.relayedPerSec).toFixed(2)}× = ` +
      `${((p.relayedPerSec / r.relayedPerSec / 2) * 100).toFixed(0)}% of the 2× goal`,
  );
  ctx.notes.push(
    'submission: Haraka calls the appliance four times per message (submit.mail, rcpt.check, submit.admit, the delivery report); ' +
      "a domain's DKIM keys and its outbound route are kept in Haraka until the appliance pushes a write to domains, keys or routes (seven calls before the fourth round of issue 18)",
  );
  ctx.notes.push(
    "submission (issue 18, tenth round): DKIM signatures (RSA-2048 + Ed25519, ~0.6 ms per 4 KiB message) are made on Haraka's message thread, not its event loop (Haraka main-thread CPU per message 4.06 -> 3.64 ms in one pair on a loaded machine; whole-process CPU unchanged)",
  );
  ctx.notes.push(
    "submission (issue 18, eleventh round): Haraka keeps a relayed message's outbound connection for the next message to the same target (RSET instead of QUIT after an accepted message, then MAIL FROM on the same connection; 5 s idle, 100 messages a connection, 32 idle per target; Haraka 3.3.4 connected, greeted, EHLO'd, STARTTLS'd and AUTH'd again per message) and sends delivery reports to the appliance once per quarter second (deferrals and bounces at once) instead of one call per message",
  );
  return [
    sample('submission', 'submission.accepted', 'accepted (250 to the client)', 'msg/s', 'higher', p.acceptedPerSec, r.acceptedPerSec),
    sample('submission', 'submission.relayed', 'relayed to smtp-sink (end to end)', 'msg/s', 'higher', p.relayedPerSec, r.relayedPerSec),
    sample('submission', 'submission.cpu', 'CPU of the stack', 's', 'lower', p.cpuSeconds, r.cpuSeconds),
    sample('submission', 'submission.cpuPerMsg.part1', 'CPU per message: appliance | Postfix', 'ms', 'lower', p.partsMsPerMessage[0], r.partsMsPerMessage[0]),
    sample('submission', 'submission.cpuPerMsg.part2', 'CPU per message: Haraka | Dovecot', 'ms', 'lower', p.partsMsPerMessage[1], r.partsMsPerMessage[1]),
  ];
}
