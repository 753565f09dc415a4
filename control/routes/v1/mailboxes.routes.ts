import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { resumeMailbox, suspendMailbox } from '../../../appliance/core/mailboxes/mailbox-lifecycle.service.js';
import { rollbackMailbox, transferOwnership, updateMailbox } from '../../../appliance/core/mailboxes/mailbox-settings.service.js';
import { createMailbox, getMailbox, listMailboxes, listTenantMailboxes } from '../../../appliance/core/mailboxes/mailboxes.service.js';
import { mailboxOwnership } from '../../../appliance/core/portfolio/ownership.service.js';
import { deleteMailbox, recycleBin, restoreMailbox } from '../../../appliance/core/mailboxes/recycle-bin.service.js';
import { actorOf } from '../../plugins/authn.js';
import { keptJson } from '../../plugins/kept-json.js';
import { authedErrors, boolOf, Deleted, DeleteQuery, DeletionIntent, pageFrom } from '../../schemas/common.js';
import { DomainParams } from '../../schemas/domains.schemas.js';
import {
  CreateMailboxBody,
  DomainMailboxListQuery,
  Mailbox,
  MailboxCreated,
  MailboxListQuery,
  MailboxParams,
  Ownership,
  ReasonBody,
  RecycleBin,
  RollbackBody,
  TransferOwnershipBody,
  UpdateMailboxBody,
} from '../../schemas/mailboxes.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const mailboxesRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/domains/:domainId/mailboxes',
    {
      config: { permission: 'mailboxes.create' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Create a mailbox with its ownership record; returns a single-use setup link for the owner',
        params: DomainParams,
        body: CreateMailboxBody,
        response: { 201: MailboxCreated, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await createMailbox(actorOf(req), core, req.params.domainId, req.body)),
  );

  app.get(
    '/domains/:domainId/mailboxes',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['mailboxes'],
        summary: "List a domain's mailboxes (filters: status, isRole, q; sort)",
        params: DomainParams,
        querystring: DomainMailboxListQuery,
        response: { 200: Type.Array(Mailbox), ...authedErrors() },
      },
    },
    async (req) => {
      const q = req.query;
      return listMailboxes(actorOf(req), core, req.params.domainId, pageFrom(q), { status: q.status, isRole: boolOf(q.isRole), q: q.q, sort: q.sort });
    },
  );

  app.get(
    '/tenants/:tenantId/mailboxes',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['mailboxes'],
        summary: "List a tenant's mailboxes across its domains (filters: domainId, status, isRole, q; sort)",
        params: TenantParams,
        querystring: MailboxListQuery,
        response: { 200: Type.Array(Mailbox), ...authedErrors() },
      },
    },
    async (req, reply) => {
      const q = req.query;
      // a kept page (shared until a write) is serialized once: its JSON text is answered after
      return keptJson(
        reply,
        await listTenantMailboxes(actorOf(req), core, req.params.tenantId, pageFrom(q), { domainId: q.domainId, status: q.status, isRole: boolOf(q.isRole), q: q.q, sort: q.sort }),
      );
    },
  );

  app.get(
    '/mailboxes/:mailboxId',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['mailboxes'], summary: 'Read a mailbox and its ownership record', params: MailboxParams, response: { 200: Mailbox, ...authedErrors() } },
    },
    async (req) => getMailbox(actorOf(req), core, req.params.mailboxId),
  );

  app.patch(
    '/mailboxes/:mailboxId',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Change display name, quota, role flag, reset destination (validated) or business owner; the owner changes by transfer',
        params: MailboxParams,
        body: UpdateMailboxBody,
        response: { 200: Mailbox, ...authedErrors(409) },
      },
    },
    async (req) => updateMailbox(actorOf(req), core, req.params.mailboxId, req.body),
  );

  app.delete(
    '/mailboxes/:mailboxId',
    {
      config: { permission: 'mailboxes.delete' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Two-step delete: without ?confirm answers 202 with an intent and its impact; with ?confirm=<intent id> moves the mailbox to the recycle bin',
        params: MailboxParams,
        querystring: DeleteQuery,
        response: { 200: Deleted, 202: DeletionIntent, ...authedErrors(409, 410) },
      },
    },
    async (req, reply) => {
      const r = await deleteMailbox(actorOf(req), core, req.params.mailboxId, req.query);
      return reply.code('intent' in r ? 202 : 200).send(r);
    },
  );

  app.post(
    '/mailboxes/:mailboxId/restore',
    {
      config: { permission: 'mailboxes.delete' },
      schema: { tags: ['mailboxes'], summary: 'Restore a mailbox from the recycle bin, with its mail', params: MailboxParams, body: ReasonBody, response: { 200: Mailbox, ...authedErrors(409) } },
    },
    async (req) => restoreMailbox(actorOf(req), core, req.params.mailboxId, req.body ?? {}),
  );

  app.get(
    '/tenants/:tenantId/recycle-bin',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Deleted mailboxes and domains that can still be restored, with their purge times',
        params: TenantParams,
        response: { 200: RecycleBin, ...authedErrors() },
      },
    },
    async (req) => recycleBin(actorOf(req), core, req.params.tenantId),
  );

  app.get(
    '/mailboxes/:mailboxId/ownership',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Who owns the mailbox, who can reset it and how, what changed last and what it can be rolled back to',
        params: MailboxParams,
        response: { 200: Ownership, ...authedErrors() },
      },
    },
    async (req) => mailboxOwnership(actorOf(req), core, req.params.mailboxId),
  );

  app.post(
    '/mailboxes/:mailboxId/ownership/transfer',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Transfer ownership to a new owner of record, with the approver and reason (audited; closes open sessions by default)',
        params: MailboxParams,
        body: TransferOwnershipBody,
        response: { 200: Mailbox, ...authedErrors(409) },
      },
    },
    async (req) => transferOwnership(actorOf(req), core, req.params.mailboxId, req.body),
  );

  app.post(
    '/mailboxes/:mailboxId/rollback',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Put back the settings and ownership recorded before an audit event (see rollback in the ownership answer)',
        params: MailboxParams,
        body: RollbackBody,
        response: { 200: Mailbox, ...authedErrors(409) },
      },
    },
    async (req) => rollbackMailbox(actorOf(req), core, req.params.mailboxId, req.body),
  );

  app.post(
    '/mailboxes/:mailboxId/suspend',
    {
      config: { permission: 'mailboxes.suspend' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Suspend a mailbox: logins fail and open sessions are closed at once; mail is still accepted',
        params: MailboxParams,
        body: ReasonBody,
        response: { 200: Mailbox, ...authedErrors(409) },
      },
    },
    async (req) => suspendMailbox(actorOf(req), core, req.params.mailboxId, req.body ?? {}),
  );

  app.post(
    '/mailboxes/:mailboxId/resume',
    {
      config: { permission: 'mailboxes.suspend' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Lift a suspension (active again, or pending when no password was ever set)',
        params: MailboxParams,
        body: ReasonBody,
        response: { 200: Mailbox, ...authedErrors(409) },
      },
    },
    async (req) => resumeMailbox(actorOf(req), core, req.params.mailboxId, req.body ?? {}),
  );
};

export default mailboxesRoutes;
