/**
 * IMAP migration jobs (issue 20): start a copy of a mailbox from another provider, watch its
 * progress, run it again (incremental) and cancel it. The copy runs in the appliance's
 * background runner; these routes record and enqueue.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { cancelMigration, getMigration, listMigrations, runMigration, startMigration, type MigrationDeps } from '../../../appliance/core/migration/index.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors } from '../../schemas/common.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';
import { Migration, MigrationParams, RunMigrationBody, StartMigrationBody } from '../../schemas/migrations.schemas.js';

const migrationsRoutes: FastifyPluginAsyncTypebox<{ core: MigrationDeps }> = async (app, { core }) => {
  app.post(
    '/mailboxes/:mailboxId/migrations',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['migrations'],
        summary: 'Start an IMAP migration into the mailbox (copied in the background; credentials stored sealed, never returned)',
        params: MailboxParams,
        body: StartMigrationBody,
        response: { 201: Migration, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await startMigration(actorOf(req), core, req.params.mailboxId, req.body)),
  );

  app.get(
    '/mailboxes/:mailboxId/migrations',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['migrations'], summary: 'The IMAP migrations of a mailbox, newest first', params: MailboxParams, response: { 200: Type.Array(Migration), ...authedErrors() } },
    },
    async (req) => listMigrations(actorOf(req), core, req.params.mailboxId),
  );

  app.get(
    '/migrations/:migrationId',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['migrations'], summary: 'One IMAP migration: state, progress per folder, the last run’s report', params: MigrationParams, response: { 200: Migration, ...authedErrors() } },
    },
    async (req) => getMigration(actorOf(req), core, req.params.migrationId),
  );

  app.post(
    '/migrations/:migrationId/run',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['migrations'],
        summary: 'Run the migration again: copies only what is new (resumes an interrupted or failed run; the final pass before the MX switch)',
        params: MigrationParams,
        body: Type.Optional(RunMigrationBody),
        response: { 200: Migration, ...authedErrors(409) },
      },
    },
    async (req) => runMigration(actorOf(req), core, req.params.migrationId, req.body ?? {}),
  );

  app.post(
    '/migrations/:migrationId/cancel',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['migrations'],
        summary: 'Cancel the migration (a running copy stops at the next message); the source credential is wiped',
        params: MigrationParams,
        response: { 200: Migration, ...authedErrors(409) },
      },
    },
    async (req) => cancelMigration(actorOf(req), core, req.params.migrationId),
  );
};

export default migrationsRoutes;
