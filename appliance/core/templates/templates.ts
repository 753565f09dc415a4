/**
 * Domain template settings: what a domain runs with (default aliases, naming policy, quota,
 * password policy, catch-all and external-forwarding policy, outbound limits, DMARC, MTA-STS,
 * DKIM), the platform default, validation of partial input, and the field-by-field comparison
 * the drift report is built on. Pure code: no database.
 */
import { normalizeLocalPart } from '../kernel/addresses.js';
import { invalid } from '../kernel/errors.js';

export type NamingStyle = 'any' | 'first.last' | 'flast' | 'first';
export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
export type MtaStsMode = 'none' | 'testing' | 'enforce';
export type DkimAlgorithmName = 'rsa-sha256' | 'ed25519-sha256';

export interface TemplateSettings {
  /**
   * Aliases every domain has (postmaster, abuse and the DMARC report local part always among
   * them); `target` null: the tenant's contact, else the operator (see role-addresses.ts).
   */
  defaultAliases: { localParts: string[]; target: string | null };
  /** How personal (non-role) local parts must look; role accounts are governed by approval instead. */
  namingPolicy: { style: NamingStyle; minLength: number; maxLength: number };
  defaultQuotaBytes: number;
  passwordPolicy: { minLength: number };
  catchAll: 'off' | 'allowed';
  externalForwarding: 'off' | 'allowed';
  outboundLimits: { messagesPerHour: number; recipientsPerHour: number };
  /** The DMARC record; reports go to <reportLocalPart>@<domain> (also the TLS-RPT address). */
  dmarc: { policy: DmarcPolicy; reportLocalPart: string };
  mtaSts: { mode: MtaStsMode; maxAgeSeconds: number };
  /** Live keys expected per algorithm, and how often they are rotated. */
  dkim: { algorithms: DkimAlgorithmName[]; rotationDays: number };
}

export const PLATFORM_DEFAULT_TEMPLATE_ID = 'tpl_platform_default';

export function platformDefaultSettings(defaultQuotaBytes: number): TemplateSettings {
  return {
    defaultAliases: { localParts: ['postmaster', 'abuse', 'dmarc-reports'], target: null },
    namingPolicy: { style: 'any', minLength: 1, maxLength: 64 },
    defaultQuotaBytes,
    passwordPolicy: { minLength: 12 },
    catchAll: 'off',
    externalForwarding: 'off',
    outboundLimits: { messagesPerHour: 200, recipientsPerHour: 500 },
    dmarc: { policy: 'quarantine', reportLocalPart: 'dmarc-reports' },
    mtaSts: { mode: 'testing', maxAgeSeconds: 604800 },
    dkim: { algorithms: ['ed25519-sha256', 'rsa-sha256'], rotationDays: 180 },
  };
}

type Partial2<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? Partial<T[K]> : T[K] };
export type TemplateSettingsInput = Partial2<TemplateSettings>;

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw invalid(`${field} must be a whole number from ${min} to ${max}`, { field });
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw invalid(`${field} must be one of ${allowed.join(', ')}`, { field });
  return v as T;
}

