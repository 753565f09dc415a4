/**
 * THREAD trees in typed arrays (appliance/imap/thread-tree.ts; issue 18, ninth round) answer
 * exactly as the object tree of the eighth round (test/helpers/thread-nodes-reference.ts) for
 * random inputs: shared and missing parents, reference loops, duplicate and absent Message-IDs,
 * tied and empty subjects, replies, tied dates and dates that are not whole numbers, sibling
 * lists short and long (insertion, packed native sort, comparison sort); and a folder's tree
 * makes a fixed number of objects, not one per message.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatThreads, orderedSubjectThreads, referenceThreads } from '../../appliance/imap/sort.js';
import type { ThreadInput } from '../../appliance/imap/thread-tree.js';
import { formatNodes, orderedSubjectNodes, referenceNodes } from '../helpers/thread-nodes-reference.js';

interface Message {
  id: number;
  refs: number[];
  subject: number;
  reply: boolean;
  date: number;
}

function inputOf(messages: Message[], emptySubject: number): ThreadInput {
  const refs: number[] = [];
  const refEnd: number[] = [];
  for (const m of messages) {
    refs.push(...m.refs);
    refEnd.push(refs.length);
  }
  return {
    dates: messages.map((m) => m.date),
    subjects: messages.map((m) => m.subject),
    emptySubject,
    replies: messages.map((m) => (m.reply ? 1 : 0)),
    ids: messages.map((m) => m.id),
    refEnd,
    refs,
  };
}

const messageArb = (codes: number, subjects: number, dates: fc.Arbitrary<number>): fc.Arbitrary<Message> =>
  fc.record({
    id: fc.integer({ min: -1, max: codes - 1 }),
    refs: fc.array(fc.integer({ min: 0, max: codes - 1 }), { maxLength: 5 }),
    subject: fc.integer({ min: 0, max: subjects - 1 }),
    reply: fc.boolean(),
    date: dates,
  });

function same(input: ThreadInput): void {
  const ids = Array.from({ length: input.dates.length }, (_, i) => 100 + i);
  expect(formatThreads(referenceThreads(input), ids)).toBe(formatNodes(referenceNodes(input), ids));
  expect(formatThreads(orderedSubjectThreads(input), ids)).toBe(formatNodes(orderedSubjectNodes(input), ids));
}

describe('THREAD tree in typed arrays', () => {
  it('answers as the object tree for small random folders (collisions everywhere)', () => {
    fc.assert(
      fc.property(fc.array(messageArb(8, 4, fc.integer({ min: 0, max: 4 })), { maxLength: 40 }), fc.integer({ min: -1, max: 3 }), (messages, empty) => {
        same(inputOf(messages, empty));
      }),
      { seed: 1809, numRuns: 1000 },
    );
  });

  it('answers as the object tree for larger folders: long sibling lists, fractional and huge dates', () => {
    // Whole dates (sibling lists sorted natively) and, in other folders, some that are not (a comparison sort).
    const whole = fc.integer({ min: 0, max: 50 });
    const mixed = fc.oneof(whole, fc.double({ min: 0, max: 10, noNaN: true }), fc.constantFrom(0, 2 ** 60, -(2 ** 60)));
    for (const [dates, seed] of [
      [whole, 1810],
      [mixed, 1811],
    ] as const) {
      fc.assert(
        fc.property(fc.array(messageArb(600, 30, dates), { minLength: 200, maxLength: 800 }), fc.integer({ min: -1, max: 29 }), (messages, empty) => {
          same(inputOf(messages, empty));
        }),
        { seed, numRuns: 40 },
      );
    }
  });

  it('threads a folder of reply chains as the object tree does, with no object per message', () => {
    // The large-folder bench's shape: threads of 8, each message referring to all before it in its thread.
    const n = 20_000;
    const messages: Message[] = Array.from({ length: n }, (_, i) => {
      const root = i - (i % 8);
      return { id: i, refs: Array.from({ length: i % 8 }, (_, k) => root + k), subject: root / 8, reply: i % 8 > 0, date: (i * 7919) % 10_000 };
    });
    const input = inputOf(messages, -1);
    same(input);
    const tree = referenceThreads(input);
    // Nine columns and the root list: the same objects for any number of messages.
    const objects = Object.values(tree).filter((v) => typeof v === 'object' && v !== null);
    expect(objects.length).toBeLessThanOrEqual(10);
    expect(tree.roots.length).toBe(n / 8);
  });
});
