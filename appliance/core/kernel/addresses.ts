/**
 * Address and domain-name rules of the control plane. Addresses are stored lower-cased; local
 * parts are a conservative dot-atom (RFC 5321 allows more, but quoted local parts and
 * non-ASCII are not provisioned here).
 */
import { invalid } from './errors.js';

const LOCAL_PART_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/**
 * Local parts that name a role or shared function rather than a person (RFC 2142 and common
 * practice). Such a mailbox is flagged as a role account and may never be a reset destination.
 */
export const ROLE_LOCAL_PARTS: ReadonlySet<string> = new Set([
  'abuse',
  'accounts',
  'admin',
  'administrator',
  'billing',
  'contact',
  'helpdesk',
  'hostmaster',
  'hr',
  'info',
  'invoices',
  'mailer-daemon',
  'marketing',
  'no-reply',
  'noc',
  'noreply',
  'office',
  'postmaster',
  'root',
  'sales',
  'security',
  'support',
  'team',
  'webmaster',
  'dmarc-reports',
]);

export function normalizeDomainName(raw: string): string {
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN_RE.test(name) || /^\d+(\.\d+)*$/.test(name)) {
    throw invalid(`"${raw}" is not a valid domain name`, { field: 'name' });
  }
  return name;
}

export function normalizeLocalPart(raw: string, field = 'localPart'): string {
  const lp = raw.trim().toLowerCase();
  if (lp.length === 0 || lp.length > 64 || !LOCAL_PART_RE.test(lp)) {
    throw invalid(`"${raw}" is not a valid local part (letters, digits and !#$%&'*+/=?^_\`{|}~- separated by single dots, at most 64)`, { field });
  }
  return lp;
}

export interface ParsedAddress {
  address: string;
  localPart: string;
  domain: string;
}

/** Validates and lower-cases an address `local@domain`. */
export function parseAddress(raw: string, field = 'address'): ParsedAddress {
  const s = raw.trim();
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1 || s.length > 254) throw invalid(`"${raw}" is not a valid email address`, { field });
  let localPart: string;
  let domain: string;
  try {
    localPart = normalizeLocalPart(s.slice(0, at), field);
    domain = normalizeDomainName(s.slice(at + 1));
  } catch {
    throw invalid(`"${raw}" is not a valid email address`, { field });
  }
  return { address: `${localPart}@${domain}`, localPart, domain };
}

/** The local part without a `+tag` subaddress, for role checks. */
export function baseLocalPart(localPart: string): string {
  const plus = localPart.indexOf('+');
  return plus > 0 ? localPart.slice(0, plus) : localPart;
}

export function isRoleLocalPart(localPart: string): boolean {
  return ROLE_LOCAL_PARTS.has(baseLocalPart(localPart));
}
