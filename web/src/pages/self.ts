/** Mailbox owners' self-service: their mailbox, ownership record and quota. */
import { h } from '../lib/dom.js';
import { loadSession, session } from '../lib/session.js';
import { badge, dl, fmtBytes, notice, section } from '../lib/ui.js';

export async function selfPage(): Promise<Node> {
  await loadSession();
  const m = session.info?.mailbox;
  if (!m) return h('div', null, h('h1', null, 'My mailbox'), notice('No mailbox session.', 'warn'));
  return h(
    'div',
    null,
    h('h1', null, m.address),
    section(
      'My mailbox',
      dl([
        ['Status', badge(m.status)],
        ['Display name', m.displayName ?? '—'],
        ['Storage', `${fmtBytes(m.usedBytes)} of ${fmtBytes(m.quotaBytes)} · ${m.messageCount} messages`],
        ['Owner of record', `${m.owner.name} <${m.owner.email}>`],
        ['Reset links go to', h('code', null, m.resetDestination)],
      ]),
      h('p', { class: 'muted' }, 'If the reset destination is wrong, ask your administrator to correct it: whoever reads it can reset this mailbox.'),
    ),
  );
}
