/**
 * Bulk IMAP migration input (issue 20): the CSV of source accounts and the plan's test login.
 *
 * CSV: a header row, then one row per mailbox to fill, with the columns
 *   address      the target mailbox in this tenant (it must exist and be active)
 *   source_host  the old provider's IMAP host name or IP address
 *   source_port  its port (993 for implicit TLS, 143 for STARTTLS)
 *   tls          implicit | starttls
 *   user         the login at the old provider
 *   password     its password (sealed at once, never echoed back; wiped when the job holds it)
 * Column names are matched without case, spaces, dashes or underscores. Row numbers start at 1
 * with the first data row.
 *
 * The test login (imapflow) connects with the row's TLS mode, logs in, lists the folders and
 * reads each selectable folder's message count (STATUS) and size (the sum of RFC822.SIZE).
 */
import type { ConnectionOptions } from 'node:tls';
import { ImapFlow } from 'imapflow';
import { invalid } from '../kernel/errors.js';
import { MAX_BATCH_ROWS, parseCsv } from './bulk.js';

/** One row as given (strings from CSV, typed from JSON). */
export interface MigrationRowInput {
  address?: string;
  sourceHost?: string;
  sourcePort?: number | string;
  tls?: string;
  user?: string;
  password?: string;
}

const COLUMNS: Record<string, keyof MigrationRowInput> = {
  address: 'address',
  mailbox: 'address',
  sourcehost: 'sourceHost',
  host: 'sourceHost',
  sourceport: 'sourcePort',
  port: 'sourcePort',
  tls: 'tls',
  user: 'user',
  username: 'user',
  password: 'password',
};

export const MIGRATION_CSV_HEADER = 'address,source_host,source_port,tls,user,password';

/** Rows of a migration CSV (see the header of this file). */
export function migrationRowsFromCsv(text: string): MigrationRowInput[] {
  const records = parseCsv(text);
  if (records.length < 2) throw invalid(`CSV needs a header row (${MIGRATION_CSV_HEADER}) and at least one data row`, { field: 'body' });
  const header = records[0]!.map((h) =>
    h
      .trim()
      .toLowerCase()
      .replace(/[\s_-]/g, ''),
  );
  const fields = header.map((h) => COLUMNS[h]);
  const unknown = header.filter((_h, i) => !fields[i]);
  if (unknown.length) throw invalid(`CSV: unknown column(s) ${unknown.join(', ')}; expected ${MIGRATION_CSV_HEADER}`, { field: 'body', columns: unknown });
  if (records.length - 1 > MAX_BATCH_ROWS) throw invalid(`a batch holds at most ${MAX_BATCH_ROWS} rows`, { field: 'rows' });
  return records.slice(1).map((rec) => {
    const row: MigrationRowInput = {};
    fields.forEach((f, i) => {
      const v = f === 'password' ? (rec[i] ?? '') : (rec[i] ?? '').trim();
      if (v !== '') (row as Record<string, string>)[f!] = v;
    });
    return row;
  });
}

export interface ProbeSource {
  host: string;
  port: number;
  tls: 'implicit' | 'starttls';
  user: string;
  password: string;
}

export interface ProbeResult {
  check: 'ok' | 'bad-credentials' | 'unreachable';
  error: string | null;
  messages: number;
  bytes: number;
  folders: Array<{ name: string; messages: number; bytes: number }>;
}

const TIMEOUT_MS = 15_000;

/** A short reason from an imapflow or socket error (never the credential). */
function reason(err: unknown): string {
  const e = err as { responseText?: string; code?: string; message?: string };
  return (e.responseText || e.code || e.message || 'connection failed').slice(0, 300);
}

/** Test-logs-in to a source and measures every selectable folder; never throws. */
export async function probeSource(src: ProbeSource, tls: ConnectionOptions = {}): Promise<ProbeResult> {
  const client = new ImapFlow({
    host: src.host,
    port: src.port,
    secure: src.tls === 'implicit',
    doSTARTTLS: src.tls === 'starttls' ? true : undefined,
    auth: { user: src.user, pass: src.password },
    tls,
    logger: false,
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: 60_000,
    disableAutoIdle: true,
  } as ConstructorParameters<typeof ImapFlow>[0]);
  client.on('error', () => undefined); // a dropped socket after the fact is reported by the await that meets it
  const out: ProbeResult = { check: 'ok', error: null, messages: 0, bytes: 0, folders: [] };
  try {
    await client.connect();
  } catch (err) {
    // a NO to the login is a refusal, unless the server says it is unavailable (a temporary failure)
    const e = err as { authenticationFailed?: boolean; serverResponseCode?: string };
    const failedAuth = e.authenticationFailed === true && e.serverResponseCode !== 'UNAVAILABLE';
    client.close();
    return { ...out, check: failedAuth ? 'bad-credentials' : 'unreachable', error: failedAuth ? 'the source refused the login' : reason(err) };
  }
  try {
    for (const f of await client.list({ statusQuery: { messages: true } })) {
      if (f.flags.has('\\Noselect') || f.flags.has('\\NonExistent')) continue;
      const messages = f.status?.messages ?? 0;
      let bytes = 0;
      if (messages > 0) {
        const lock = await client.getMailboxLock(f.path, { readOnly: true });
        try {
          for await (const m of client.fetch('1:*', { size: true })) bytes += m.size ?? 0;
        } finally {
          lock.release();
        }
      }
      out.folders.push({ name: f.path, messages, bytes });
      out.messages += messages;
      out.bytes += bytes;
    }
    await client.logout();
    return out;
  } catch (err) {
    client.close();
    return { ...out, check: 'unreachable', error: `logged in, then: ${reason(err)}` };
  }
}
