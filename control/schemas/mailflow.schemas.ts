/** The outbound queue view and the mail-flow figures. */
import { Type } from 'typebox';
import { Id, ListQuery, Timestamp } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const QueueQuery = ListQuery({
  tenantId: Type.Optional(Id),
  domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Destination domain' })),
});

export const QueueEntry = Type.Object(
  {
    id: Type.String({ description: 'Stable across retries: <arrival ms>.<unique tag>' }),
    tenantId: Nullable(Type.String({ description: 'The sender’s tenant; null for bounces and unknown senders' })),
    queuedAt: Timestamp,
    ageSeconds: Type.Integer(),
    sender: Type.String({ description: 'Envelope sender ("" for a bounce)' }),
    recipients: Type.Array(Type.String()),
    domain: Type.String({ description: 'Destination domain (one queue entry per destination domain)' }),
    attempts: Type.Integer({ description: 'Failed delivery attempts so far' }),
    nextAttemptAt: Timestamp,
    lastError: Nullable(Type.String({ description: 'The last deferral the appliance saw (since it started)' })),
    lastErrorAt: Nullable(Timestamp),
  },
  { title: 'QueueEntry' },
);

export const MailStatsQuery = ListQuery({
  tenantId: Type.Optional(Id),
  hours: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}$', description: 'Hourly buckets, 1 to 48 (default 24)' })),
});

const Counts = Type.Record(Type.String(), Type.Integer());

export const MailStats = Type.Object(
  {
    scope: Type.Union([Type.Literal('platform'), Type.Literal('tenant')]),
    tenantId: Nullable(Type.String()),
    series: Type.Array(Type.String({ description: 'delivered | deferred | bounced (outbound results) | local (mailbox copies stored) | rejected (SMTP) | authFailed' })),
    lastHour: Counts,
    lastDay: Counts,
    hours: Type.Array(Type.Object({ start: Timestamp, counts: Counts })),
    since: Type.Literal('appliance-start'),
    spam: Type.Optional(
      Type.Object(
        { lastHour: Counts, lastDay: Counts, hours: Type.Array(Type.Object({ start: Timestamp, counts: Counts })) },
        { description: 'Spam decisions: scanned, junked, rejected, greylisted, unscanned (a tenant: its own)' },
      ),
    ),
  },
  { title: 'MailStats' },
);
