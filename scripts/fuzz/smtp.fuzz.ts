/**
 * Fuzzes the SMTP envelope and header handling of our Haraka plugins (pure parts, as Haraka
 * calls them): the From:-header address extraction of submission, the envelope addresses as
 * Haraka's own parser builds them for our hooks, the refusal replies, the DMARC decision and the
 * command-line guard of connect.postern-limits (checked against a reference model).
 */
import fc from 'fast-check';
import { headerAddresses } from '../../mta-plugins/auth.postern-submission/lib/addresses.js';
import { AUTH_LINE_MAX, COMMAND_LINE_MAX, CommandLineGuard } from '../../mta-plugins/connect.postern-limits/lib/limits.js';
import { decide } from '../../mta-plugins/data.postern-auth/lib/decision.js';
import { refusalReply } from '../../mta-plugins/rcpt.postern-routing/lib/refusals.js';
import type { RecipientRefusal } from '../../appliance/core/delivery/routing.js';
import { type FuzzOptions, type FuzzResult, mutated, runFuzz } from './harness.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Address } = require('@haraka/email-address') as { Address: new (s: string) => { user: string | null; host: string | null; address: string } };

const REFUSALS: RecipientRefusal[] = ['not-hosted', 'unknown', 'disabled', 'over-quota', 'too-big-for-quota'];
const address = fc.oneof(
  fc.emailAddress(),
  fc.string({ maxLength: 60 }),
  fc.constantFrom('<>', '<@a,@b:x@y>', '"quoted local"@x.example', 'x@[127.0.0.1]', 'x@[IPv6:::1]', 'üñí@ex.example', '<x@y> SIZE=10', 'a'.repeat(300) + '@x'),
);
const header = mutated(
  fc.oneof(fc.constantFrom('"Ann (x)" <ann@a.example>, bob@b.example', 'Group: a@a.example, "q\\"x" <b@b.example>;', '=?utf-8?Q?x?= <x@y.example>', '(c) <a@b>'), fc.string({ maxLength: 80 })),
);

/** Reference model of the guard: the first line (in bytes, LF included) that exceeds its limit. */
function expectedTooLong(chunks: string[]): boolean {
  const all = chunks.join('');
  for (const line of all.split(/(?<=\n)/)) {
    const limit = /^AUTH[ \r]|^AUTH$/i.test(line.slice(0, 5)) ? AUTH_LINE_MAX : COMMAND_LINE_MAX;
    if (Buffer.byteLength(line, 'latin1') > limit) return true;
  }
  return false;
}

type Input = { kind: 'header'; value: string } | { kind: 'envelope'; value: string; refusal: number } | { kind: 'dmarc'; value: unknown } | { kind: 'guard'; chunks: string[] };

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const lineArb = fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength: 40 }),
    fc.integer({ min: 400, max: 14_000 }).map((n) => 'x'.repeat(n)),
    fc.constantFrom('AUTH PLAIN ', 'auth login\r\n', 'AUTH\r\n', 'MAIL FROM:<a@b>\r\n', '\r\n', '\n'),
  );
  const arb: fc.Arbitrary<Input> = fc.oneof(
    header.map((value) => ({ kind: 'header' as const, value })),
    fc.tuple(address, fc.nat()).map(([value, refusal]) => ({ kind: 'envelope' as const, value, refusal })),
    fc
      .oneof(
        fc.anything(),
        fc.record({
          status: fc.record({ result: fc.constantFrom('fail', 'pass', 'none', 'x') }),
          policy: fc.constantFrom('reject', 'quarantine', 'none', ''),
          pct: fc.oneof(fc.integer(), fc.double()),
        }),
      )
      .map((value) => ({ kind: 'dmarc' as const, value })),
    fc.array(lineArb, { maxLength: 12 }).map((parts) => ({ kind: 'guard' as const, chunks: parts })),
  );
  return runFuzz(
    'smtp',
    arb,
    (input) => {
      switch (input.kind) {
        case 'header': {
          const out = headerAddresses(input.value);
          for (const a of out) if (!a.includes('@') || a !== a.toLowerCase()) throw new Error(`bad address ${a}`);
          return;
        }
        case 'envelope': {
          let parsed: { user: string | null; host: string | null; address: string } | null = null;
          try {
            parsed = new Address(input.value);
          } catch {
            /* Haraka answers 501 for what it cannot parse: our hooks never see it */
          }
          const a = parsed ? `${parsed.user ?? ''}@${parsed.host ?? ''}`.toLowerCase() : input.value;
          const [code, reply] = refusalReply(REFUSALS[input.refusal % REFUSALS.length]!, a);
          if (typeof code !== 'number' || !reply) throw new Error('no refusal reply');
          return;
        }
        case 'dmarc': {
          const r = decide(input.value as Parameters<typeof decide>[0], () => 0.5);
          if (!['accept', 'junk', 'reject'].includes(r.action)) throw new Error(`bad action ${r.action}`);
          return;
        }
        case 'guard': {
          const g = new CommandLineGuard();
          let tooLong = false;
          for (const c of input.chunks) {
            if (g.push(Buffer.from(c, 'latin1')) === 'too-long') {
              tooLong = true;
              break;
            }
          }
          if (tooLong !== expectedTooLong(input.chunks)) throw new Error(`guard said ${tooLong} for lines of ${input.chunks.map((c) => c.length).join(',')}`);
        }
      }
    },
    opts,
  );
}
