/**
 * The bulk CSV reader (csv-parse underneath): what spreadsheets and hand-edited files produce
 * comes back as the same records, with our row numbering and our error for a broken quote.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { parseCsv, rowsFromCsv } from '../../appliance/core/portfolio/bulk.js';

describe('parseCsv', () => {
  it.each([
    [
      'a BOM is dropped',
      '\ufeffa,b\r\nc,d',
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    ],
    ['CRLF, LF and CR endings, mixed in one file', 'a\r\nb\nc\rd', [['a'], ['b'], ['c'], ['d']]],
    ['quoted separators, line breaks and doubled quotes', '"x,y","line\none","say ""hi"""', [['x,y', 'line\none', 'say "hi"']]],
    ['a stray quote inside an unquoted field is kept', 'O"Brien,b', [['O"Brien', 'b']]],
    ['short and long rows are kept as they are', 'a,b,c\nd\ne,f,g,h', [['a', 'b', 'c'], ['d'], ['e', 'f', 'g', 'h']]],
    ['blank lines (and lines of spaces) are skipped', 'a\n\n   \nb\n', [['a'], ['b']]],
    ['a lone surrogate comes back unchanged', 'a,\ud800b', [['a', '\ud800b']]],
  ])('%s', (_name, text, records) => {
    expect(parseCsv(text)).toEqual(records);
  });

  it('refuses a quote that is never closed, as Invalid', () => {
    const err = (() => {
      try {
        parseCsv('a,"open\nb');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('Invalid');
    expect((err as AppError).message).toBe('CSV: a quoted field is not closed');
  });
});

describe('rowsFromCsv', () => {
  it('maps headers (any case, spaces, dashes) onto row fields; row 1 is the first data row', () => {
    const rows = rowsFromCsv('\ufeffLocal Part,DOMAIN,owner-name,Owner_Email,aliases\r\n"anna.b",client.example,"Anna, B",anna@home.example,"ab;anna"\r\n');
    expect(rows).toEqual([{ localPart: 'anna.b', domain: 'client.example', ownerName: 'Anna, B', ownerEmail: 'anna@home.example', aliases: 'ab;anna' }]);
  });

  it('splits an address column into local part and domain', () => {
    expect(rowsFromCsv('address,owner_name\nbob@client.example,Bob')).toEqual([{ localPart: 'bob', domain: 'client.example', ownerName: 'Bob' }]);
  });

  it('names unknown columns', () => {
    expect(() => rowsFromCsv('local_part,shoe_size\nx,42')).toThrow(/shoesize/);
  });
});
