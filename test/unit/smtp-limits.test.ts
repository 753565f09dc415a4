/** Pure parts of connect.postern-limits and of the Haraka log redaction. */
import { describe, expect, it } from 'vitest';
import { CommandLineGuard, DataRate, SessionCounter, SharedSessionCounter } from '../../mta-plugins/connect.postern-limits/lib/limits.js';
import { HarakaLogRedactor, redactAuthCommand } from '../../appliance/mta/log-redaction.js';

describe('SessionCounter', () => {
  it('caps unauthenticated sessions per address and all sessions; authenticated ones leave the per-address count', () => {
    const c = new SessionCounter({ maxSessions: 4, maxSessionsPerIp: 2 });
    expect([c.admit('a'), c.admit('a'), c.admit('a')]).toEqual([{ ok: true }, { ok: true }, { ok: false, reason: 'per_ip' }]);
    c.authenticated('a');
    expect(c.admit('a')).toEqual({ ok: true });
    expect(c.admit('b')).toEqual({ ok: true });
    expect(c.admit('c')).toEqual({ ok: false, reason: 'global' });
    c.closed('b', true);
    expect(c.sessions).toBe(3);
    expect(c.unauthenticatedFrom('a')).toBe(2);
  });
});

describe('SharedSessionCounter (the Haraka master, for all workers)', () => {
  it('counts sessions of every process against one cap, and releases the sessions of a process that died', () => {
    const c = new SharedSessionCounter({ maxSessions: 5, maxSessionsPerIp: 2 });
    expect([c.admit(1, 'a'), c.admit(2, 'a'), c.admit(1, 'a')]).toEqual([{ ok: true }, { ok: true }, { ok: false, reason: 'per_ip' }]);
    c.authenticated(2, 'a'); // worker 2's session authenticated: leaves the per-address cap
    expect(c.admit(1, 'a')).toEqual({ ok: true });
    expect(c.admit(2, 'b')).toEqual({ ok: true });
    expect(c.sessions).toBe(4);
    // Worker 2 dies holding an authenticated session from a and one from b.
    c.release(2);
    expect(c.sessions).toBe(2);
    expect(c.unauthenticatedFrom('a')).toBe(2);
    expect(c.unauthenticatedFrom('b')).toBe(0);
    // A late close from the dead worker changes nothing; worker 1's closes do.
    c.closed(2, 'b', true);
    expect(c.sessions).toBe(2);
    c.closed(1, 'a', true);
    expect([c.sessions, c.unauthenticatedFrom('a')]).toEqual([1, 1]);
  });
});

describe('CommandLineGuard', () => {
  it('512 octets per command line, 12,288 for AUTH, across chunks', () => {
    const g = new CommandLineGuard();
    expect(g.push(Buffer.from(`NOOP ${'a'.repeat(505)}\r\n`))).toBe('ok');
    expect(g.push(Buffer.from('a'.repeat(300)))).toBe('ok');
    expect(g.push(Buffer.from('a'.repeat(213)))).toBe('too-long');
    const auth = new CommandLineGuard();
    expect(auth.push(Buffer.from(`AUTH PLAIN ${'A'.repeat(5000)}\r\n`))).toBe('ok');
    expect(auth.push(Buffer.from(`AU`))).toBe('ok');
    expect(auth.push(Buffer.from(`TH PLAIN ${'A'.repeat(13_000)}`))).toBe('too-long');
  });
});

describe('DataRate', () => {
  it('cuts below the floor per window and at the deadline', () => {
    const r = new DataRate({ dataMinRateBytesPerSecond: 100, dataRateWindowSeconds: 2, dataTimeoutSeconds: 10 }, 0);
    r.add(150);
    expect(r.check(1000)).toBeNull();
    r.add(100);
    expect(r.check(2000)).toBeNull(); // 250 ≥ 200
    r.add(10);
    expect(r.check(4000)).toBe('too-slow');
    const d = new DataRate({ dataMinRateBytesPerSecond: 0, dataRateWindowSeconds: 2, dataTimeoutSeconds: 10 }, 0);
    expect(d.check(9_999)).toBeNull();
    expect(d.check(10_000)).toBe('deadline');
  });
});

describe('Haraka log redaction', () => {
  it('redacts AUTH initial responses, AUTH LOGIN continuation lines and unrecognized_command params', () => {
    const r = new HarakaLogRedactor();
    expect(r.redact('C: AUTH PLAIN AGEAYg==', { uuid: 'U1' })).toBe('C: AUTH PLAIN [redacted]');
    expect(r.redact('S: 235 2.7.0 ok', { uuid: 'U1' })).toBe('S: 235 2.7.0 ok');
    expect(r.redact('C: MAIL FROM:<a@b>', { uuid: 'U1.1' })).toBe('C: MAIL FROM:<a@b>');
    expect(r.redact('C: AUTH LOGIN', { uuid: 'U2' })).toBe('C: AUTH LOGIN');
    expect(r.redact('S: 334 VXNlcm5hbWU6', { uuid: 'U2' })).toBe('S: 334 VXNlcm5hbWU6');
    expect(r.redact('C: dXNlcg==', { uuid: 'U2' })).toBe('C: [redacted]');
    const fields: Record<string, unknown> = { uuid: 'U2', hook: 'unrecognized_command', params: 'c2VjcmV0' };
    expect(r.redact('', fields)).toBe('');
    expect(fields.params).toBe('[redacted]');
    expect(r.redact('C: c2VjcmV0', { uuid: 'U2' })).toBe('C: [redacted]');
    expect(r.redact('S: 535 5.7.8 no', { uuid: 'U2' })).toBe('S: 535 5.7.8 no');
    expect(r.redact('C: QUIT', { uuid: 'U2' })).toBe('C: QUIT');
    expect(r.redact('[PROTOCOL] [x] C: AUTH PLAIN AGEAYg==', {})).toBe('[PROTOCOL] [x] C: AUTH PLAIN [redacted]');
    expect(redactAuthCommand('auth login dXNlcg==')).toBe('auth login [redacted]');
  });
});
