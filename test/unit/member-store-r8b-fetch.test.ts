/**
 * The member's store view (appliance/imap/member-store.ts) hands out the base store's methods
 * bound to the base once (issue 18): every `session.store.X` of a member's command used to bind
 * a new function.
 */
import { describe, expect, it } from 'vitest';
import { memberStoreView } from '../../appliance/imap/member-store.js';
import type { SharedAccess } from '../../appliance/imap/shared-access.js';
import type { MailStore } from '../../appliance/mailstore/store.types.js';

describe('member store view', () => {
  it('passes a method it does not change through bound to the base, the same function on every access', () => {
    const base = {
      label: 'base',
      getMeta(this: { label: string }) {
        return this.label;
      },
    };
    const access = { memberId: 'mbx_member', deps: { memberSeen: null } } as unknown as SharedAccess;
    const { store } = memberStoreView(base as unknown as MailStore, access);
    const first = store.getMeta;
    expect(store.getMeta).toBe(first);
    expect((first as unknown as () => string)()).toBe('base');
    expect((store as unknown as { label: string }).label).toBe('base');
    // A method replaced on the base afterwards is the one handed out.
    base.getMeta = function (this: { label: string }) {
      return `${this.label} again`;
    };
    expect((store.getMeta as unknown as () => string)()).toBe('base again');
  });
});
