#!/usr/bin/env bash
# The one test command (README: `npm install && npm test`; .ci/run calls exactly that).
# Installs the Debian tools the tests drive when missing, builds, runs every vitest suite,
# then prints a plain "N passed, N failed" summary line; then the integration suite on PostgreSQL
# (vitest.pg.config.ts) and its summary line. Fails when either part fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v swaks >/dev/null 2>&1 || need+=(swaks)
# swaks speaks STARTTLS/implicit TLS only with Net::SSLeay (a Recommends, skipped by --no-install-recommends).
perl -MNet::SSLeay -e1 >/dev/null 2>&1 || need+=(libnet-ssleay-perl)
[ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The console e2e drives Debian's Chromium (playwright-core never downloads a browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
# DKIM signatures are checked by a verifier we did not write: Debian's dkimpy (Ed25519 via PyNaCl).
/usr/bin/python3 -c 'import dkim, nacl' >/dev/null 2>&1 || need+=(python3 python3-dkim python3-nacl)
# A real Prometheus scrapes /metrics in the metrics test; promtool checks the exposition format.
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || need+=(prometheus)
# The benchmark smoke test runs a private Postfix → Dovecot (LMTP) beside Postern, plus smtp-source/smtp-sink.
# "No configuration": the postfix package then writes no main.cf and starts no system MTA on port 25.
if ! { [ -x /usr/sbin/smtp-source ] && [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/lmtp ]; }; then
  need+=(postfix dovecot-imapd dovecot-lmtpd)
  echo 'postfix postfix/main_mailer_type select No configuration' | $([ "$(id -u)" -ne 0 ] && echo sudo) debconf-set-selections
fi
# The benchmark smoke test's submission reference signs with a private OpenDKIM milter (issue 18).
[ -x /usr/sbin/opendkim ] || need+=(opendkim)
# The DNS records test loads the BIND snippet with named-checkzone; the client-config e2e drives msmtp and mbsync.
[ -x /usr/bin/named-checkzone ] || need+=(bind9-utils)
command -v msmtp >/dev/null 2>&1 || need+=(msmtp)
command -v mbsync >/dev/null 2>&1 || need+=(isync)
# The migration tests (and the migration bench) make their private source Dovecot a certificate with openssl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The spam tests run a private rspamd and redis (and read redis with redis-cli).
{ command -v rspamd >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; } || need+=(rspamd redis-server redis-tools)
# The cluster tests run a private PostgreSQL 15 (initdb/pg_ctl as the postgres user; the package's own cluster is not used).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql-15)
# The PROXY protocol e2e puts a real HAProxy (TCP mode, send-proxy) in front of the appliance.
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  echo "test: installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

npm run build
# The guards (ARCHITECTURE.md): import boundaries, SQL only in db/ and the store, sizes, no cycles, formatting; then the tests' types.
npm run lint
npm run typecheck:test
mkdir -p test-artifacts
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
node -e '
const r = require("./test-artifacts/vitest.json");
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
# The integration suite again on PostgreSQL (vitest.pg.config.ts: one private server, a fresh
# database per test app, core and appliance), when the whole suite runs (no file arguments).
if [ $# -eq 0 ]; then
  pg_status=0
  npx vitest run -c vitest.pg.config.ts --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest-pg.json || pg_status=$?
  # Both summaries together at the end, each failed test named (CI shows only the tail of the log).
  node -e '
const line = (r) => `${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : "");
for (const [name, file] of [["SQLite (whole suite)", "vitest.json"], ["PostgreSQL (integration suite)", "vitest-pg.json"]]) {
  let r;
  try { r = require(`./test-artifacts/${file}`); } catch { console.log(`${name}: no results`); continue; }
  console.log(`${name}: ${line(r)}`);
  for (const f of r.testResults ?? []) {
    const rel = require("path").relative(process.cwd(), f.name);
    for (const t of f.assertionResults ?? []) {
      if (t.status !== "failed") continue;
      console.log(`  FAILED ${rel} > ${t.fullName}`);
      console.log(`    ${String((t.failureMessages ?? [])[0] ?? "").split("\n").slice(0, 4).join("\n    ").slice(0, 800)}`);
    }
    if (f.status === "failed" && !(f.assertionResults ?? []).some((t) => t.status === "failed")) console.log(`  FAILED ${rel}: ${String(f.message ?? "").slice(0, 400)}`);
  }
}
' || true
  [ $pg_status -eq 0 ] || status=$pg_status
fi
exit $status
