/**
 * The preview text (RFC 8970) takes lines only until it is known (issue 18, APPEND: the whole
 * text part, up to 64 KiB, was split, joined, collapsed and spread into code points at every
 * ingest for 200 of them). The answer is the one of the whole-text computation it replaced, here
 * kept as the reference: table cases at the edges (quoted lines, CRLF and bare CR, white space at
 * the 400-unit check, surrogate pairs at the 200th code point) and seeded random texts.
 */
import { describe, expect, it } from 'vitest';
import { previewText } from '../../appliance/mailstore/mime/preview.js';

/** The computation before this change. */
function reference(text: string): string {
  const t = text
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('>'))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...t];
  return chars.length > 200 ? chars.slice(0, 200).join('') : t;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PIECES = ['a', 'word ', 'x', ' ', '  ', '\t', '\r\n', '\n', '\r', '> quoted', '>', '\u00a0', '\u2028', 'é', '😀', '\ud83d', '\ude00', '  \r\n  ', 'longer words here '];

describe('previewText', () => {
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['one line', 'Hello world'],
    ['quoted lines dropped', '> old\r\nnew text\r\n> older\r\nmore'],
    ['trailing newline', 'text\n'],
    ['only white space', ' \r\n\t \n '],
    ['bare CR kept inside a line', 'a\rb\r\n>c\rd\ne'],
    ['long, white space after 400 units', 'x'.repeat(400) + ' '.repeat(50) + '\r\n' + 'y'.repeat(10)],
    ['long, only white space after the first lines', 'x'.repeat(850) + '\r\n' + ' \r\n'.repeat(500)],
    ['surrogate pairs across the 200th code point', '😀'.repeat(150) + 'a' + '😀'.repeat(600)],
    ['many short lines', Array.from({ length: 3000 }, (_, i) => (i % 3 ? `line ${i}` : `> q ${i}`)).join('\r\n')],
    ['quoted block first', '> q\r\n'.repeat(2000) + 'the new part'],
  ];
  it.each(cases)('%s: as the whole-text computation', (_, text) => {
    expect(previewText(text)).toBe(reference(text));
  });

  it('answers as the whole-text computation on 3,000 random texts', () => {
    const r = rng(20261207);
    for (let k = 0; k < 3000; k++) {
      const n = Math.floor(r() * (k % 10 === 0 ? 4000 : 400));
      let text = '';
      for (let i = 0; i < n; i++) text += PIECES[Math.floor(r() * PIECES.length)]!;
      expect(previewText(text)).toBe(reference(text));
    }
  });
});
