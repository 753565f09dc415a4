/** Offboarding of a mailbox: plan, apply, verify, undo (the core executes and audits each step). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { applyOffboarding, getOffboarding, planOffboarding, undoOffboarding, verifyOffboarding } from '../../../appliance/core/offboarding/offboarding.service.js';
import { Type } from 'typebox';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors } from '../../schemas/common.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';
import { Applied, ApplyBody, Offboarding, Plan, PlanBody, UndoBody, Undone, Verification } from '../../schemas/offboarding.schemas.js';

const offboardingRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/mailboxes/:mailboxId/offboarding/plan',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['offboarding'],
        summary: 'Every residual access path of the person behind the mailbox (changes nothing)',
        params: MailboxParams,
        body: PlanBody,
        response: { 200: Plan, ...authedErrors() },
      },
    },
    async (req) => planOffboarding(actorOf(req), core, req.params.mailboxId, req.body ?? {}),
  );

  app.post(
    '/mailboxes/:mailboxId/offboarding/apply',
    {
      config: { permission: 'mailboxes.offboard' },
      schema: {
        tags: ['offboarding'],
        summary:
          'Offboard in order: disable login, revoke sessions and app passwords, sweep forwards, aliases, send-as, transfer dependents, convert (disabled, shared or alias), auto-reply text, retention; each step audited',
        params: MailboxParams,
        body: ApplyBody,
        response: { 200: Applied, ...authedErrors(409) },
      },
    },
    async (req) => applyOffboarding(actorOf(req), core, req.params.mailboxId, req.body),
  );

  app.post(
    '/mailboxes/:mailboxId/offboarding/verify',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['offboarding'],
        summary: 'The plan’s enumeration after apply: ok when no residual access path is left',
        params: MailboxParams,
        response: { 200: Verification, ...authedErrors() },
      },
    },
    async (req) => verifyOffboarding(actorOf(req), core, req.params.mailboxId),
  );

  app.post(
    '/mailboxes/:mailboxId/offboarding/undo',
    {
      config: { permission: 'mailboxes.offboard' },
      schema: {
        tags: ['offboarding'],
        summary: 'Within the grace period: restore the state recorded in the offboarding’s audit events (revoked credentials stay revoked)',
        params: MailboxParams,
        body: UndoBody,
        response: { 200: Undone, ...authedErrors(409) },
      },
    },
    async (req) => undoOffboarding(actorOf(req), core, req.params.mailboxId, req.body),
  );

  app.get(
    '/mailboxes/:mailboxId/offboarding',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['offboarding'],
        summary: 'The latest offboarding of the mailbox and its audited steps (null: never offboarded)',
        params: MailboxParams,
        response: { 200: Type.Union([Offboarding, Type.Null()]), ...authedErrors() },
      },
    },
    async (req) => getOffboarding(actorOf(req), core, req.params.mailboxId),
  );
};

export default offboardingRoutes;
