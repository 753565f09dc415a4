/**
 * The ENVELOPE text kept per message (bodystructure.ts envelopeToString) is one flat string
 * (issue 18, round 9): a text made by concatenation stays a tree of its pieces in V8, and every
 * FETCH response built around the kept text flattened that tree again when it was written
 * (about two thirds of a warm FETCH 1:* (FLAGS ENVELOPE)'s CPU on 1,200 messages). Whether a string
 * is flat is not visible to JavaScript; V8's own test function tells (natives syntax, turned on
 * for the functions compiled here only).
 */
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { envelopeToString } from '../../appliance/imap/bodystructure.js';
import { parseMessage } from '../../appliance/mailstore/mime/index.js';

setFlagsFromString('--allow-natives-syntax');
// A sequential (flat) string can be internalized in place; a concatenation (cons string) cannot.
const isFlat = new Function('s', 'return %IsInPlaceInternalizableString(s)') as (s: string) => boolean;

const raw = (i: number, from: string) =>
  Buffer.from(
    `From: ${from}\r\nTo: "Team" <team@example.net>, b@example.net\r\nCc: c${i}@example.org\r\nSubject: Quarterly report no. ${i}\r\n` +
      `Date: Mon, 6 Jan 2025 10:00:00 +0000\r\nMessage-ID: <m${i}@example.org>\r\nIn-Reply-To: <p${i}@example.org>\r\n\r\nbody\r\n`,
  );

describe('ENVELOPE text', () => {
  it('is one flat string, with the same text as the pieces joined', () => {
    // Natives syntax works here (the check itself is sound): a concatenation is not flat.
    const a = 'x'.repeat(20);
    expect(isFlat(`(${a} ${a})`)).toBe(false);
    expect(isFlat([a, a].join(' '))).toBe(true);

    for (const [i, from] of ['"Alice Martin" <alice@example.com>', '=?utf-8?q?Chlo=C3=A9_Dubois?= <chloe@example.net>', 'undisclosed-recipients:;'].entries()) {
      const env = parseMessage(raw(i, from)).envelope;
      const text = envelopeToString(env);
      expect(isFlat(text), from).toBe(true);
      expect(envelopeToString(env)).toBe(text); // kept: the same string again
    }
    const text = envelopeToString(parseMessage(raw(7, '"Alice Martin" <alice@example.com>')).envelope);
    expect(text).toBe(
      '("Mon, 6 Jan 2025 10:00:00 +0000" "Quarterly report no. 7" (("Alice Martin" NIL "alice" "example.com")) (("Alice Martin" NIL "alice" "example.com")) ' +
        '(("Alice Martin" NIL "alice" "example.com")) (("Team" NIL "team" "example.net")(NIL NIL "b" "example.net")) ((NIL NIL "c7" "example.org")) NIL "<p7@example.org>" "<m7@example.org>")',
    );
  });
});
