/**
 * Offboarding wizard: 1 plan (every residual access path) → 2 options → 3 apply (each step
 * audited) → 4 verify, shown as a checklist that must come back empty. Undo within the grace period.
 */
import { ApiError, get, post, seg } from '../lib/api.js';
import { mailboxByAddress } from './access.js';
import { h, replace } from '../lib/dom.js';
import type { RouteContext } from '../lib/router.js';
import { can } from '../lib/session.js';
import type { AuditEvent, Mailbox } from '../lib/types.js';
import { named } from '../lib/names.js';
import { alertBox, badge, confirmDialog, dl, fmtDate, form, guard, notice, opt, section, toast } from '../lib/ui.js';

interface Path {
  kind: string;
  id: string;
  description: string;
}
interface Plan {
  address: string;
  identities: string[];
  paths: Path[];
}
interface Offboarding {
  id: string;
  status: string;
  convertTo: string;
  successor: string | null;
  transferTo: { name: string; email: string } | null;
  appliedBy: string;
  appliedAt: string;
  undoUntil: string;
  undoneAt: string | null;
  steps: Array<{ eventId: number; action: string }>;
}

const STEPS = ['Plan', 'Options', 'Apply', 'Verify'];

function stepper(current: number): HTMLElement {
  return h(
    'ol',
    { class: 'stepper', 'aria-label': 'Offboarding steps' },
    STEPS.map((s, i) => h('li', { class: i < current ? 'done' : i === current ? 'current' : '', 'aria-current': i === current ? 'step' : null }, `${i + 1}. ${s}`)),
  );
}

function pathList(paths: Path[], checked: Set<string> | null): HTMLElement {
  if (!paths.length) return h('p', null, badge('no residual access', 'ok'));
  return h(
    'ul',
    { class: checked ? 'checklist' : 'paths', 'data-testid': checked ? 'verify-checklist' : 'plan-paths' },
    paths.map((p) => {
      const closed = checked ? !checked.has(`${p.kind}:${p.id}`) : null;
      return h(
        'li',
        { class: closed === null ? '' : closed ? 'closed' : 'open' },
        closed === null ? null : h('span', { class: 'tick', 'aria-hidden': 'true' }, closed ? '✓' : '✗'),
        h('span', { class: 'sr-only' }, closed === null ? '' : closed ? 'closed: ' : 'still open: '),
        badge(p.kind, 'info'),
        ' ',
        p.description,
      );
    }),
  );
}

/** "address rights" lines of the convert-to-shared form, as the API's members (addresses resolved in the tenant). */
async function sharedMembers(tenantId: string, text: string): Promise<Array<{ mailboxId: string; rights: string[] }>> {
  const out: Array<{ mailboxId: string; rights: string[] }> = [];
  for (const line of text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)) {
    const [address = '', rights = 'read,seen'] = line.split(/\s+/);
    const member = await mailboxByAddress(tenantId, address);
    if (!member) throw new ApiError(400, 'Invalid', `${address} is not a mailbox of this tenant`, { field: 'members' });
    out.push({
      mailboxId: member.id,
      rights: rights
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    });
  }
  return out;
}

