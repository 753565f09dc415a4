/**
 * What the composition root hands the IMAP server for shared mailboxes: the core's grants
 * serving (CoreDeps.grants), the per-member \Seen index of the mail store, and the owner-managed
 * sharing of the core behind SETACL/DELETEACL/GETACL.
 */
import type { CoreDeps } from '../core/deps.js';
import { MemberSeenIndex } from '../mailstore/member-seen.js';
import type { SharedServing } from './shared-access.js';

export function sharedServing(core: CoreDeps): SharedServing {
  return { grants: core.grants, memberSeen: new MemberSeenIndex(core.db), acl: null };
}
