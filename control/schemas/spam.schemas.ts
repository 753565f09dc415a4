/** Spam policy and allow/block lists (issue 15). */
import { Type } from 'typebox';
import { Closed, Id, Reason, Timestamp } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const Score = Type.Number({ minimum: -100, maximum: 1000, description: 'An rspamd score' });
const FailMode = Type.Union([Type.Literal('tempfail'), Type.Literal('accept')], {
  description: 'Scanner down or too slow: tempfail answers 451 4.7.1 (the sender retries); accept delivers unscanned',
});

export const SpamPolicyBody = Closed({
  junkScore: Type.Number({ minimum: -100, maximum: 1000, description: 'At or above: X-Spam headers and delivery to the Junk folder' }),
  rejectScore: Type.Number({ minimum: -100, maximum: 1000, description: 'At or above: refused at DATA with 550 5.7.1, nothing stored' }),
  greylisting: Type.Boolean({ description: 'Defer the first message of an unknown sender/IP/recipient triplet once (451 4.7.1)' }),
  failMode: FailMode,
  ownerLists: Type.Optional(Type.Boolean({ description: 'Mailbox owners manage their own allow/block lists from self-service (default true)' })),
  reason: Type.Optional(Reason),
});

export const SpamPolicy = Type.Object(
  {
    scope: Type.Union([Type.Literal('tenant'), Type.Literal('domain'), Type.Literal('default')], { description: 'Where the policy in force comes from (default: the appliance defaults)' }),
    tenantId: Type.String(),
    domainId: Nullable(Type.String()),
    overridden: Type.Boolean({ description: 'For a domain: it overrides its tenant’s policy' }),
    junkScore: Score,
    rejectScore: Score,
    greylisting: Type.Boolean(),
    failMode: FailMode,
    ownerLists: Type.Boolean(),
    updatedBy: Nullable(Type.String()),
    updatedAt: Nullable(Timestamp),
  },
  { title: 'SpamPolicy' },
);

export const SpamListBody = Closed({
  kind: Type.Union([Type.Literal('allow'), Type.Literal('block')]),
  value: Type.String({ minLength: 1, maxLength: 320, description: 'A sender address, a sender domain (its subdomains too) or a client IP address/CIDR network' }),
  reason: Type.Optional(Reason),
});

export const SpamListEntry = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    mailboxId: Nullable(Type.String({ description: 'null: a tenant-wide entry' })),
    kind: Type.Union([Type.Literal('allow'), Type.Literal('block')]),
    value: Type.String(),
    valueType: Type.Union([Type.Literal('address'), Type.Literal('domain'), Type.Literal('ip')]),
    reason: Nullable(Type.String()),
    createdBy: Nullable(Type.String()),
    createdAt: Timestamp,
  },
  { title: 'SpamListEntry' },
);

export const SpamListParams = Closed({ spamListId: Id });

export const OwnSpamLists = Type.Object(
  { entries: Type.Array(SpamListEntry), ownerManaged: Type.Boolean({ description: 'Whether the owner may change the lists (the tenant’s policy)' }) },
  { title: 'OwnSpamLists' },
);

export const DeleteReasonQuery = Closed({ reason: Type.Optional(Reason) });
