/**
 * Exports (a mailbox's or a tenant's mail and control data as a streamed tar archive) and the
 * point-in-time restore of one mailbox from a backup on the appliance. The core decides who may
 * (mailboxes.export; backups.restore) and answers NotFound for another tenant's objects.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { type ExportArchive as Archive, type ExportMailSource, exportMailbox, exportTenant } from '../../../appliance/core/export/export.service.js';
import { type RestoreMailTarget, restoreMailboxFromBackup } from '../../../appliance/core/export/mailbox-restore.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors } from '../../schemas/common.js';
import { ExportArchive, ExportQuery, RestoreFromBackupBody, RestoreFromBackupResult } from '../../schemas/export.schemas.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

type Mail = (ExportMailSource & RestoreMailTarget) | null;

function sendArchive(reply: import('fastify').FastifyReply, a: Archive) {
  reply.header('content-type', 'application/x-tar');
  reply.header('content-disposition', `attachment; filename="${a.filename.replace(/[^A-Za-z0-9@._-]/g, '_')}"`);
  reply.header('x-export-messages', String(a.messages));
  reply.header('x-export-folders', String(a.folders));
  reply.header('cache-control', 'no-store');
  return reply.send(Readable.from(a.stream, { objectMode: false }));
}

const exportRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps; mail: Mail }> = async (app, { core, mail }) => {
  const deps = { ...core, mail };
  app.get(
    '/mailboxes/:mailboxId/export',
    {
      config: { permission: 'mailboxes.export' },
      schema: {
        tags: ['export'],
        summary: 'Export a mailbox: its mail (mbox or Maildir) and control data as a streamed tar archive (audited)',
        params: MailboxParams,
        querystring: ExportQuery,
        produces: ['application/x-tar'],
        response: { 200: ExportArchive, ...authedErrors(503) },
      },
    },
    async (req, reply) => sendArchive(reply, await exportMailbox(actorOf(req), deps, req.params.mailboxId, req.query.format ?? 'mbox')),
  );

  app.get(
    '/tenants/:tenantId/export',
    {
      config: { permission: 'mailboxes.export' },
      schema: {
        tags: ['export'],
        summary: "Export a tenant: every mailbox's mail (mbox or Maildir), the mailboxes, aliases, forwards, ownership records and the tenant's audit extract, as a streamed tar archive (audited)",
        params: TenantParams,
        querystring: ExportQuery,
        produces: ['application/x-tar'],
        response: { 200: ExportArchive, ...authedErrors(503) },
      },
    },
    async (req, reply) => sendArchive(reply, await exportTenant(actorOf(req), deps, req.params.tenantId, req.query.format ?? 'mbox')),
  );

  app.post(
    '/mailboxes/:mailboxId/restore-from-backup',
    {
      config: { permission: 'backups.restore' },
      schema: {
        tags: ['export'],
        summary: 'Point-in-time restore: put a mailbox (or one folder) back from a postern backup on the appliance into the live store; messages still present are skipped (audited)',
        params: MailboxParams,
        body: RestoreFromBackupBody,
        response: { 200: RestoreFromBackupResult, ...authedErrors(409, 413, 503) },
      },
    },
    async (req) => restoreMailboxFromBackup(actorOf(req), deps, req.params.mailboxId, req.body),
  );
};

export default exportRoutes;
