/**
 * Bulk IMAP migration (issue 20): a CSV (or JSON rows) of source accounts becomes a tenant's
 * migration batch; the plan test-logs-in to every source in the background (state planning →
 * planned), apply runs the jobs with bounded concurrency, GET shows the progress per mailbox
 * and per folder and the report. Source passwords are never returned.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { migrationRowsFromCsv, type MigrationRowInput } from '../../../appliance/core/portfolio/migration-batch-input.js';
import {
  applyMigrationBatch,
  cancelMigrationBatch,
  createMigrationBatch,
  getMigrationBatch,
  listMigrationBatches,
  type MigrationBatchDeps,
} from '../../../appliance/core/portfolio/migration-batch.service.js';
import { invalid } from '../../../appliance/core/kernel/errors.js';
import { actorOf } from '../../plugins/authn.js';
import { ApplyMigrationBatchBody, CreateMigrationBatchBody, CreateMigrationBatchQuery, MigrationBatch, MigrationBatchParams, MigrationBatchSummary } from '../../schemas/migration-batches.schemas.js';
import { authedErrors } from '../../schemas/common.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const CSV_LIMIT = 8 * 1024 * 1024;

const migrationBatchesRoutes: FastifyPluginAsyncTypebox<{ core: MigrationBatchDeps }> = async (app, { core }) => {
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: CSV_LIMIT }, (_req, body, done) => done(null, body));

  app.post(
    '/tenants/:tenantId/migration-batches',
    {
      config: { permission: 'mailboxes.manage' },
      bodyLimit: CSV_LIMIT,
      schema: {
        tags: ['migrations'],
        summary:
          'Plan a bulk IMAP migration: JSON {rows, name?, concurrency?} or text/csv with the header address,source_host,source_port,tls,user,password (name and concurrency in the query). Nothing is copied: every source is test-logged-in in the background (state planning, then planned) and its folders counted and sized.',
        params: TenantParams,
        querystring: CreateMigrationBatchQuery,
        body: {
          content: { 'application/json': { schema: CreateMigrationBatchBody }, 'text/csv': { schema: Type.String({ description: 'CSV with a header row' }) } },
        } as unknown as typeof CreateMigrationBatchBody,
        response: { 201: MigrationBatch, ...authedErrors(413) },
      },
    },
    async (req, reply) => {
      const body = req.body as unknown;
      let rows: MigrationRowInput[];
      let name: string | undefined;
      let concurrency: number | undefined;
      if (typeof body === 'string') {
        rows = migrationRowsFromCsv(body);
        name = req.query.name;
        concurrency = req.query.concurrency === undefined ? undefined : Number(req.query.concurrency);
      } else {
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('a body is required: JSON {"rows": [...]} or text/csv with a header row', { field: 'body' });
        const b = body as { rows: MigrationRowInput[]; name?: string; concurrency?: number };
        rows = b.rows;
        name = b.name ?? req.query.name;
        concurrency = b.concurrency ?? (req.query.concurrency === undefined ? undefined : Number(req.query.concurrency));
      }
      return reply.code(201).send(await createMigrationBatch(actorOf(req), core, req.params.tenantId, { rows, name, concurrency }));
    },
  );

  app.get(
    '/tenants/:tenantId/migration-batches',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['migrations'], summary: "A tenant's migration batches, newest first", params: TenantParams, response: { 200: Type.Array(MigrationBatchSummary), ...authedErrors() } },
    },
    async (req) => listMigrationBatches(actorOf(req), core, req.params.tenantId),
  );

  app.get(
    '/migration-batches/:migrationBatchId',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['migrations'],
        summary: "A migration batch: the plan's findings per source (bad credentials, folder sizes), each mailbox's job with its progress per folder, the batch's progress and the report",
        params: MigrationBatchParams,
        response: { 200: MigrationBatch, ...authedErrors() },
      },
    },
    async (req) => getMigrationBatch(actorOf(req), core, req.params.migrationBatchId),
  );

  app.post(
    '/migration-batches/:migrationBatchId/apply',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['migrations'],
        summary:
          'Apply a planned batch in the background (202; follow GET): one migration job per source whose check passed, at most `concurrency` at once. Sources that failed the check are skipped.',
        params: MigrationBatchParams,
        body: ApplyMigrationBatchBody,
        response: { 202: MigrationBatch, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(202).send(await applyMigrationBatch(actorOf(req), core, req.params.migrationBatchId, req.body ?? {})),
  );

  app.post(
    '/migration-batches/:migrationBatchId/cancel',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['migrations'],
        summary: "Cancel a batch: sources not started are cancelled, running jobs stop at the next message; the batch's sealed passwords are wiped",
        params: MigrationBatchParams,
        response: { 200: MigrationBatch, ...authedErrors(409) },
      },
    },
    async (req) => cancelMigrationBatch(actorOf(req), core, req.params.migrationBatchId),
  );
};

export default migrationBatchesRoutes;
