/**
 * Offboarding that leaves nothing behind (CONTROL-MODEL principle 5). The use cases, one file each:
 *
 * - plan (plan.ts): every residual access path of the person behind a mailbox (enumerate.ts) — the
 *   login itself, open protocol and console sessions, app passwords, live setup/reset links, their
 *   console account and its API tokens, every forward out of the mailbox (external, internal, to
 *   the person) and in, aliases and catch-alls that deliver to the person, send-as grants from the
 *   mailbox and for the person's address, other mailboxes the person owns or whose reset
 *   destination they are.
 * - apply (apply.ts, apply-steps.ts): executes in order, one transaction, one audit event per step
 *   (each records `before`): disable login (the lifecycle's `offboard` move) → revoke sessions, app
 *   passwords, links (the one revocation call), the person's console account and tokens → remove
 *   or re-point forwards → aliases and catch-alls → send-as grants → transfer dependents to a named
 *   person → convert (disabled | shared: no direct login | alias of a successor) → auto-reply (sent
 *   by the delivery path: core/delivery/auto-reply.ts) → retention date (enforced hourly:
 *   core/mailboxes/retention.ts).
 * - verify (plan.ts): the same enumeration against the state after apply; it must be empty.
 * - undo (undo.ts, within the policy's grace period): restores the recorded `before` of each step's
 *   audit event, newest first. Revoked credentials stay revoked (sessions, app passwords, API
 *   tokens); a mailbox converted to shared has no password until its owner resets it.
 *
 * The person: the mailbox's own address (unless it stays in use as shared or alias) and its
 * owner of record's address, as recorded when the offboarding was applied. Every read and write
 * goes through the offboarding repository (db/repos/offboarding.ts), bound to the mailbox's tenant.
 */
export type { ConvertTo, OffboardingPlan, ResidualPath } from './common.js';
export { type ApplyInput, applyOffboarding } from './apply.js';
export { planOffboarding, verifyOffboarding } from './plan.js';
export { undoOffboarding } from './undo.js';
export { getOffboarding, type OffboardingView } from './view.js';
