/** The envelope copy's chunk encoding (mailstore/envelope-copy.ts, issue 18 round 14). */
import { describe, expect, it } from 'vitest';
import { type EnvelopeRow, FolderEnvelopes, decodeChunk, encodeChunk } from '../../appliance/mailstore/envelope-copy.js';

const row = (id: number, s: string): EnvelopeRow => ({
  messageId: id,
  envelope: `("date" "${s}" NIL NIL NIL NIL NIL NIL NIL NIL)`,
  subject: s,
  from: `${s} <a@b>`,
  to: '',
  cc: 'cc',
  bcc: s.toUpperCase(),
  blobId: `blob-${id}`,
  headerPrefix: id % 2 ? `Received: ${s}\r\n` : null,
});

describe('envelope copy chunks (r14env)', () => {
  it('round-trips every field (multi-byte, surrogate pairs, a lone surrogate, empty)', () => {
    const rows = [row(3, 'plain'), row(7, 'ünïcödé'), row(2 ** 40, 'emoji 😀 pair'), row(11, 'lone \ud800 x'), row(12, '')];
    const c = decodeChunk(3, encodeChunk(rows))!;
    expect(c.length).toBe(rows.length);
    rows.forEach((r, i) => {
      const got = c.row(i);
      // a lone surrogate is written as UTF-8's replacement, as FETCH writes it
      const fixed = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' ? v.replace('\ud800', '\ufffd') : v]));
      expect(got).toEqual(fixed);
    });
    const held = new FolderEnvelopes();
    held.addChunk(c);
    expect(held.envelope(7)).toBe(rows[1]!.envelope);
    expect(held.subject(2 ** 40)).toBe('emoji 😀 pair');
    expect(held.address(7, 'bcc')).toBe('ÜNÏCÖDÉ');
    expect(held.envelope(5)).toBeUndefined();
  });

  it('reads no chunk cut short, grown, or of another version', () => {
    const buf = encodeChunk([row(1, 'a'), row(2, 'bé')]);
    expect(decodeChunk(1, buf.subarray(0, buf.length - 1))).toBeNull();
    expect(decodeChunk(1, Buffer.concat([buf, Buffer.from('x')]))).toBeNull();
    const other = Buffer.from(buf);
    other.writeUInt32LE(2, 0);
    expect(decodeChunk(1, other)).toBeNull();
    expect(decodeChunk(1, Buffer.alloc(3))).toBeNull();
  });
});
