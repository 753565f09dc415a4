/** From:-header address extraction of submission (mta-plugins/auth.postern-submission/lib/addresses.ts). */
import { describe, expect, it } from 'vitest';
import { headerAddresses } from '../../mta-plugins/auth.postern-submission/lib/addresses.js';

describe('headerAddresses', () => {
  it.each([
    ['"Ann (x)" <Ann@A.example>, bob@b.example', ['ann@a.example', 'bob@b.example']],
    ['Group: a@a.example, "q\\"x@evil" <b@b.example>;', ['b@b.example', 'a@a.example']],
    ['(comment c@c.example) <x@y.example>', ['x@y.example']],
    ['undisclosed-recipients:;', []],
    ['@x, x@, @', []],
    ['a@b@c', ['a@b@c']],
  ])('%s', (header, expected) => {
    expect(headerAddresses(header)).toEqual(expected);
  });

  it('stays linear on long runs without "@" (was quadratic: 40,000 characters took 6.3 s)', () => {
    for (const v of ['x'.repeat(200_000), `<${'x'.repeat(200_000)}`, `${'x'.repeat(100_000)}@`, '('.repeat(100_000), '"'.repeat(100_001)]) {
      // The best of three runs, so a pause of a loaded CI box does not count; a quadratic scan is slow every time.
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        headerAddresses(v);
        best = Math.min(best, performance.now() - t0);
      }
      expect(best).toBeLessThan(200);
    }
  });
});
