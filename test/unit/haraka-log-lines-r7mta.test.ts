/**
 * Haraka's forwarded log lines and the per-message delivery line skip the root logger's wildcard
 * redaction paths (issue 18): a forwarded line's fields are censored key by key at any depth
 * (censorSecrets), its AUTH exchange by the Haraka redactor, and the line still carries what an
 * admin reads (message id, recipient, result). Every other line keeps pino's paths.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { censorSecrets, createLogger, REDACT_PATHS, unredacted } from '../../appliance/logger.js';
import { HarakaLogRedactor, harakaLogLine } from '../../appliance/mta/log-redaction.js';

function sink(): { lines: () => Array<Record<string, unknown>>; stream: { write(chunk: string): void } } {
  const out: string[] = [];
  return {
    stream: { write: (chunk: string) => void out.push(chunk) },
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('censorSecrets', () => {
  it('replaces the value of every key a redaction path names, at any depth and in any letter case', () => {
    const keys = [...new Set(REDACT_PATHS.map((p) => p.replace(/^.*[.[]/, '').replace(/["\]]/g, '')))];
    for (const key of keys) {
      const line = { [key]: 's1', a: { [key]: 's2', b: [{ c: { [key.toUpperCase()]: 's3' } }] }, keep: 'visible' };
      censorSecrets(line);
      expect(JSON.stringify(line), key).not.toMatch(/s[123]/);
      expect(line.keep).toBe('visible');
    }
  });

  it('leaves other fields as they were and replaces a subtree nested past its depth whole', () => {
    const line: Record<string, unknown> = { uuid: 'U1.1', mid: '<m@x>', rcpts: '1/0/0', list: ['a', 1, null] };
    censorSecrets(line);
    expect(line).toEqual({ uuid: 'U1.1', mid: '<m@x>', rcpts: '1/0/0', list: ['a', 1, null] });
    let deep: Record<string, unknown> = { password: 'deep-secret' };
    for (let i = 0; i < 40; i++) deep = { n: deep };
    censorSecrets(deep);
    expect(JSON.stringify(deep)).not.toContain('deep-secret');
  });
});

describe("Haraka's forwarded lines", () => {
  const redactor = new HarakaLogRedactor();

  it('keep the message, level and fields an admin reads', () => {
    const line = harakaLogLine(JSON.stringify({ level: 'NOTICE', uuid: 'U1.1', origin: 'core', mid: '<404b@client.test>', size: 4281, rcpts: '1/0/0', code: 'CONT', message: 'message' }), redactor);
    expect(line).toEqual({ level: 'info', msg: 'message', fields: { uuid: 'U1.1', origin: 'core', mid: '<404b@client.test>', size: 4281, rcpts: '1/0/0', code: 'CONT' } });
    expect(harakaLogLine('[WARN] [core] plain line', redactor)).toEqual({ level: 'warn', msg: '[WARN] [core] plain line', fields: {} });
    expect(harakaLogLine('   ', redactor)).toBeNull();
  });

  it('carry no secret: AUTH lines redacted, secret fields censored at any depth', () => {
    const auth = harakaLogLine(JSON.stringify({ level: 'PROTOCOL', uuid: 'U2', message: 'C: AUTH PLAIN AGEAYg==' }), redactor)!;
    expect(auth.msg).toBe('C: AUTH PLAIN [redacted]');
    const nested = harakaLogLine(
      JSON.stringify({ level: 'NOTICE', uuid: 'U3', auth_pass: 'p1', mx: { auth_pass: 'p2', route: { password: 'p3' } }, s3: { creds: { secretAccessKey: 'p4' } }, message: 'get_mx' }),
      redactor,
    )!;
    expect(JSON.stringify(nested)).not.toMatch(/p[1-4]/);
    expect(nested.fields.uuid).toBe('U3');
  });

  it('go out through a child without the redaction paths, other lines keep them', () => {
    const s = sink();
    const log = createLogger('info', { destination: s.stream as unknown as pino.DestinationStream }).child({ service: 'haraka' });
    const lines = unredacted(log);
    const l = harakaLogLine(JSON.stringify({ level: 'NOTICE', uuid: 'U4', token: 'tok-1', message: 'queue' }), redactor)!;
    lines[l.level]({ event: 'mta.log', haraka: l.fields }, l.msg);
    lines.info({ event: 'mta.log', queueId: 'Q1' }, 'message stored');
    lines.debug({ event: 'mta.log' }, 'below the level');
    log.info({ event: 'mta.log', nested: { password: 'pw-2' } }, 'other line');
    expect(s.lines()).toEqual([
      expect.objectContaining({ service: 'haraka', event: 'mta.log', haraka: { uuid: 'U4', token: '[redacted]' }, msg: 'queue' }),
      expect.objectContaining({ service: 'haraka', queueId: 'Q1', msg: 'message stored' }),
      expect.objectContaining({ service: 'haraka', nested: { password: '[redacted]' }, msg: 'other line' }),
    ]);
  });
});
