/**
 * What the composition root hands the IMAP server for shared mailboxes: the core's grants
 * serving (CoreDeps.grants), the per-member \Seen index of the mail store, and the core's
 * owner-managed sharing behind SETACL/DELETEACL (policy-gated, audited as an API change, the
 * owner as actor) and GETACL (the owner reading its own mailbox's grants).
 */
import { removeGrantByOwner, setGrantByOwner } from '../core/access/grants-owner.js';
import { listGrants } from '../core/access/grants.service.js';
import type { CoreDeps } from '../core/deps.js';
import { makeActor } from '../core/kernel/authz.js';
import { MemberSeenIndex } from '../mailstore/member-seen.js';
import type { AclAdmin, SharedServing } from './shared-access.js';

function ownerAcl(core: CoreDeps): AclAdmin {
  return {
    async members(owner) {
      // The session's own mailbox (commands/acl.ts checked "a"): the serving layer reads it within the owner's tenant only.
      const actor = makeActor({ kind: 'system', tenantId: owner.tenantId, principalId: `imap:${owner.mailboxId}`, permissions: ['mailboxes.read'], readOnly: true });
      return (await listGrants(actor, core, owner.mailboxId)).filter((g) => g.live).map((g) => ({ address: g.member, rights: g.rights }));
    },
    async setRights(owner, memberAddress, rights, origin) {
      await setGrantByOwner(core, owner, { memberAddress, rights }, origin);
    },
    async remove(owner, memberAddress, origin) {
      await removeGrantByOwner(core, owner, { memberAddress }, origin);
    },
  };
}

export function sharedServing(core: CoreDeps): SharedServing {
  return { grants: core.grants, memberSeen: new MemberSeenIndex(core.db), acl: ownerAcl(core) };
}
