/**
 * The envelope copy's encoding (issue 18, thirteenth round): texts come back as written, as UTF-8
 * bytes (multi-byte characters, surrogate pairs, a lone surrogate as FETCH would write it), and a
 * copy cut short or of another version is not read.
 */
import { describe, expect, it } from 'vitest';
import { decodeEnvelopes, encodeEnvelopes, type EnvelopeRow } from '../../appliance/mailstore/envelope-copy.js';

const rows: EnvelopeRow[] = [
  { messageId: 7, envelope: '("Mon, 1 Jan 2024" {5}\r\nünï NIL NIL NIL NIL NIL NIL NIL NIL NIL)', blobId: 'b7', headerPrefix: null },
  { messageId: 2 ** 40, envelope: '(NIL "😀 smile" NIL NIL NIL NIL NIL NIL NIL NIL)', blobId: 'blob-40', headerPrefix: 'Received: from x\r\n' },
  { messageId: 3, envelope: `(NIL "lone \ud800 surrogate" NIL NIL NIL NIL NIL NIL NIL NIL)`, blobId: '', headerPrefix: 'X: ü\r\n' },
];

describe('envelope copy encoding (r13env)', () => {
  it('gives back each row, byte for byte as UTF-8', () => {
    const copy = decodeEnvelopes(encodeEnvelopes(rows))!;
    expect(copy.length).toBe(3);
    rows.forEach((r, i) => {
      const got = copy.row(i);
      expect(copy.id(i)).toBe(r.messageId);
      expect(got.messageId).toBe(r.messageId);
      expect(Buffer.from(got.envelope, 'utf8').equals(Buffer.from(r.envelope, 'utf8'))).toBe(true);
      expect(got.blobId).toBe(r.blobId);
      expect(got.headerPrefix).toBe(r.headerPrefix);
    });
    expect(copy.row(0).envelope).toBe(rows[0]!.envelope);
    expect(copy.row(1).envelope).toBe(rows[1]!.envelope);
    expect(decodeEnvelopes(encodeEnvelopes([]))!.length).toBe(0);
  });

  it('reads no copy cut short, grown or of another version', () => {
    const data = encodeEnvelopes(rows);
    expect(decodeEnvelopes(data.subarray(0, data.length - 1))).toBeNull();
    expect(decodeEnvelopes(Buffer.concat([data, Buffer.from('x')]))).toBeNull();
    expect(decodeEnvelopes(data.subarray(0, 10))).toBeNull();
    const other = Buffer.from(data);
    other.write('{"v":9', 4);
    expect(decodeEnvelopes(other)).toBeNull();
  });
});
