/**
 * BINARY (RFC 3516): a body part with its Content-Transfer-Encoding undone. FETCH asks for the
 * part's raw body through the ordinary section reader and decodes it here; partial ranges and
 * BINARY.SIZE apply to the decoded bytes.
 */
import { decodeTransfer } from '../mailstore/mime/decode.js';
import type { MessageMeta, MimePart } from '../mailstore/mime/types.js';

/** Encodings we can undo (RFC 3516 4.2: others answer NO [UNKNOWN-CTE]). */
const KNOWN = new Set(['7bit', '8bit', 'binary', 'base64', 'quoted-printable']);

/** The part a section path names (RFC 3501 6.4.5 part numbering), or null. */
export function partAt(root: MimePart, path: number[]): MimePart | null {
  let part: MimePart = root;
  for (const n of path) {
    if (part.message && !part.parts) part = part.message.root;
    if (part.parts) {
      const next = part.parts[n - 1];
      if (!next) return null;
      part = next;
    } else if (n !== 1) return null;
  }
  return part;
}

/** The encoding to undo for a BINARY section: null for the whole message (sent as stored). */
export function binaryEncoding(meta: MessageMeta | null, path: number[]): string | null {
  if (!path.length || !meta) return null;
  const part = partAt(meta.root, path);
  if (!part || part.parts || part.message) return null;
  return part.encoding;
}

export function knownEncoding(encoding: string | null): boolean {
  return encoding === null || KNOWN.has(encoding);
}

export function decodeBinary(raw: Buffer, encoding: string | null, partial: { start: number; length: number } | null): Buffer {
  let out = encoding && encoding !== '7bit' && encoding !== '8bit' && encoding !== 'binary' ? decodeTransfer(raw, encoding) : raw;
  if (partial) out = out.subarray(Math.min(partial.start, out.length), Math.min(partial.start + partial.length, out.length));
  return out;
}