/** Merges `input` over `base` and validates the result. */
export function mergeSettings(base: TemplateSettings, input: TemplateSettingsInput | undefined): TemplateSettings {
  const i = input ?? {};
  const s: TemplateSettings = {
    defaultAliases: { ...base.defaultAliases, ...i.defaultAliases },
    namingPolicy: { ...base.namingPolicy, ...i.namingPolicy },
    defaultQuotaBytes: i.defaultQuotaBytes ?? base.defaultQuotaBytes,
    passwordPolicy: { ...base.passwordPolicy, ...i.passwordPolicy },
    catchAll: i.catchAll ?? base.catchAll,
    externalForwarding: i.externalForwarding ?? base.externalForwarding,
    outboundLimits: { ...base.outboundLimits, ...i.outboundLimits },
    dmarc: { ...base.dmarc, ...i.dmarc },
    mtaSts: { ...base.mtaSts, ...i.mtaSts },
    dkim: { ...base.dkim, ...i.dkim },
  };
  const lp = s.defaultAliases.localParts;
  if (!Array.isArray(lp) || lp.length > 20) throw invalid('defaultAliases.localParts must list at most 20 local parts', { field: 'defaultAliases.localParts' });
  s.defaultAliases.localParts = [...new Set(lp.map((p) => normalizeLocalPart(String(p), 'defaultAliases.localParts')))];
  if (s.defaultAliases.target !== null && (typeof s.defaultAliases.target !== 'string' || !s.defaultAliases.target.includes('@'))) {
    throw invalid('defaultAliases.target must be an address or null', { field: 'defaultAliases.target' });
  }
  s.namingPolicy.style = oneOf(s.namingPolicy.style, 'namingPolicy.style', ['any', 'first.last', 'flast', 'first'] as const);
  int(s.namingPolicy.minLength, 'namingPolicy.minLength', 1, 64);
  int(s.namingPolicy.maxLength, 'namingPolicy.maxLength', s.namingPolicy.minLength, 64);
  int(s.defaultQuotaBytes, 'defaultQuotaBytes', 0, Number.MAX_SAFE_INTEGER);
  int(s.passwordPolicy.minLength, 'passwordPolicy.minLength', 8, 128);
  s.catchAll = oneOf(s.catchAll, 'catchAll', ['off', 'allowed'] as const);
  s.externalForwarding = oneOf(s.externalForwarding, 'externalForwarding', ['off', 'allowed'] as const);
  int(s.outboundLimits.messagesPerHour, 'outboundLimits.messagesPerHour', 0, 1_000_000);
  int(s.outboundLimits.recipientsPerHour, 'outboundLimits.recipientsPerHour', 0, 10_000_000);
  s.dmarc.policy = oneOf(s.dmarc.policy, 'dmarc.policy', ['none', 'quarantine', 'reject'] as const);
  s.dmarc.reportLocalPart = normalizeLocalPart(String(s.dmarc.reportLocalPart), 'dmarc.reportLocalPart');
  s.mtaSts.mode = oneOf(s.mtaSts.mode, 'mtaSts.mode', ['none', 'testing', 'enforce'] as const);
  int(s.mtaSts.maxAgeSeconds, 'mtaSts.maxAgeSeconds', 86400, 31557600);
  const algs = s.dkim.algorithms;
  if (!Array.isArray(algs) || algs.length === 0) throw invalid('dkim.algorithms must list rsa-sha256 and/or ed25519-sha256', { field: 'dkim.algorithms' });
  s.dkim.algorithms = [...new Set(algs.map((a) => oneOf(a, 'dkim.algorithms', ['rsa-sha256', 'ed25519-sha256'] as const)))].sort();
  // Every domain must answer postmaster@, abuse@ and its report address: a template lists them first, always.
  s.defaultAliases.localParts = [...new Set(['postmaster', 'abuse', s.dmarc.reportLocalPart, ...s.defaultAliases.localParts])];
  int(s.dkim.rotationDays, 'dkim.rotationDays', 7, 3650);
  return s;
}

/** The settings as dotted paths → JSON values, for field-by-field comparison. */
export function flattenSettings(s: TemplateSettings): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, p: string) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    } else out[p] = JSON.stringify(v);
  };
  walk(s, '');
  return out;
}

export interface DriftField {
  field: string;
  expected: unknown;
  actual: unknown;
}

/** Fields where `actual` differs from `expected`. */
export function diffSettings(expected: TemplateSettings, actual: TemplateSettings): DriftField[] {
  const e = flattenSettings(expected);
  const a = flattenSettings(actual);
  const out: DriftField[] = [];
  for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) {
    if (e[k] !== a[k]) out.push({ field: k, expected: e[k] === undefined ? null : JSON.parse(e[k]!), actual: a[k] === undefined ? null : JSON.parse(a[k]!) });
  }
  return out.sort((x, y) => x.field.localeCompare(y.field));
}

/**
 * Whether a personal local part follows the naming style: `first.last` (two dot-separated
 * names), `flast` (letters only, no dots), `first` (letters only); `any` accepts everything.
 * Returns the reason when it does not.
 */
export function namingViolation(localPart: string, policy: TemplateSettings['namingPolicy']): string | null {
  if (localPart.length < policy.minLength || localPart.length > policy.maxLength) {
    return `must be ${policy.minLength} to ${policy.maxLength} characters`;
  }
  const name = /^[a-z][a-z'-]*[a-z]$|^[a-z]$/;
  switch (policy.style) {
    case 'any':
      return null;
    case 'first.last': {
      const parts = localPart.split('.');
      return parts.length === 2 && parts.every((p) => name.test(p)) ? null : 'must look like first.last';
    }
    case 'flast':
    case 'first':
      return /^[a-z]+$/.test(localPart) ? null : `must be letters only (${policy.style})`;
  }
}
