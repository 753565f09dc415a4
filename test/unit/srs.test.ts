import { describe, expect, it } from 'vitest';
import { Srs } from '../../appliance/core/sending/srs.js';

describe('SRS', () => {
  const srs = new Srs('secret-for-tests');
  const now = Date.UTC(2026, 10, 22);

  it('rewrites a sender into our domain and reverses it, also after case folding', () => {
    const rewritten = srs.forward('Someone@Elsewhere.test', 'send.test', now);
    expect(rewritten).toMatch(/^SRS0=[a-z2-7]{6}=[a-z2-7]{2}=Elsewhere\.test=Someone@send\.test$/);
    expect(srs.reverse(rewritten, now)?.toLowerCase()).toBe('someone@elsewhere.test');
    expect(srs.reverse(rewritten.toLowerCase(), now)).toBe('someone@elsewhere.test');
    expect(srs.reverse(rewritten.toUpperCase(), now)?.toLowerCase()).toBe('someone@elsewhere.test');
  });

  it('refuses forged, tampered and stale addresses', () => {
    const rewritten = srs.forward('a@b.test', 'send.test', now);
    expect(srs.reverse(rewritten.replace('=b.test=', '=c.test='), now)).toBeNull();
    expect(new Srs('another-secret').reverse(rewritten, now)).toBeNull();
    expect(srs.reverse('SRS0=aaaaaa=aa=b.test=a@send.test', now)).toBeNull();
    expect(srs.reverse(rewritten, now + 30 * 86_400_000)).toBeNull();
    expect(srs.reverse(rewritten, now + 20 * 86_400_000)).toBe('a@b.test');
  });

  it('keeps the null sender and does not rewrite twice', () => {
    expect(srs.forward('', 'send.test', now)).toBe('');
    const once = srs.forward('a@b.test', 'send.test', now);
    expect(srs.forward(once, 'send.test', now)).toBe(once);
  });
});
