/**
 * Fastify type augmentation for the control plane: every route declares the permission it
 * needs (`config.permission`, 'public' for the routes of the public context, 'session' for the
 * routes of the session context, which also declare the kind of session in `config.session`),
 * and an authenticated request carries its actor (and, in the session context, its session).
 */
import type { Actor, Permission } from '../appliance/core/kernel/authz.js';
import type { SessionAuth } from '../appliance/core/access/sessions.service.js';

export type RoutePermission = Permission | 'public' | 'session';

/** Which console session a route of the session context accepts: a mailbox owner's, a principal's (operator, tenant admin), or either. */
export type SessionKind = 'owner' | 'principal' | 'either';

/** A live, checked console session. */
export type LiveSession = Extract<SessionAuth, { ok: true }>;

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: RoutePermission;
    session?: SessionKind;
  }
  interface FastifyRequest {
    actor: Actor | null;
    /** The console session of a request in the session context (set by its preHandler hook). */
    webSession: LiveSession | null;
  }
}
