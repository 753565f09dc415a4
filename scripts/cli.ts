#!/usr/bin/env node
/**
 * `postern` (also `npm run cli -- …`): the operator's command line over the control plane API.
 * Token from POSTERN_TOKEN, API from POSTERN_API_URL (default: this box's control plane).
 * Human tables by default, --json for scripts; exit codes: see EXIT in cli/context.ts.
 */
import { parseArgs } from 'node:util';
import { auditGroup } from './cli/audit.js';
import type { Command, Group } from './cli/command.js';
import { createCtx, EXIT, RefusedError, UnreachableError, UsageError } from './cli/context.js';
import { domainsGroup } from './cli/domains.js';
import { mailboxesGroup } from './cli/mailboxes.js';
import { queueGroup } from './cli/queue.js';
import { resetsGroup } from './cli/resets.js';
import { statusGroup } from './cli/status.js';
import { tenantsGroup } from './cli/tenants.js';
import { spamGroup } from './cli/spam.js';
import { backupGroup, restoreGroup } from './cli/backup.js';
import { exportGroup } from './cli/export.js';
import { migrateGroup } from './cli/migrate.js';
import { importGroup } from './cli/import.js';
import { importBatchCommand } from './cli/import-batch.js';
import { accessGroup } from './cli/access.js';

const GROUPS: Group[] = [statusGroup, tenantsGroup, domainsGroup, mailboxesGroup, resetsGroup, auditGroup, queueGroup];
GROUPS.push(spamGroup);
GROUPS.push(exportGroup, backupGroup, restoreGroup);
GROUPS.push(migrateGroup);
GROUPS.push(importGroup);
// `postern import batch plan|apply|status|list|cancel` (bulk migration from a CSV, issue 20) beside the single-mailbox import commands.
importGroup.commands.batch = importBatchCommand;
// `postern access grant|list|change|revoke|report`: shared mailboxes (issue 19).
GROUPS.push(accessGroup);

const FOOTER = `Environment:
  POSTERN_TOKEN     API token of an operator or tenant admin (required)
  POSTERN_API_URL   API base URL (default: this box's control plane, http(s)://127.0.0.1:<POSTERN_HTTP_PORT>/api/v1,
                    https when POSTERN_HTTP_TLS is on, trusting <data dir>/tls/cert.pem)
  POSTERN_CA_FILE   PEM file of the CA (or self-signed certificate) to trust for https

Options of every command: --json (machine-readable output), --help
Exit codes: 0 done; 1 refused by the API (its error is printed), not ready, DNS failing or audit chain broken;
            2 usage error; 3 control plane unreachable`;

const signature = (g: Group, name: string, c: Command) => [`postern ${g.name}`, name, c.usage].filter(Boolean).join(' ');

function mainHelp(): string {
  const lines: Array<[string, string]> = [];
  for (const g of GROUPS) for (const [name, c] of Object.entries(g.commands)) if (name !== '' || Object.keys(g.commands).length === 1) lines.push([signature(g, name, c), c.summary]);
  const w = Math.max(...lines.map(([s]) => s.length));
  return [
    'postern: the Postern operator CLI (everything goes through the API)',
    '',
    'Usage: postern <command> [arguments] [options]',
    '',
    'Commands:',
    ...lines.map(([s, d]) => `  ${s.padEnd(w)}  ${d}`),
    '',
    'postern <command> --help shows its options.',
    '',
    FOOTER,
  ].join('\n');
}

function groupHelp(g: Group): string {
  const lines = Object.entries(g.commands)
    .filter(([n]) => n !== '' || Object.keys(g.commands).length === 1)
    .map(([n, c]) => [signature(g, n, c), c.summary] as const);
  const w = Math.max(...lines.map(([s]) => s.length));
  return [`postern ${g.name}: ${g.summary}`, '', ...lines.map(([s, d]) => `  ${s.padEnd(w)}  ${d}`), '', `postern ${g.name} <command> --help shows its options.`].join('\n');
}

function commandHelp(g: Group, name: string, c: Command): string {
  const opts = Object.entries(c.options ?? {}).map(([k, o]) => [`--${k}${o.type === 'string' ? ' <value>' : ''}`, `${o.description}${o.required ? ' (required)' : ''}`] as const);
  opts.push(['--json', 'print the result as JSON'], ['--help', 'this text']);
  const w = Math.max(...opts.map(([s]) => s.length));
  return [`Usage: ${signature(g, name, c)} [options]`, '', c.summary, '', 'Options:', ...opts.map(([s, d]) => `  ${s.padEnd(w)}  ${d}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const words = argv.filter((a) => !a.startsWith('-'));
  if (argv.length === 0 || (wantsHelp && words.length === 0) || words[0] === 'help') {
    process.stdout.write(`${mainHelp()}\n`);
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const group = GROUPS.find((g) => g.name === argv[0]);
  if (!group) throw new UsageError(`unknown command "${argv[0]}" (postern --help lists the commands)`);
  const sub = argv[1] !== undefined && !argv[1].startsWith('-') && argv[1] in group.commands ? argv[1] : '';
  const command = group.commands[sub];
  if (!command) {
    if (wantsHelp) {
      process.stdout.write(`${groupHelp(group)}\n`);
      return EXIT.ok;
    }
    throw new UsageError(argv[1] ? `unknown command "${group.name} ${argv[1]}" (postern ${group.name} --help)` : `postern ${group.name} needs a command: ${Object.keys(group.commands).join(', ')}`);
  }
  if (wantsHelp) {
    process.stdout.write(`${commandHelp(group, sub, command)}\n`);
    return EXIT.ok;
  }
  const options = Object.fromEntries(Object.entries(command.options ?? {}).map(([k, o]) => [k, { type: o.type }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv.slice(sub ? 2 : 1), options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (postern ${group.name}${sub ? ` ${sub}` : ''} --help)`);
  }
  const needed = (command.usage.match(/<[^>]+>/g) ?? []).length;
  if (parsed.positionals.length !== needed) throw new UsageError(`usage: ${signature(group, sub, command)} [options]`);
  for (const [k, o] of Object.entries(command.options ?? {})) if (o.required && parsed.values[k] === undefined) throw new UsageError(`--${k} is required (postern ${group.name} ${sub} --help)`);
  const json = parsed.values.json === true;
  const ctx = createCtx(process.env, json, (line) => process.stdout.write(`${line}\n`));
  return (await command.run(ctx, parsed.positionals, parsed.values as Record<string, string | boolean | undefined>)) ?? EXIT.ok;
}

// `postern … | head`: a closed pipe ends the output quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const json = process.argv.includes('--json');
    if (err instanceof RefusedError) {
      process.stderr.write(`postern: ${err.message}\n`);
      if (json) process.stdout.write(`${JSON.stringify({ status: err.status, ...(err.body && typeof err.body === 'object' ? err.body : { error: { message: err.message } }) }, null, 2)}\n`);
      process.exitCode = EXIT.refused;
    } else if (err instanceof UsageError) {
      process.stderr.write(`postern: ${err.message}\n`);
      process.exitCode = EXIT.usage;
    } else if (err instanceof UnreachableError) {
      process.stderr.write(`postern: ${err.message}\n`);
      process.exitCode = EXIT.unreachable;
    } else {
      process.stderr.write(`postern: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 70;
    }
  },
);