export async function offboardingPage(ctx: RouteContext): Promise<Node> {
  const id = ctx.params.mailboxId!;
  const m = await get<Mailbox>(`/api/v1/mailboxes/${seg(id)}`);
  const root = h('div');
  const body = h('div');
  const head = () => [h('p', { class: 'crumbs' }, h('a', { href: `/mailboxes/${seg(m.id)}` }, m.address), ' / offboarding'), h('h1', null, `Offboard ${m.address}`)];
  let plan: Plan | null = null;
  const names: Record<string, string> = {};

  const showVerify = async (planned: Path[], after: Offboarding | null) => {
    const v = await post<Plan & { ok: boolean }>(`/api/v1/mailboxes/${seg(m.id)}/offboarding/verify`);
    const open = new Set(v.paths.map((p) => `${p.kind}:${p.id}`));
    const all = [...planned, ...v.paths.filter((p) => !planned.some((q) => q.kind === p.kind && q.id === p.id))];
    replace(
      body,
      stepper(3),
      section(
        'Verify: residual access',
        h('p', { 'data-testid': 'verify-result' }, v.ok ? badge('verified: no access path left', 'ok') : badge(`${v.paths.length} access paths still open`, 'bad')),
        pathList(all, open),
        v.ok ? null : notice('Some paths are still open: close them (e.g. remove the forward or grant) and verify again.', 'warn'),
        h('button', { type: 'button', class: 'btn', onclick: guard(() => showVerify(planned, after)) }, 'Verify again'),
      ),
      after ? undoSection(after) : null,
    );
    body.querySelector<HTMLElement>('h2')?.focus();
  };

  const undoSection = (o: Offboarding) =>
    section(
      'Undo',
      dl([
        ['Applied', [`${fmtDate(o.appliedAt)} by `, named(o.appliedBy, names)]],
        ['Converted to', o.convertTo],
        ['Steps', o.steps.map((s) => s.action).join(', ')],
        ['Undo possible until', fmtDate(o.undoUntil)],
      ]),
      can('mailboxes.offboard') && !o.undoneAt && Date.parse(o.undoUntil) > Date.now()
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn btn-danger',
              onclick: guard(async () => {
                const ok = await confirmDialog({
                  title: 'Undo this offboarding?',
                  objectName: m.address,
                  body: h('p', null, 'Restores the recorded state; revoked credentials stay revoked.'),
                  confirmLabel: 'Undo offboarding',
                  danger: true,
                  requireTyping: true,
                  reason: true,
                });
                if (!ok) return;
                const r = await post<{ notRestored: string[] }>(`/api/v1/mailboxes/${seg(m.id)}/offboarding/undo`, { reason: ok.reason || 'undo from the console' });
                toast('Offboarding undone');
                replace(body, notice(h('div', null, h('p', null, 'Offboarding undone.'), r.notRestored.length ? h('p', null, `Not restored: ${r.notRestored.join(', ')}`) : null), 'ok'));
              }),
            },
            'Undo offboarding…',
          )
        : o.undoneAt
          ? h('p', null, `Undone ${fmtDate(o.undoneAt)}.`)
          : null,
    );

  const showOptions = () => {
    const f = form({
      submitLabel: 'Continue to apply',
      fields: [
        {
          name: 'convertTo',
          label: 'Afterwards the mailbox becomes',
          type: 'select',
          value: 'disabled',
          options: [
            ['disabled', 'Disabled (kept, no login)'],
            ['shared', 'Shared (no direct login)'],
            ['alias', 'An alias of a successor'],
          ],
        },
        { name: 'successor', label: 'Successor address', type: 'email', help: 'Needed to convert to an alias or to re-point forwards.' },
        {
          name: 'forwards',
          label: 'Forwards',
          type: 'select',
          value: 'remove',
          options: [
            ['remove', 'Remove them'],
            ['repoint', 'Re-point them to the successor'],
          ],
        },
        { name: 'transferName', label: 'Transfer ownership of dependents to: name', help: 'Mailboxes whose owner or reset destination is this person.' },
        { name: 'transferEmail', label: 'Transfer to: email', type: 'email' },
        {
          name: 'members',
          label: 'Shared: members with access',
          type: 'textarea',
          help: 'When converting to shared: one member per line, its address and rights, e.g. “amy@client.example read,seen,send”.',
        },
        { name: 'autoReplySubject', label: 'Auto-reply subject', help: 'Optional.' },
        { name: 'autoReplyText', label: 'Auto-reply text', type: 'textarea' },
        { name: 'retainUntil', label: 'Keep the mail until', type: 'datetime-local' },
        { name: 'reason', label: 'Reason', required: true, help: 'E.g. “left the company on 30 Nov, ticket HR-221”.' },
      ],
      fieldAlias: { 'transferTo.name': 'transferName', 'transferTo.email': 'transferEmail', transferTo: 'transferEmail', 'autoReply.subject': 'autoReplySubject', 'autoReply.text': 'autoReplyText' },
      async onSubmit(v) {
        const req: Record<string, unknown> = { reason: String(v.reason).trim(), convertTo: v.convertTo, forwards: v.forwards };
        if (opt(v.successor)) req.successor = opt(v.successor);
        if (opt(v.transferName) || opt(v.transferEmail)) req.transferTo = { name: opt(v.transferName) ?? '', email: opt(v.transferEmail) ?? '' };
        if (opt(v.autoReplySubject) || opt(v.autoReplyText)) req.autoReply = { subject: opt(v.autoReplySubject) ?? '', text: opt(v.autoReplyText) ?? '' };
        if (opt(v.retainUntil)) req.retainUntil = new Date(String(v.retainUntil)).toISOString();
        if (v.convertTo === 'shared' && opt(v.members)) req.members = await sharedMembers(m.tenantId, String(v.members));
        const ok = await confirmDialog({
          title: 'Apply the offboarding?',
          objectName: m.address,
          body: h('p', null, `Login is disabled at once, sessions and app passwords are revoked, and the ${plan?.paths.length ?? 0} access paths found are closed in order. Each step is audited.`),
          confirmLabel: 'Offboard',
          danger: true,
          requireTyping: true,
        });
        if (!ok) return;
        replace(body, stepper(2), h('p', { class: 'loading', role: 'status' }, 'Applying…'));
        try {
          const r = await post<{ offboarding: Offboarding; remaining: Path[] }>(`/api/v1/mailboxes/${seg(m.id)}/offboarding/apply`, req);
          toast(`Offboarded: ${r.offboarding.steps.length} steps`);
          replace(
            body,
            stepper(2),
            section(
              'Applied',
              h(
                'ol',
                { class: 'steps-done', 'data-testid': 'applied-steps' },
                r.offboarding.steps.map((s) => h('li', null, h('code', null, s.action), ` (audit event ${s.eventId})`)),
              ),
              h('button', { type: 'button', class: 'btn btn-primary', onclick: guard(() => showVerify(plan?.paths ?? [], r.offboarding)) }, 'Verify'),
            ),
          );
        } catch (err) {
          replace(body, stepper(1), alertBox(err));
          body.append(h('button', { type: 'button', class: 'btn', onclick: showOptions }, 'Back to the options'));
        }
      },
    });
    replace(body, stepper(1), section('Options', f.el, h('button', { type: 'button', class: 'btn-link', onclick: () => void showPlan() }, '← Back to the plan')));
  };

  const showPlan = async () => {
    plan = await post<Plan>(`/api/v1/mailboxes/${seg(m.id)}/offboarding/plan`, {});
    replace(
      body,
      stepper(0),
      section(
        'Plan: every way this person can still reach mail',
        h('p', null, 'Identities: ', plan.identities.join(', ') || m.owner.email),
        pathList(plan.paths, null),
        h('p', { class: 'muted' }, 'Nothing has changed yet.'),
        can('mailboxes.offboard')
          ? h('button', { type: 'button', class: 'btn btn-primary', onclick: showOptions }, 'Choose options')
          : notice('You need the offboard permission to apply an offboarding.'),
      ),
    );
  };

  const latest = await get<Offboarding | null>(`/api/v1/mailboxes/${seg(m.id)}/offboarding`).catch(() => null);
  // Who applied it, by name: the audit events of the mailbox carry the names of their actors.
  if (latest && can('audit.read')) {
    const events = await get<AuditEvent[]>('/api/v1/audit/events', { targetId: m.id, limit: '100' }).catch(() => [] as AuditEvent[]);
    for (const e of events) Object.assign(names, e.names ?? {});
  }
  replace(root, ...head(), body);
  if (latest && !latest.undoneAt) {
    replace(
      body,
      notice(h('span', null, `This mailbox was offboarded ${fmtDate(latest.appliedAt)} by `, named(latest.appliedBy, names), '.'), 'info'),
      h('div', { class: 'action-bar' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: guard(() => showVerify([], latest)) }, 'Verify residual access')),
      undoSection(latest),
    );
  } else {
    await showPlan();
  }
  return root;
}
