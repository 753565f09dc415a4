/**
 * `postern export`: download a mailbox's (--mailbox ADDRESS) or a tenant's (--tenant NAME)
 * export archive (tar: mail as mbox or Maildir plus control data) into --out FILE. The archive
 * is streamed from the API to the file (written under a temporary name, renamed when complete).
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { Group } from './command.js';
import { type Ctx, RefusedError, resolveTarget, UnreachableError, UsageError } from './context.js';
import { bytes, emit, fields } from './output.js';
import { findMailbox, findTenant } from './resolve.js';

/** GET `url` (below the API base) into `file`, streamed; resolves with the response headers. */
function download(ctx: Ctx, url: string, file: string): Promise<{ headers: Record<string, string | string[] | undefined>; size: number }> {
  const target = resolveTarget(process.env);
  const u = new URL(`${ctx.apiUrl}${url}`);
  const tmp = `${file}.part`;
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'GET',
        headers: { authorization: `Bearer ${ctx.api.token}` },
        ...(target.tls?.ca ? { ca: target.tls.ca } : {}),
        ...(target.tls?.servername ? { servername: target.tls.servername } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 500;
        if (status >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let body: { error?: { code?: string; message?: string } } | null = null;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              /* not JSON */
            }
            reject(new RefusedError(`GET ${url} refused: ${body?.error ? `${body.error.code} (HTTP ${status}): ${body.error.message}` : `HTTP ${status}`}`, status, body));
          });
          return;
        }
        let size = 0;
        res.on('data', (c: Buffer) => (size += c.length));
        pipeline(res, createWriteStream(tmp, { flush: true }))
          .then(() => rename(tmp, file))
          .then(() => resolve({ headers: res.headers, size }))
          .catch(async (err: unknown) => {
            await rm(tmp, { force: true });
            reject(err);
          });
      },
    );
    req.on('error', (err) => reject(new UnreachableError(`cannot reach the control plane at ${ctx.apiUrl}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    req.end();
  });
}

export const exportGroup: Group = {
  name: 'export',
  summary: "Export a mailbox's or a tenant's mail (mbox or Maildir) and control data into a tar file",
  commands: {
    '': {
      summary: 'Download the export archive of --mailbox ADDRESS or --tenant NAME into --out FILE',
      usage: '',
      options: {
        mailbox: { type: 'string', description: 'the mailbox address (or id) to export' },
        tenant: { type: 'string', description: 'the tenant name (or id) to export, every mailbox' },
        format: { type: 'string', description: 'mbox (default) or maildir' },
        out: { type: 'string', description: 'the tar file to write', required: true },
      },
      async run(ctx, _args, opts) {
        const format = String(opts.format ?? 'mbox');
        if (format !== 'mbox' && format !== 'maildir') throw new UsageError('--format is mbox or maildir');
        if ((opts.mailbox === undefined) === (opts.tenant === undefined)) throw new UsageError('name what to export: --mailbox ADDRESS or --tenant NAME');
        if (!ctx.api.token) throw new UsageError('POSTERN_TOKEN is not set: export POSTERN_TOKEN=<an operator or tenant API token>');
        const url =
          opts.mailbox !== undefined
            ? `/mailboxes/${encodeURIComponent((await findMailbox(ctx, String(opts.mailbox))).id)}/export?format=${format}`
            : `/tenants/${encodeURIComponent((await findTenant(ctx, String(opts.tenant))).id)}/export?format=${format}`;
        const started = Date.now();
        const out = String(opts.out);
        const r = await download(ctx, url, out);
        const summary = {
          file: out,
          format,
          bytes: r.size,
          messages: Number(r.headers['x-export-messages'] ?? 0),
          folders: Number(r.headers['x-export-folders'] ?? 0),
          seconds: (Date.now() - started) / 1000,
        };
        emit(ctx, summary, () =>
          fields(ctx, [
            ['file', out],
            ['format', format],
            ['messages', `${summary.messages} in ${summary.folders} folders`],
            ['size', bytes(summary.bytes)],
            ['took', `${summary.seconds.toFixed(1)} s`],
          ]),
        );
      },
    },
  },
};
