/**
 * Bulk input: the CSV reader (csv-parse), the mapping of CSV columns and JSON fields onto one
 * row shape, and the quota notation. Row numbers start at 1 with the first data row (the CSV
 * header is not counted).
 */
import { CsvError, type Options, parse } from 'csv-parse/sync';
import { invalid } from '../kernel/errors.js';

export const MAX_BATCH_ROWS = 10_000;

/** One input row as given (strings from CSV, typed from JSON), before validation. */
export interface BulkRowInput {
  localPart?: string;
  domain?: string;
  displayName?: string;
  ownerName?: string;
  ownerEmail?: string;
  businessOwnerName?: string;
  businessOwnerEmail?: string;
  resetDestination?: string;
  quota?: string | number;
  role?: boolean | string;
  aliases?: string[] | string;
}

// A UTF-16 code unit without its pair: no UTF-8 encoding exists for it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What spreadsheets produce: a BOM, CRLF, LF or CR line endings (mixed), short rows, a stray quote inside a field. */
const CSV_OPTIONS: Options = { bom: true, relax_column_count: true, relax_quotes: true, record_delimiter: ['\r\n', '\n', '\r'] };

/**
 * Parses CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into records of fields,
 * with csv-parse. Blank lines are skipped. Text decoded from a request is always well-formed;
 * text holding a lone surrogate (only an in-process caller can make one) is parsed as UTF-16 so
 * it comes back unchanged, with strict quoting (csv-parse's relaxed quotes misread UTF-16).
 */
export function parseCsv(text: string): string[][] {
  let records: string[][];
  try {
    records = LONE_SURROGATE.test(text) ? (parse(Buffer.from(text, 'utf16le'), { ...CSV_OPTIONS, relax_quotes: false, encoding: 'utf16le' }) as string[][]) : (parse(text, CSV_OPTIONS) as string[][]);
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    if (err.code === 'CSV_QUOTE_NOT_CLOSED') throw invalid('CSV: a quoted field is not closed', { field: 'body' });
    throw invalid(`CSV: ${err.message}`, { field: 'body', line: err.lines });
  }
  return records.filter((r) => !(r.length === 1 && r[0]!.trim() === ''));
}

/** Header names (case, spaces, dashes and underscores ignored) → row fields. */
const COLUMNS: Record<string, keyof BulkRowInput | 'address'> = {
  localpart: 'localPart',
  local: 'localPart',
  user: 'localPart',
  domain: 'domain',
  address: 'address',
  email: 'address',
  displayname: 'displayName',
  name: 'displayName',
  ownername: 'ownerName',
  owneremail: 'ownerEmail',
  businessownername: 'businessOwnerName',
  businessowneremail: 'businessOwnerEmail',
  resetdestination: 'resetDestination',
  quota: 'quota',
  quotabytes: 'quota',
  role: 'role',
  isrole: 'role',
  aliases: 'aliases',
};

/** CSV text → rows. Unknown columns are an error (a misspelt column must not silently vanish). */
export function rowsFromCsv(text: string): BulkRowInput[] {
  const records = parseCsv(text);
  if (records.length < 2) throw invalid('CSV needs a header row and at least one data row', { field: 'body' });
  const header = records[0]!.map((h) =>
    h
      .trim()
      .toLowerCase()
      .replace(/[\s_-]/g, ''),
  );
  const fields = header.map((h) => COLUMNS[h]);
  const unknown = header.filter((_h, i) => !fields[i]);
  if (unknown.length)
    throw invalid(
      `CSV: unknown column(s) ${unknown.join(', ')}; known: local_part, domain, address, display_name, owner_name, owner_email, business_owner_name, business_owner_email, reset_destination, quota, role, aliases`,
      { field: 'body', columns: unknown },
    );
  if (records.length - 1 > MAX_BATCH_ROWS) throw invalid(`a batch holds at most ${MAX_BATCH_ROWS} rows`, { field: 'rows' });
  return records.slice(1).map((rec) => {
    const row: BulkRowInput & { address?: string } = {};
    fields.forEach((f, i) => {
      const v = (rec[i] ?? '').trim();
      if (v === '') return;
      (row as Record<string, string>)[f!] = v;
    });
    if (row.address && !row.localPart && !row.domain) {
      const at = row.address.lastIndexOf('@');
      if (at > 0) {
        row.localPart = row.address.slice(0, at);
        row.domain = row.address.slice(at + 1);
      } else row.localPart = row.address;
    }
    delete row.address;
    return row;
  });
}

/** "5368709120", "5G", "500M", "1.5GB" → bytes; null when not a size. */
export function parseQuota(v: string | number): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) return null;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.round(Number(m[1]) * mult);
  return Number.isSafeInteger(n) ? n : null;
}

/** "true", "yes", "1", "y", "x" → true; "", "false", "no", "0" → false; anything else null. */
export function parseFlag(v: boolean | string | undefined): boolean | null {
  if (v === undefined || typeof v === 'boolean') return v ?? false;
  const s = v.trim().toLowerCase();
  if (['true', 'yes', 'y', '1', 'x'].includes(s)) return true;
  if (['', 'false', 'no', 'n', '0'].includes(s)) return false;
  return null;
}

/** Aliases as a list: an array, or a string separated by `;`, `|` or spaces. */
export function aliasList(v: string[] | string | undefined): string[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : v.split(/[;|\s]+/);
  return list.map((a) => a.trim()).filter(Boolean);
}
