import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { createMailbox, getMailbox, listMailboxes } from '../../../appliance/core/mailboxes.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, PageQuery, pageFrom } from '../../schemas/common.js';
import { DomainParams } from '../../schemas/domains.schemas.js';
import { CreateMailboxBody, Mailbox, MailboxCreated, MailboxParams, Ownership, ReasonBody } from '../../schemas/mailboxes.schemas.js';
import { mailboxOwnership } from '../../../appliance/core/ownership.service.js';
import { resumeMailbox, suspendMailbox } from '../../../appliance/core/mailbox-lifecycle.service.js';

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
      schema: { tags: ['mailboxes'], summary: "List a domain's mailboxes", params: DomainParams, querystring: PageQuery, response: { 200: Type.Array(Mailbox), ...authedErrors() } },
    },
    async (req) => listMailboxes(actorOf(req), core, req.params.domainId, pageFrom(req.query)),
  );

  app.get(
    '/mailboxes/:mailboxId',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['mailboxes'], summary: 'Read a mailbox and its ownership record', params: MailboxParams, response: { 200: Mailbox, ...authedErrors() } },
    },
    async (req) => getMailbox(actorOf(req), core, req.params.mailboxId),
  );

  app.get(
    '/mailboxes/:mailboxId/ownership',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['mailboxes'],
        summary: 'Who owns the mailbox, who can reset it and how, what changed last',
        params: MailboxParams,
        response: { 200: Ownership, ...authedErrors() },
      },
    },
    async (req) => mailboxOwnership(actorOf(req), core, req.params.mailboxId),
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
