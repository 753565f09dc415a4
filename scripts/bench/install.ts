/**
 * Installs the reference stack's Debian packages when they are missing, without letting the
 * packages' own services start: the benchmark runs private instances on high loopback ports.
 */
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { run } from './util.js';

const NEEDED: Array<{ pkg: string; file: string }> = [
  { pkg: 'postfix', file: '/usr/sbin/postfix' },
  { pkg: 'postfix', file: '/usr/sbin/smtp-source' },
  { pkg: 'dovecot-imapd', file: '/usr/lib/dovecot/imap' },
  { pkg: 'dovecot-lmtpd', file: '/usr/lib/dovecot/lmtp' },
  // the migration case's reference: mbsync (IMAP to IMAP), and openssl for the source's certificate
  { pkg: 'isync', file: '/usr/bin/mbsync' },
  { pkg: 'openssl', file: '/usr/bin/openssl' },
  // the submission case's reference signs with a private OpenDKIM milter (issue 18)
  { pkg: 'opendkim', file: '/usr/sbin/opendkim' },
];
/** The spam case's scanner (issue 15): rspamd and its redis, for both stacks. */
const NEEDED_SPAM: Array<{ pkg: string; file: string }> = [
  { pkg: 'rspamd', file: '/usr/bin/rspamd' },
  { pkg: 'redis-server', file: '/usr/bin/redis-server' },
];

export function ensurePackages(log: (s: string) => void, opts: { spam?: boolean } = {}): void {
  const needed = opts.spam ? [...NEEDED, ...NEEDED_SPAM] : NEEDED;
  const missing = [...new Set(needed.filter((n) => !existsSync(n.file)).map((n) => n.pkg))];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages ${missing.join(' ')}: run as root or install them first`);
  log(`installing Debian packages: ${missing.join(' ')}`);
  // "No configuration": the package installs no /etc/postfix/main.cf and starts no system MTA.
  run('debconf-set-selections', [], { input: 'postfix postfix/main_mailer_type select No configuration\n' });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Dovecot's (and OpenDKIM's) package would start a system service: deny service starts for the
  // duration of the install (the usual policy-rc.d of containers), unless a policy exists already.
  const POLICY = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(POLICY);
  if (ownPolicy) {
    writeFileSync(POLICY, '#!/bin/sh\n# written by the Postern benchmark during apt-get install\nexit 101\n');
    chmodSync(POLICY, 0o755);
  }
  try {
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  } finally {
    if (ownPolicy) rmSync(POLICY, { force: true });
  }
}

/** Versions for the record (best effort: "unknown" when a tool cannot say). */
export function referenceVersions(): { postfix: string; dovecot: string; rspamd: string } {
  const postfix = run('dpkg-query', ['-W', '-f=${Version}', 'postfix'], { allowFail: true }).stdout.trim() || 'unknown';
  const dovecot = run('dovecot', ['--version'], { allowFail: true }).stdout.trim() || 'unknown';
  const rspamd = run('dpkg-query', ['-W', '-f=${Version}', 'rspamd'], { allowFail: true }).stdout.trim() || 'unknown';
  return { postfix, dovecot, rspamd };
}
