import { Type } from 'typebox';
import { BoolString, Closed, Id, Reason, Timestamp } from './common.js';

const LocalPart = Type.String({ minLength: 1, maxLength: 64 });
const Algorithm = Type.Union([Type.Literal('rsa-sha256'), Type.Literal('ed25519-sha256')]);
const NamingStyle = Type.Union([Type.Literal('any'), Type.Literal('first.last'), Type.Literal('flast'), Type.Literal('first')]);
const OnOff = Type.Union([Type.Literal('off'), Type.Literal('allowed')]);
const Dmarc = Type.Union([Type.Literal('none'), Type.Literal('quarantine'), Type.Literal('reject')]);
const StsMode = Type.Union([Type.Literal('none'), Type.Literal('testing'), Type.Literal('enforce')]);
const Count = Type.Integer({ minimum: 0 });

/** Partial settings: what is given is merged over the base (the platform default, or the version built on). */
export const TemplateSettingsInput = Closed(
  {
    defaultAliases: Type.Optional(
      Closed({
        localParts: Type.Optional(Type.Array(LocalPart, { maxItems: 20 })),
        target: Type.Optional(
          Type.Union([Type.String({ maxLength: 254 }), Type.Null()], {
            description:
              'Where the default aliases deliver; null: the tenant’s contact (its oldest administrator), else the operator. postmaster, abuse and the DMARC report local part are always among the aliases',
          }),
        ),
      }),
    ),
    namingPolicy: Type.Optional(Closed({ style: Type.Optional(NamingStyle), minLength: Type.Optional(Count), maxLength: Type.Optional(Count) })),
    defaultQuotaBytes: Type.Optional(Count),
    passwordPolicy: Type.Optional(Closed({ minLength: Type.Optional(Count) })),
    catchAll: Type.Optional(OnOff),
    externalForwarding: Type.Optional(OnOff),
    outboundLimits: Type.Optional(Closed({ messagesPerHour: Type.Optional(Count), recipientsPerHour: Type.Optional(Count) })),
    dmarc: Type.Optional(Closed({ policy: Type.Optional(Dmarc), reportLocalPart: Type.Optional(LocalPart) })),
    mtaSts: Type.Optional(Closed({ mode: Type.Optional(StsMode), maxAgeSeconds: Type.Optional(Count) })),
    dkim: Type.Optional(Closed({ algorithms: Type.Optional(Type.Array(Algorithm, { minItems: 1, maxItems: 2 })), rotationDays: Type.Optional(Count) })),
  },
  { title: 'TemplateSettingsInput' },
);

export const TemplateSettings = Type.Object(
  {
    defaultAliases: Type.Object({ localParts: Type.Array(Type.String()), target: Type.Union([Type.String(), Type.Null()]) }),
    namingPolicy: Type.Object({ style: Type.String(), minLength: Type.Integer(), maxLength: Type.Integer() }),
    defaultQuotaBytes: Type.Integer(),
    passwordPolicy: Type.Object({ minLength: Type.Integer() }),
    catchAll: Type.String(),
    externalForwarding: Type.String(),
    outboundLimits: Type.Object({ messagesPerHour: Type.Integer(), recipientsPerHour: Type.Integer() }),
    dmarc: Type.Object({ policy: Type.String(), reportLocalPart: Type.String() }),
    mtaSts: Type.Object({ mode: Type.String(), maxAgeSeconds: Type.Integer() }),
    dkim: Type.Object({ algorithms: Type.Array(Type.String()), rotationDays: Type.Integer() }),
  },
  { title: 'TemplateSettings' },
);

export const Template = Type.Object(
  {
    id: Id,
    tenantId: Type.Union([Id, Type.Null()], { description: 'null: a platform template' }),
    name: Type.String(),
    latestVersion: Type.Integer(),
    versions: Type.Array(Type.Object({ version: Type.Integer(), settings: TemplateSettings, note: Type.Union([Type.String(), Type.Null()]), createdBy: Type.String(), createdAt: Timestamp })),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'DomainTemplate' },
);

export const TemplateParams = Closed({ templateId: Id });
export const CreateTemplateBody = Closed({ name: Type.String({ minLength: 1, maxLength: 100 }), settings: Type.Optional(TemplateSettingsInput), note: Type.Optional(Reason) });
export const TemplateVersionBody = Closed({
  settings: Type.Optional(TemplateSettingsInput),
  basedOn: Type.Optional(Type.Integer({ minimum: 1, description: 'Version to start from (default: the latest); basedOn an older version without settings reverts to it' })),
  note: Type.Optional(Reason),
});
export const ApplyTemplateBody = Closed({ templateId: Id, version: Type.Optional(Type.Integer({ minimum: 1, description: 'Default: the latest' })), reason: Type.Optional(Reason) });

const DriftField = Type.Object({ field: Type.String(), expected: Type.Unknown(), actual: Type.Unknown() }, { title: 'DriftField' });
const TemplateRef = Type.Object({ id: Type.String(), version: Type.Integer() });

export const TemplateApplied = Type.Object(
  { domainId: Id, domain: Type.String(), template: TemplateRef, created: Type.Array(Type.String()), fixed: Type.Array(DriftField) },
  { title: 'TemplateApplied' },
);

export const DomainTemplateStatus = Type.Object(
  {
    domainId: Id,
    domain: Type.String(),
    template: Type.Union([TemplateRef, Type.Null()]),
    appliedAt: Type.Union([Timestamp, Type.Null()]),
    settings: TemplateSettings,
    drift: Type.Array(DriftField, { description: 'Field by field: the template version vs the domain, and the live state (aliases, catch-all, DKIM keys) vs the settings' }),
  },
  { title: 'DomainTemplateStatus' },
);

export const DomainSettingsBody = Closed({ settings: TemplateSettingsInput, reason: Type.Optional(Reason) });
export const DriftQuery = Closed({ onlyDrifted: Type.Optional(BoolString) });
