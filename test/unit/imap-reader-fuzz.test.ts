/**
 * Fuzzing the IMAP literal reader and command parser (fast-check, fixed seed, bounded inputs):
 * random byte streams built from IMAP fragments (commands, literals of both kinds with right
 * and wrong sizes, over-long lines, bare LF, binary) must frame the same way however the bytes
 * are split into chunks, never exceed the reader's bounds, never throw anything but a syntax
 * error from the parser, and give the same literal bytes whether a literal is kept in memory
 * or spilled to a temporary file.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ImapSyntaxError, parseCommand } from '../../appliance/imap/parser.js';
import { CommandReader, type CommandUnit, loadSpilled, type ReaderLimits } from '../../appliance/imap/reader.js';

const LIMITS: ReaderLimits = {
  maxLineBytes: 200,
  maxCommandBytes: 400,
  maxLiteral: (prefix) => (/^\S+ APPEND /i.test(prefix) ? 3000 : 300),
  maxNonSyncLiteral: 1000,
  abortOversizedNonSync: false,
};

const spillDir = mkdtempSync(path.join(tmpdir(), 'postern-reader-fuzz-'));
afterAll(() => rmSync(spillDir, { recursive: true, force: true }));

type Event = string | CommandUnit;

const describeUnit = (u: CommandUnit) => `unit ${JSON.stringify(u.parts.map((p) => (typeof p === 'string' ? p : `<${p.toString('latin1')}>`)))}`;

/** Feeds `chunks` to a reader that grants every literal that fits; returns what it emitted (spilled literals read back). */
async function frame(chunks: Buffer[], opts: { spill?: boolean; limits?: ReaderLimits } = {}): Promise<{ events: string[]; units: CommandUnit[]; maxBuffered: number }> {
  const raw: Event[] = [];
  const units: CommandUnit[] = [];
  const limits = opts.limits ?? LIMITS;
  const reader: CommandReader = new CommandReader(
    limits,
    {
      unit: (u) => {
        units.push(u);
        raw.push(u);
      },
      rejected: (tag, reason) => raw.push(`rejected ${tag} ${reason}`),
      literalRequest: (u, size) => {
        const ok = reader.fits(u, size);
        raw.push(`request ${size} ${ok}`);
        reader.literalDecision(ok);
      },
      aborted: (tag, size) => raw.push(`aborted ${tag} ${size}`),
    },
    opts.spill ? { dir: spillDir, thresholdBytes: 16 } : null,
  );
  let maxBuffered = 0;
  for (const c of chunks) {
    reader.push(c);
    maxBuffered = Math.max(maxBuffered, reader.bufferedBytes);
  }
  // The connection ends: a half-read command's temporary file goes with it.
  reader.dispose();
  for (const u of units) await loadSpilled(u);
  return { events: raw.map((e) => (typeof e === 'string' ? e : describeUnit(e))), units, maxBuffered };
}

const fragment = fc.oneof(
  fc.constantFrom('a NOOP', 'b LOGIN user pass', 'c SELECT INBOX', 'd FETCH 1:* (FLAGS BODY.PEEK[HEADER])', 'e APPEND INBOX', 'f SEARCH OR (', 'g UID', ')', '"q\\"x"', ' ', 'x'),
  fc.constantFrom('\r\n', '\n', '\r'),
  fc.integer({ min: 0, max: 400 }).map((n) => `{${n}}\r\n`),
  fc.integer({ min: 0, max: 1200 }).map((n) => `{${n}+}\r\n`),
  fc.integer({ min: 0, max: 3500 }).map((n) => `e APPEND INBOX {${n}}\r\n${'m'.repeat(n)}\r\n`),
  fc.integer({ min: 0, max: 300 }).map((n) => 'L'.repeat(n)),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString('latin1')),
);

const stream = fc.array(fragment, { maxLength: 30 }).map((parts) => Buffer.from(parts.join(''), 'latin1'));

/** Splits a buffer at the given (sorted, deduplicated) cut points. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(buf.subarray(at, p));
    at = p;
  }
  out.push(buf.subarray(at));
  return out.filter((c) => c.length);
}

describe('IMAP reader and parser fuzzing (fast-check, seed 1313)', () => {
  it('frames the same way however the input is chunked, within its bounds', async () => {
    await fc.assert(
      fc.asyncProperty(stream, fc.array(fc.nat(), { maxLength: 12 }), async (buf, cuts) => {
        const whole = await frame([buf]);
        const chunked = await frame(split(buf, cuts));
        expect(chunked.events).toEqual(whole.events);
        for (const u of whole.units) {
          expect(u.textBytes).toBeLessThanOrEqual(LIMITS.maxCommandBytes);
          const first = typeof u.parts[0] === 'string' ? u.parts[0] : '';
          expect(u.literalBytes).toBeLessThanOrEqual(LIMITS.maxLiteral(first));
        }
        // Line, command text and literal bounds plus one unconsumed chunk at most.
        expect(chunked.maxBuffered).toBeLessThanOrEqual(LIMITS.maxLineBytes + LIMITS.maxCommandBytes + 3000 + buf.length);
      }),
      { seed: 1313, numRuns: 1500 },
    );
  });

  it('spilled literals read back byte for byte, and leave no file behind', async () => {
    await fc.assert(
      fc.asyncProperty(stream, fc.array(fc.nat(), { maxLength: 8 }), async (buf, cuts) => {
        const mem = await frame([buf]);
        const disk = await frame(split(buf, cuts), { spill: true });
        expect(disk.events).toEqual(mem.events);
      }),
      { seed: 1313, numRuns: 500 },
    );
    expect(readdirSync(spillDir)).toEqual([]);
  });

  it('the parser answers every framed unit or throws a syntax error, nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(stream, async (buf) => {
        for (const u of (await frame([buf])).units) {
          try {
            parseCommand(u);
          } catch (err) {
            expect(err).toBeInstanceOf(ImapSyntaxError);
          }
        }
      }),
      { seed: 1313, numRuns: 3000 },
    );
  });

  it('before login (LITERAL-): a non-synchronising literal over the limit stops the reader at once', async () => {
    const preAuth: ReaderLimits = { maxLineBytes: 100, maxCommandBytes: 200, maxLiteral: () => 4096, maxNonSyncLiteral: 4096, abortOversizedNonSync: true };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4097, max: 1e9 }), fc.uint8Array({ maxLength: 5000 }), async (size, tail) => {
        const r = await frame([Buffer.from(`a LOGIN x {${size}+}\r\n`), Buffer.from(tail), Buffer.from('b NOOP\r\n')], { limits: preAuth });
        expect(r.events).toEqual([`aborted a ${size}`]);
        expect(r.maxBuffered).toBe(0);
      }),
      { seed: 1313, numRuns: 300 },
    );
  });
});
