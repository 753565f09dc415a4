/**
 * The one validator of free text typed by people (reasons, evidence, display names, notes):
 * trimmed, bounded, no control characters other than tab and line breaks. Each caller names
 * the field, so the error says which input was wrong.
 */
import { invalid } from './errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

export interface TextRule {
  /** Minimum length after trimming (default 1 for required text). */
  min?: number;
  /** Maximum length after trimming (default 500). */
  max?: number;
}

/** Required text: throws Invalid naming `field` when missing, too short, too long or with control characters. */
export function requiredText(raw: string | undefined | null, field: string, rule: TextRule = {}): string {
  const min = rule.min ?? 1;
  const max = rule.max ?? 500;
  const s = (raw ?? '').trim();
  if (s.length < min || s.length > max || CONTROL.test(s)) throw invalid(`${field} must be ${min} to ${max} characters of text`, { field });
  return s;
}

/** Optional text: null when absent or blank, otherwise the same rules as `requiredText`. */
export function optionalText(raw: string | undefined | null, field: string, rule: TextRule = {}): string | null {
  const max = rule.max ?? 500;
  if (raw === undefined || raw === null) return null;
  const s = raw.trim();
  if (s.length > max || CONTROL.test(s)) throw invalid(`${field} must be at most ${max} characters of text`, { field });
  return s.length ? s : null;
}
