/**
 * Generates Haraka's configuration directory from our config on every boot (data/haraka):
 * listeners, TLS with the appliance certificate, our plugins (folder plugins pointing at the
 * compiled mta-plugins/), and postern.json, the settings our plugins read.
 */
import { getDiffieHellman } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config, DataPaths } from '../config.js';
import { AUTH_LINE_MAX, type SmtpLimitSettings, TEXT_LINE_MAX } from '../../mta-plugins/connect.postern-limits/lib/limits.js';
import type { TlsMaterial } from '../tls.js';

/** Settings handed to our Haraka plugins (config/postern.json). */
export interface PluginSettings {
  hostname: string;
  listenHost: string;
  outboundPort: number;
  blobDir: string;
  /** Where message bytes go: the local blobDir, or the shared S3 store whose settings (with the secret) are in s3SettingsFile (0600). */
  blobStore: 'fs' | 's3';
  s3SettingsFile: string | null;
  maxMessageBytes: number;
  dnsResolver: { host: string; port: number } | null;
  ports: Config['ports'];
  /** Haraka processes serving SMTP (POSTERN_MTA_PROCESSES); more than 1 runs Haraka's cluster mode (mta-plugins/shared/cluster.ts). */
  processes: number;
  smtpLimits: SmtpLimitSettings;
  /** The spam plugin's settings (issue 15); scanner: false when rspamd/redis are off or missing. */
  spam?: {
    scanner: boolean;
    rspamdPort: number;
    timeoutMs: number;
    dnsblZones: readonly string[];
    connectionsPerMinute: number;
    recipientsPerMinute: number;
    earlyTalkerMs: number;
  };
}

/** Our plugins in hook order, as compiled folders under dist/mta-plugins. */
export const POSTERN_PLUGINS = [
  'log.postern-batch', // the only log hook: Haraka's lines leave in one write per 50 ms
  'connect.postern-metrics',
  'connect.postern-limits',
  'auth.postern-submission',
  'mail.postern-size',
  'rcpt.postern-routing',
  'data.postern-auth',
  'data.postern-spam',
  'data.postern-sign',
  'queue.postern-store',
  'outbound.postern-routing',
  // Last: its connect hook answers the greeting with OK, which ends the connect hooks, so every
  // other plugin's connect checks (limits, DNS block lists, early talkers) must run before it.
  'connect.postern-banner',
] as const;

const LOG_LEVEL: Record<Config['logLevel'], string> = {
  fatal: 'crit',
  error: 'error',
  warn: 'warn',
  info: 'notice',
  debug: 'info',
  trace: 'protocol',
  silent: 'emerg',
};

function ini(sections: Record<string, Record<string, string | number | boolean | string[]>>): string {
  return Object.entries(sections)
    .map(
      ([name, kv]) =>
        `${name === 'main' ? '' : `[${name}]\n`}${Object.entries(kv)
          // An array is Haraka's `key[]=` list, one line per item.
          .flatMap(([k, v]) => (Array.isArray(v) ? v.map((item) => `${k}[]=${item}`) : [`${k}=${v}`]))
          .join('\n')}\n`,
    )
    .join('\n');
}

