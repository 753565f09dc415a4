/**
 * Fuzzes the MIME parser (appliance/mailstore/mime): parseMessage must never throw and must
 * answer quickly; every part it reports lies within the message; the helpers it exports
 * (address lists, encoded words, parameters, transfer decoding, text extraction) never throw.
 */
import fc from 'fast-check';
import { decodeTransfer, decodeWords, parseAddressList, parseMessage, parseParams, textOf } from '../../appliance/mailstore/mime/index.js';
import type { MimePart } from '../../appliance/mailstore/mime/index.js';
import { type FuzzOptions, type FuzzResult, mutated, runFuzz } from './harness.js';

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const headerValue = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom('=?utf-8?B?w6nDqMOg?=', '=?iso-8859-1?Q?caf=E9?=', '=?x?Q?', '=?utf-8?B?!!!?=', '"Quoted \\" Name" <a@b.example>', 'a@b, c@d; group: e@f;', '<>', '(comment (nested)) x@y'),
);
const contentType = fc.oneof(
  fc.constantFrom('text/plain; charset=utf-8', 'text/html; charset="iso-8859-1"', "application/octet-stream; name*=utf-8''%E2%82%AC.bin", 'message/rfc822', 'text/plain; charset=x-unknown'),
  fc.tuple(fc.constantFrom('multipart/mixed', 'multipart/alternative', 'multipart/related', 'multipart/digest'), fc.string({ maxLength: 20 })).map(([t, b]) => `${t}; boundary="${b}"`),
);
const encoding = fc.constantFrom('7bit', '8bit', 'base64', 'quoted-printable', 'binary', 'x-uuencode', '');

/** A message tree: headers, then a body or boundary-delimited parts (nested up to depth). */
function message(depth: number): fc.Arbitrary<string> {
  const headers = fc.array(fc.tuple(fc.oneof(token, fc.constantFrom('From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'In-Reply-To', 'Content-Disposition')), headerValue), { maxLength: 8 });
  const leafBody = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.base64String({ maxLength: 200 }), fc.constantFrom('=E9=\r\n=3D=\r\nsoft=\r\n', '=\r\n', '=ZZ'));
  const leaf = fc
    .tuple(headers, contentType, encoding, leafBody)
    .map(
      ([hs, ct, te, body]) => `${hs.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\nContent-Type: ${ct.replace(/^multipart\/\w+.*/, 'text/plain')}\r\nContent-Transfer-Encoding: ${te}\r\n\r\n${body}`,
    );
  if (depth <= 0) return leaf;
  const multi = fc
    .tuple(headers, fc.constantFrom('mixed', 'alternative', 'related'), fc.stringMatching(/^[A-Za-z0-9'()+_,./:=? -]{1,30}$/), fc.array(message(depth - 1), { maxLength: 4 }), fc.boolean())
    .map(
      ([hs, sub, boundary, parts, closed]) =>
        `${hs.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\nContent-Type: multipart/${sub}; boundary="${boundary}"\r\n\r\npreamble\r\n${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}${closed ? `--${boundary}--\r\nepilogue` : ''}`,
    );
  return fc.oneof(leaf, multi);
}

function walk(part: MimePart, raw: Buffer, visit: (p: MimePart) => void): void {
  visit(part);
  for (const child of (part as { parts?: MimePart[] }).parts ?? []) walk(child, raw, visit);
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const arb = fc.oneof({ weight: 3, arbitrary: mutated(message(3)) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2000 }) }, { weight: 1, arbitrary: message(4) });
  return runFuzz(
    'mime',
    arb,
    (text) => {
      const raw = Buffer.from(text, 'latin1');
      const meta = parseMessage(raw);
      walk(meta.root, raw, (p) => {
        for (const k of ['headerStart', 'bodyStart', 'bodyEnd'] as const) {
          const v = p[k];
          if (!Number.isInteger(v) || v < 0 || v > raw.length) throw new Error(`part ${k}=${v} outside the message (${raw.length} bytes)`);
        }
        if (p.bodyStart > p.bodyEnd || p.headerStart > p.bodyStart) throw new Error(`part offsets out of order: ${p.headerStart} ${p.bodyStart} ${p.bodyEnd}`);
        textOf(raw, p, 64 * 1024);
        decodeTransfer(raw.subarray(p.bodyStart, p.bodyEnd), p.encoding);
      });
      const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
      parseAddressList(firstLine);
      decodeWords(firstLine);
      parseParams(firstLine);
    },
    opts,
  );
}
