import { Type } from 'typebox';
import { Closed, Id, Reason, Timestamp } from './common.js';

export const ExpectedRecord = Type.Object(
  {
    type: Type.String({ description: 'MX, TXT, CNAME or SRV' }),
    name: Type.String(),
    value: Type.String({ description: 'MX: "<priority> <host>"; SRV: "<priority> <weight> <port> <target>"' }),
    purpose: Type.String({ description: 'mx, spf, dkim, dmarc, mta-sts, tls-rpt, autoconfig, autodiscover, srv' }),
    required: Type.Boolean({ description: 'Required records make a domain failing when wrong; the others degraded' }),
    unpublishable: Type.Optional(Type.String({ description: 'Why this record cannot be published as is (target an IP address, a loopback or reserved name) and which setting fixes it' })),
    broken: Type.Optional(Type.Boolean({ description: 'With unpublishable: no DNS server may carry it (IP or loopback target); it is not checked and the zone snippet comments it out' })),
  },
  { title: 'ExpectedDnsRecord' },
);

const TemplateRef = Type.Union([Type.Object({ id: Type.String(), version: Type.Integer() }), Type.Null()]);

export const ExpectedRecords = Type.Object({ domainId: Id, domain: Type.String(), template: TemplateRef, records: Type.Array(ExpectedRecord) });

export const CheckedRecord = Type.Object(
  {
    type: Type.String(),
    name: Type.String(),
    purpose: Type.String(),
    required: Type.Boolean(),
    expected: Type.String(),
    found: Type.Array(Type.String()),
    status: Type.String({ description: 'ok | missing | wrong | conflict (a second SPF, a foreign MX) | error (lookup failed)' }),
    detail: Type.Optional(Type.String()),
  },
  { title: 'CheckedDnsRecord' },
);

export const DnsCheck = Type.Object(
  {
    domainId: Id,
    domain: Type.String(),
    status: Type.String({ description: 'ok | degraded (a recommended record is off) | failing (a required record is off) | unknown (lookups failed)' }),
    checkedAt: Timestamp,
    snapshotId: Type.Integer(),
    records: Type.Array(CheckedRecord),
    lastKnownGood: Type.Union([Type.Object({ snapshotId: Type.Integer(), checkedAt: Timestamp }), Type.Null()]),
    transition: Type.Union([Type.Literal('broke'), Type.Literal('restored'), Type.Null()]),
    verification: Type.String(),
  },
  { title: 'DnsCheck' },
);

const Snapshot = Type.Object({ id: Type.Integer(), checkedAt: Timestamp, status: Type.String(), template: TemplateRef, records: Type.Array(CheckedRecord) }, { title: 'DnsSnapshot' });

export const DnsHistory = Type.Object({ domainId: Id, domain: Type.String(), lastKnownGood: Type.Union([Snapshot, Type.Null()]), snapshots: Type.Array(Snapshot) });

export const DnsHistoryQuery = Closed({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 500 (default 50)' })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Snapshots older than this snapshot id' })),
});

export const LastKnownGoodBody = Type.Union([Closed({ reason: Type.Optional(Reason) }), Type.Null()]);

export const LastKnownGood = Type.Object({
  snapshot: Type.Object({ id: Type.Integer(), checkedAt: Timestamp }),
  template: Type.Union([
    Type.Object({
      domainId: Id,
      domain: Type.String(),
      template: Type.Object({ id: Type.String(), version: Type.Integer() }),
      created: Type.Array(Type.String()),
      fixed: Type.Array(Type.Object({ field: Type.String(), expected: Type.Unknown(), actual: Type.Unknown() })),
    }),
    Type.Null(),
  ]),
  records: Type.Array(ExpectedRecord),
  zone: Type.String({ description: 'The last-known-good records as a BIND zone snippet' }),
});

export const TimelineQuery = Closed({ limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 500 (default 100)' })) });

export const Timeline = Type.Object({
  domainId: Id,
  domain: Type.String(),
  entries: Type.Array(
    Type.Object({
      at: Timestamp,
      kind: Type.String({ description: 'dns | template | event' }),
      summary: Type.String(),
      ref: Type.Integer({ description: 'dns: snapshot id; otherwise the audit event id' }),
      actor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      target: Type.Optional(Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) })),
      names: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Display names of actor and target.id' })),
      details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  ),
});