/** Haraka's PROXY protocol allow-list (POSTERN_PROXY_PROTOCOL_FROM): listed peers must open with a PROXY v1 header, others may not send one. */
function haproxySection(config: Readonly<Config>): Record<string, string[]> {
  if (!config.proxyProtocolFrom) return {};
  return { hosts: config.proxyProtocolFrom.map((n) => `${n.network}/${n.prefix}`) };
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function derInteger(bytes: Buffer): Buffer {
  const body = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

/**
 * DH parameters for Haraka's TLS: a standard 2048-bit group (RFC 3526 group 14). Without the file
 * Haraka runs `openssl dhparam 2048` at boot: up to 30 s of a core, killed at its timeout under
 * load and orphaned when the appliance stops first.
 */
export function standardDhParamsPem(): string {
  const dh = getDiffieHellman('modp14');
  const content = Buffer.concat([derInteger(dh.getPrime()), derInteger(dh.getGenerator())]);
  const der = Buffer.concat([Buffer.from([0x30]), derLength(content.length), content]);
  return `-----BEGIN DH PARAMETERS-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END DH PARAMETERS-----\n`;
}

/** Haraka's own configuration files: listeners, connection limits, TLS, outbound, the plugin list. */
function harakaFiles(config: Readonly<Config>, paths: DataPaths, tls: TlsMaterial): Record<string, string> {
  const root = paths.haraka;
  const host = config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost;
  return {
    'smtp.ini': ini({
      main: {
        listen: [config.ports.smtp, config.ports.submission, config.ports.submissions].map((p) => `${host}:${p}`).join(','),
        smtps_port: config.ports.submissions,
        // 0: one process; N > 1: Haraka's cluster mode, a master and N workers (mta-plugins/shared/cluster.ts).
        nodes: config.mtaProcesses > 1 ? config.mtaProcesses : 0,
        inactivity_timeout: 300,
        force_shutdown_timeout: 10,
        graceful_shutdown: false,
        smtputf8: true,
      },
    }),
    // max.bytes=0: Haraka's own size checks answer without an enhanced status code, so the
    // mail.postern-size plugin advertises SIZE and answers 552 5.3.4 itself.
    // spool_dir/spool_after: Haraka's transactions read them from connection.ini (not smtp.ini):
    // a message past 1 MiB is spooled to the MTA's own folder, not held in memory up to 25 MiB.
    'connection.ini': ini({
      main: { smtputf8: true, spool_dir: path.join(root, 'spool'), spool_after: 1024 * 1024 },
      haproxy: haproxySection(config),
      // show_version=false: no Haraka version in Received headers (the greeting is connect.postern-banner's).
      headers: { max_lines: 1000, max_received: 30, show_version: false },
      // line_length: a backstop only; connect.postern-limits answers 500 5.5.2 past 512 octets
      // (12,288 for AUTH). data_line_length: 998 + CRLF; longer lines make data_post refuse.
      max: { bytes: 0, mime_parts: 1000, line_length: AUTH_LINE_MAX + 2, data_line_length: TEXT_LINE_MAX },
      message: { helo: 'pleased to meet you.', close: 'closing connection.' },
      uuid: { banner_chars: 0, deny_chars: 0 },
    }),
    me: `${config.hostname}\n`,
    'log.ini': ini({ main: { level: LOG_LEVEL[config.logLevel], timestamps: false, format: 'json' } }),
    'tls.ini': ini({ main: { key: 'tls_key.pem', cert: 'tls_cert.pem', dhparam: 'dhparams.pem', minVersion: 'TLSv1.2' } }),
    'tls_key.pem': tls.key,
    'dhparams.pem': standardDhParamsPem(),
    'tls_cert.pem': tls.cert,
    // local_mx_ok: bounces to our own senders are routed to our own MX listener on purpose.
    'outbound.ini': ini({
      main: {
        disabled: false,
        local_mx_ok: true,
        enable_tls: true,
        received_header: 'Postern',
        temp_fail_intervals: config.outboundRetrySchedule,
        ...(config.outboundMaxTempFailures ? { maxTempFailures: config.outboundMaxTempFailures } : {}),
      },
    }),
    plugin_timeout: '60\n',
    // Haraka reads results.ini at every connection and transaction; a missing file is never
    // cached (a stat per read), an empty one is read once (issue 18).
    'results.ini': '',
    plugins: ['tls', ...POSTERN_PLUGINS].join('\n') + '\n',
  };
}

/** The S3 settings for the store plugin, secret included: its own file, 0600, never in postern.json. */
const S3_SETTINGS_FILE = 'postern-s3.json';

/** What our plugins read at start-up (postern.json). */
function pluginSettingsJson(config: Readonly<Config>, paths: DataPaths, spamScanner: boolean): string {
  return JSON.stringify(
    {
      hostname: config.hostname,
      listenHost: config.listenHost,
      outboundPort: config.outboundPort,
      blobDir: paths.blobs,
      blobStore: config.storage.blobStore,
      s3SettingsFile: config.storage.blobStore === 's3' ? path.join(paths.haraka, 'config', S3_SETTINGS_FILE) : null,
      maxMessageBytes: config.maxMessageBytes,
      dnsResolver: config.dnsResolver,
      ports: config.ports,
      processes: config.mtaProcesses > 1 ? config.mtaProcesses : 1,
      smtpLimits: config.smtpLimits,
      spam: {
        scanner: spamScanner,
        rspamdPort: config.spam.rspamdPort,
        timeoutMs: config.spam.timeoutMs,
        dnsblZones: config.spam.dnsblZones,
        connectionsPerMinute: config.spam.connectionsPerMinute,
        recipientsPerMinute: config.spam.recipientsPerMinute,
        earlyTalkerMs: config.spam.earlyTalkerMs,
      },
    } satisfies PluginSettings,
    null,
    2,
  );
}

export async function writeHarakaConfig(config: Readonly<Config>, paths: DataPaths, tls: TlsMaterial, pluginsDir: string, spamScanner = false): Promise<string> {
  const root = paths.haraka;
  const conf = path.join(root, 'config');
  await rm(path.join(root, 'plugins'), { recursive: true, force: true });
  await mkdir(conf, { recursive: true });
  await mkdir(path.join(root, 'spool'), { recursive: true });
  await mkdir(paths.queue, { recursive: true });

  const files: Record<string, string> = { ...harakaFiles(config, paths, tls), 'postern.json': pluginSettingsJson(config, paths, spamScanner) };
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(conf, name), content, { mode: name.endsWith('key.pem') ? 0o600 : 0o644 });
  }
  // Removed first so the file is always created 0600 (and no secret lingers after switching to fs).
  await rm(path.join(conf, S3_SETTINGS_FILE), { force: true });
  if (config.storage.blobStore === 's3' && config.storage.s3) {
    await writeFile(path.join(conf, S3_SETTINGS_FILE), JSON.stringify(config.storage.s3), { mode: 0o600 });
  }
  for (const name of POSTERN_PLUGINS) {
    const dir = path.join(root, 'plugins', name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name, version: '0.0.0', main: path.join(pluginsDir, name, 'index.js') }, null, 2));
  }
  return root;
}
