/** The new-mailbox form: ownership record is mandatory; the owner gets a single-use setup link (never a password). */
import { post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import type { Domain, SetupLink } from '../lib/types.js';
import { copyButton, fmtDate, form, notice, opt } from '../lib/ui.js';

export function createMailboxForm(domains: Domain[], created?: () => void): HTMLElement {
  const result = h('div', { 'aria-live': 'polite' });
  const f = form({
    submitLabel: 'Create mailbox',
    fields: [
      ...(domains.length > 1 ? [{ name: 'domainId', label: 'Domain', type: 'select' as const, required: true, options: domains.map((d): [string, string] => [d.id, d.name]) }] : []),
      { name: 'localPart', label: 'Local part (before the @)', required: true, autocomplete: 'off', help: domains.length === 1 ? `The address will be <local part>@${domains[0]!.name}` : undefined },
      { name: 'displayName', label: 'Display name' },
      { name: 'ownerName', label: 'Owner of record: name', required: true, help: 'The person who owns this mailbox.' },
      { name: 'ownerEmail', label: 'Owner of record: email', type: 'email', required: true },
      { name: 'businessOwnerName', label: 'Business owner: name', help: 'The client-side approver (optional).' },
      { name: 'businessOwnerEmail', label: 'Business owner: email', type: 'email' },
      { name: 'resetDestination', label: 'Reset destination', type: 'email', help: 'Where setup and reset links go. Defaults to the owner’s email. Never the mailbox itself or a shared mailbox.' },
      { name: 'quotaMiB', label: 'Quota (MiB)', type: 'number', help: 'Empty: the appliance default.' },
      { name: 'isRole', label: 'Role or shared mailbox (info@, support@…)', type: 'checkbox' },
    ],
    fieldAlias: {
      'owner.name': 'ownerName',
      'owner.email': 'ownerEmail',
      owner: 'ownerEmail',
      'businessOwner.name': 'businessOwnerName',
      'businessOwner.email': 'businessOwnerEmail',
      businessOwner: 'businessOwnerEmail',
      quotaBytes: 'quotaMiB',
    },
    async onSubmit(v, handle) {
      const domainId = domains.length > 1 ? String(v.domainId) : domains[0]!.id;
      const bo = opt(v.businessOwnerName) || opt(v.businessOwnerEmail) ? { name: String(v.businessOwnerName).trim(), email: String(v.businessOwnerEmail).trim() } : undefined;
      const quota = opt(v.quotaMiB);
      const mb = await post<{ id: string; address: string; setup: SetupLink }>(`/api/v1/domains/${seg(domainId)}/mailboxes`, {
        localPart: String(v.localPart).trim(),
        displayName: opt(v.displayName),
        owner: { name: String(v.ownerName).trim(), email: String(v.ownerEmail).trim() },
        businessOwner: bo,
        resetDestination: opt(v.resetDestination),
        quotaBytes: quota === undefined ? undefined : Math.round(Number(quota) * 1048576),
        credentialDelivery: 'link',
        isRole: v.isRole === true ? true : undefined,
      });
      handle.el.reset();
      replace(
        result,
        notice(
          h(
            'div',
            null,
            h(
              'p',
              null,
              'Mailbox ',
              h('a', { href: `/mailboxes/${seg(mb.id)}` }, mb.address),
              ' created. Send this single-use setup link to the owner’s reset destination; it expires ',
              fmtDate(mb.setup.expiresAt),
              '.',
            ),
            h('p', null, h('code', { class: 'wrap' }, mb.setup.url), ' ', copyButton(mb.setup.url, 'Copy link')),
          ),
          'ok',
        ),
      );
      result.querySelector('a')?.focus();
      created?.();
    },
  });
  return h('div', null, result, f.el);
}
