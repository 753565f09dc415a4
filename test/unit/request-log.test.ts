/**
 * The control plane's request lines (control/plugins/request-log.ts, issue 18) are written by a
 * child of the app's logger without its redaction paths: a line holds only the fields the plugin
 * builds (none a redaction path names; setup-link secrets in URLs are redacted by the plugin), and
 * running the root logger's wildcard paths over every field of every line cost the serving loop
 * more than the rest of the line. Every other line keeps the redaction.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { redactUrl, requestLineLogger } from '../../control/plugins/request-log.js';
import { createLogger } from '../../appliance/logger.js';

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

describe('request lines', () => {
  it('go to the app logger’s destination with its bindings and level, without its redaction paths', () => {
    const s = sink();
    const app = createLogger('info', { destination: s.stream as unknown as pino.DestinationStream }).child({ service: 'control' });
    const lines = requestLineLogger(app);
    lines.info({ reqId: 'r1', event: 'control.request', url: '/api/v1/x', token: 'not-a-secret-here' }, 'request completed');
    lines.debug({ reqId: 'r2' }, 'below the level');
    app.info({ token: 'secret', nested: { password: 'pw' } }, 'other line');
    expect(s.lines()).toEqual([
      expect.objectContaining({ service: 'control', reqId: 'r1', event: 'control.request', url: '/api/v1/x', token: 'not-a-secret-here', msg: 'request completed' }),
      expect.objectContaining({ service: 'control', token: '[redacted]', nested: { password: '[redacted]' }, msg: 'other line' }),
    ]);
  });

  it('redact setup-link secrets in the URL themselves', () => {
    expect(redactUrl('/api/v1/setup/abcdef?x=1')).toBe('/api/v1/setup/[redacted]?x=1');
    expect(redactUrl('/api/v1/operator-setup/abcdef')).toBe('/api/v1/operator-setup/[redacted]');
    expect(redactUrl('/api/v1/tenants/t1/mailboxes')).toBe('/api/v1/tenants/t1/mailboxes');
  });
});
