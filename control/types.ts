/**
 * Fastify type augmentation for the control plane: every route declares the permission it
 * needs (`config.permission`, or 'public' for the routes of the public context), and an
 * authenticated request carries its actor.
 */
import type { Actor, Permission } from '../appliance/core/kernel/authz.js';

export type RoutePermission = Permission | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: RoutePermission;
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}
