/**
 * Bulk creation: plan (CSV or JSON rows), apply in the background, report, verify, roll back.
 * CSV bodies (text/csv, at most 8 MiB) are parsed in this plugin's encapsulated scope only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { rowsFromCsv, type BulkRowInput } from '../../../appliance/core/portfolio/bulk.js';
import { applyBatch, createBatch, getBatch, listBatches, rollbackBatch, verifyBatch } from '../../../appliance/core/portfolio/bulk.service.js';
import { invalid } from '../../../appliance/core/kernel/errors.js';
import type { PortfolioDeps } from '../../../appliance/core/delivery/mailer.js';
import { actorOf } from '../../plugins/authn.js';
import {
  ApplyBatchBody,
  Batch,
  BatchAccepted,
  BatchParams,
  BatchSummary,
  BatchVerification,
  CreateBatchBody,
  CreateBatchQuery,
  RollbackBatchBody,
  VerifyBatchBody,
} from '../../schemas/batches.schemas.js';
import { authedErrors } from '../../schemas/common.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const CSV_LIMIT = 8 * 1024 * 1024;

const batchesRoutes: FastifyPluginAsyncTypebox<{ core: PortfolioDeps }> = async (app, { core }) => {
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: CSV_LIMIT }, (_req, body, done) => done(null, body));

  app.post(
    '/tenants/:tenantId/batches',
    {
      config: { permission: 'mailboxes.create' },
      bodyLimit: CSV_LIMIT,
      schema: {
        tags: ['batches'],
        summary:
          'Plan a bulk creation (dry run: nothing is created). Body: JSON {rows} or text/csv with a header row (local_part, domain, display_name, owner_name, owner_email, business_owner_name, business_owner_email, reset_destination, quota, role, aliases). Request id: Idempotency-Key header or requestId; the same id with the same rows answers the same batch (200).',
        params: TenantParams,
        querystring: CreateBatchQuery,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: { content: { 'application/json': { schema: CreateBatchBody }, 'text/csv': { schema: Type.String({ description: 'CSV with a header row' }) } } } as unknown as typeof CreateBatchBody,
        response: { 200: Batch, 201: Batch, ...authedErrors(409, 413) },
      },
    },
    async (req, reply) => {
      const body = req.body as unknown;
      const q = req.query;
      let rows: BulkRowInput[];
      let opts: { requestId?: string; approvalRef?: string; allowUnverifiedDomains?: boolean };
      if (typeof body === 'string') {
        rows = rowsFromCsv(body);
        opts = { requestId: q.requestId, approvalRef: q.approvalRef, allowUnverifiedDomains: q.allowUnverifiedDomains === 'true' };
      } else {
        // Per-content-type schemas are not applied to a missing body: refuse it here (400, not a 500).
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('a body is required: JSON {"rows": [...]} or text/csv with a header row', { field: 'body' });
        const b = body as { rows: BulkRowInput[]; requestId?: string; approvalRef?: string; allowUnverifiedDomains?: boolean };
        rows = b.rows;
        opts = { requestId: b.requestId ?? q.requestId, approvalRef: b.approvalRef ?? q.approvalRef, allowUnverifiedDomains: b.allowUnverifiedDomains ?? q.allowUnverifiedDomains === 'true' };
      }
      const header = req.headers['idempotency-key'];
      const key = typeof header === 'string' ? header : undefined;
      if (key && opts.requestId && key !== opts.requestId) throw invalid('Idempotency-Key and requestId differ', { field: 'requestId' });
      const { batch, replay } = await createBatch(actorOf(req), core, req.params.tenantId, {
        rows,
        requestId: key ?? opts.requestId ?? '',
        approvalRef: opts.approvalRef,
        allowUnverifiedDomains: opts.allowUnverifiedDomains,
      });
      if (replay) reply.header('idempotent-replayed', 'true');
      return reply.code(replay ? 200 : 201).send(batch);
    },
  );

  app.get(
    '/tenants/:tenantId/batches',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['batches'], summary: "A tenant's batches, newest first", params: TenantParams, response: { 200: Type.Array(BatchSummary), ...authedErrors() } },
    },
    async (req) => listBatches(actorOf(req), core, req.params.tenantId),
  );

  app.get(
    '/batches/:batchId',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['batches'],
        summary: 'A batch: state, progress, plan and report (created, links delivered, links used, pending)',
        params: BatchParams,
        response: { 200: Batch, ...authedErrors() },
      },
    },
    async (req) => getBatch(actorOf(req), core, req.params.batchId),
  );

  app.post(
    '/batches/:batchId/apply',
    {
      config: { permission: 'mailboxes.create' },
      schema: {
        tags: ['batches'],
        summary:
          'Apply a planned batch in the background (202; follow GET /batches/{id}). all-or-nothing refuses while any row is refused or awaits approval; valid-rows creates the valid rows. Role accounts are created only when listed in approvedRows (with an approvalRef). Applying again creates nothing.',
        params: BatchParams,
        body: ApplyBatchBody,
        response: { 202: BatchAccepted, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(202).send(await applyBatch(actorOf(req), core, req.params.batchId, req.body)),
  );

  app.post(
    '/batches/:batchId/rollback',
    {
      config: { permission: 'mailboxes.delete' },
      schema: {
        tags: ['batches'],
        summary:
          "Roll a batch back: disable its mailboxes first (no login, no delivery, links expired, sessions revoked), then move them and the batch's aliases to the recycle bin. Needs mailboxes.suspend too.",
        params: BatchParams,
        body: RollbackBatchBody,
        response: { 200: Batch, ...authedErrors(409) },
      },
    },
    async (req) => rollbackBatch(actorOf(req), core, req.params.batchId, req.body ?? {}),
  );

  app.post(
    '/batches/:batchId/verify',
    {
      config: { permission: 'mailboxes.create' },
      schema: {
        tags: ['batches'],
        summary: 'The batch report plus a delivery test: routing and a test message through the store to a random sample of the new mailboxes',
        params: BatchParams,
        body: VerifyBatchBody,
        response: { 200: BatchVerification, ...authedErrors(409) },
      },
    },
    async (req) => verifyBatch(actorOf(req), core, req.params.batchId, req.body ?? {}),
  );
};

export default batchesRoutes;
