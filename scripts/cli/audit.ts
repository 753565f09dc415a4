/** `postern audit verify|export`: the hash-chained audit log. */
import { writeFileSync } from 'node:fs';
import type { Group } from './command.js';
import { call, callText, EXIT, UsageError } from './context.js';
import { emit, fields } from './output.js';
import { findTenant } from './resolve.js';

export const auditGroup: Group = {
  name: 'audit',
  summary: 'The audit log: verify the hash chain, export events (JSON lines or CSV)',
  commands: {
    verify: {
      summary: 'Check the hash chain of the whole audit log; exit 1 when it is broken',
      usage: '',
      async run(ctx) {
        const v = await call<{ ok: boolean; events: number; firstBadEventId?: number }>(ctx, 'GET', '/audit/verify');
        emit(ctx, v, () => ctx.out(v.ok ? `Audit chain intact: ${v.events} events verified.` : `AUDIT CHAIN BROKEN at event ${v.firstBadEventId} (${v.events} events checked).`));
        return v.ok ? EXIT.ok : EXIT.refused;
      },
    },
    export: {
      summary: 'Export matching events with their chain hashes (to stdout, or --out FILE)',
      usage: '',
      options: {
        format: { type: 'string', description: 'jsonl (default) or csv' },
        since: { type: 'string', description: 'events at or after this ISO time (2026-12-01T00:00:00Z)' },
        until: { type: 'string', description: 'events before this ISO time' },
        tenant: { type: 'string', description: 'tenant name (or id)' },
        action: { type: 'string', description: 'an action, or a prefix like mailbox.*' },
        out: { type: 'string', description: 'write to this file instead of stdout' },
      },
      async run(ctx, _args, opts) {
        const format = String(opts.format ?? 'jsonl');
        if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format is jsonl or csv');
        const params = new URLSearchParams({ format });
        for (const k of ['since', 'until'] as const) {
          if (opts[k] === undefined) continue;
          const t = Date.parse(String(opts[k]));
          if (Number.isNaN(t)) throw new UsageError(`--${k} takes an ISO date-time, got "${opts[k]}"`);
          params.set(k, new Date(t).toISOString());
        }
        if (opts.action) params.set('action', String(opts.action));
        if (opts.tenant) params.set('tenantId', (await findTenant(ctx, String(opts.tenant))).id);
        const res = await callText(ctx, `/audit/export?${params}`);
        const events = Number(res.headers.get('x-audit-events') ?? 0);
        const truncated = res.headers.get('x-audit-truncated') === 'true';
        if (!opts.out) {
          process.stdout.write(res.text);
          if (truncated) process.stderr.write('postern: the export stopped at 100 000 events; narrow it with --since/--until\n');
          return;
        }
        writeFileSync(String(opts.out), res.text);
        emit(ctx, { file: String(opts.out), format, events, truncated }, () => {
          ctx.out(`${events} audit events written to ${opts.out} (${format}).`);
          if (truncated) fields(ctx, [['note', 'stopped at 100 000 events; narrow it with --since/--until']]);
        });
      },
    },
  },
};
