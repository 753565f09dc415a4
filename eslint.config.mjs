// @ts-check
/**
 * The guards that keep the architecture (ARCHITECTURE.md) as it is written: import boundaries,
 * "only the repositories build SQL", no import cycles, small files and functions. Light on
 * style (recommended typescript-eslint rules, not type-checked) so it runs in seconds; the
 * formatting is prettier's (`.prettierrc.json`). `npm run lint` runs both.
 *
 * ESLint replaces (does not merge) a rule's options when two config objects set the same rule
 * for a file, so every restricted-imports / restricted-syntax set below is built whole per
 * folder group by the helpers, and the groups are disjoint.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/** Production code (the SQL and boundary rules apply here; tests may read the database to check state). */
const SOURCE = ['appliance/**/*.ts', 'control/**/*.ts', 'mta-plugins/**/*.ts', 'scripts/**/*.ts'];
/** The only code that builds SQL: the repositories (and schema, migrations, dialect) and the mail store. */
const SQL_HOMES = ['appliance/db/**', 'appliance/mailstore/**'];
/** Protocol adapters: they translate bytes into core calls and never touch the database. */
const PROTOCOLS = ['control', 'appliance/imap', 'appliance/mta', 'mta-plugins'];

const SQL_BUILDERS = ['selectFrom', 'updateTable', 'insertInto', 'deleteFrom'];
const SQL_MESSAGE = 'only appliance/db/** (the repositories) and appliance/mailstore/** build SQL: call a repository method (repos(db, scope).<aggregate>.<method>)';

/** no-restricted-syntax: the kysely query builders and `sql` templates, outside the SQL homes. */
const noSqlSyntax = [
  'error',
  ...SQL_BUILDERS.map((name) => ({ selector: `CallExpression[callee.property.name='${name}']`, message: `${name}(): ${SQL_MESSAGE}` })),
  { selector: "TaggedTemplateExpression[tag.name='sql']", message: `sql\`…\`: ${SQL_MESSAGE}` },
  { selector: "TaggedTemplateExpression[tag.object.name='sql']", message: `sql.*\`…\`: ${SQL_MESSAGE}` },
];

const KYSELY_SQL = { name: 'kysely', importNames: ['sql'], message: `kysely's sql: ${SQL_MESSAGE}` };

/** no-restricted-imports for a folder group: kysely's `sql` always, plus the group's own packages. */
function restrictedImports(patterns = []) {
  return ['error', { paths: [KYSELY_SQL], patterns }];
}

/** The core knows nothing of Fastify, Haraka or HTTP/SMTP/IMAP plumbing packages. */
const CORE_FORBIDDEN_PACKAGES = [
  { group: ['fastify', 'fastify/*', '@fastify/*'], message: 'appliance/core never imports Fastify: the control plane (control/) translates HTTP into core calls' },
  { group: ['Haraka', 'Haraka/*', 'haraka-*', '@haraka/*'], message: 'appliance/core never imports Haraka: mta-plugins/ and appliance/mta translate SMTP into core calls' },
];

const LINES = { skipBlankLines: true, skipComments: true };

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'data/**', 'test-artifacts/**', 'vendor/**', 'web/dist/**', 'bench/**', '**/*.js', '**/*.cjs'],
  },
  {
    // The eslint-disable comments in the tree are kept on purpose and checked for staleness here:
    // `no-control-regex` where a validator deliberately rejects control characters (IMAP names,
    // header values, free text), `@typescript-eslint/no-require-imports` where Haraka's CommonJS
    // packages (haraka-constants, haraka-dsn, @haraka/email-address) or a built dist/ file are
    // loaded at run time. A directive that no longer suppresses anything is an error.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    plugins: { 'import-x': importX },
    settings: {
      // Dependencies are TypeScript (for the import-x rules that read them).
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // TypeScript's nodenext imports name the emitted .js; the resolver maps them back to .ts.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      // Light: the recommended sets, minus what the compiler already checks or the code base uses on purpose.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Reported, not fatal: the remaining `any`s sit at untyped edges (Haraka, JSON from the CLI's API client).
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    // Frozen migrations take Kysely<any> (kysely's documented practice: they must not follow today's schema).
    files: ['appliance/db/migrations/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },

  // ── The walls (ARCHITECTURE.md, "allowed arrows"), resolved on file paths ──
  {
    files: SOURCE,
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...PROTOCOLS.map((target) => ({
              target: `./${target}`,
              from: './appliance/db',
              message: 'protocol code (control/, appliance/imap, appliance/mta, mta-plugins/) never imports appliance/db: call the core (appliance/core), which owns the repositories',
            })),
            {
              target: './appliance/core',
              from: ['./control', './appliance/imap', './appliance/mta', './mta-plugins', './appliance/rpc'],
              message: 'appliance/core never imports a protocol (control/, appliance/imap, appliance/mta, mta-plugins/, appliance/rpc): protocols call the core, not the other way round',
            },
            {
              target: ['./appliance/core', './appliance/mailstore'],
              from: ['./appliance/metrics.ts', './appliance/metrics-sources.ts'],
              message: 'the core and the mail store count through the MetricsPort (core/kernel/metrics-port.ts) they are given, never the Prometheus registry itself',
            },
          ],
        },
      ],
    },
  },
  // No import cycles: scripts/check-cycles.mjs (run by `npm run lint`). import-x/no-cycle finds the
  // same cycles but took ~13 s of this run's ~20 s CPU on this tree; the script takes ~1 s.

  // ── SQL only in the repositories and the mail store ──
  {
    files: SOURCE,
    ignores: [...SQL_HOMES, 'appliance/core/**'],
    rules: { 'no-restricted-syntax': noSqlSyntax, 'no-restricted-imports': restrictedImports() },
  },
  {
    files: ['appliance/core/**/*.ts'],
    rules: { 'no-restricted-syntax': noSqlSyntax, 'no-restricted-imports': restrictedImports(CORE_FORBIDDEN_PACKAGES) },
  },

  // ── Size: small files in the core, small functions everywhere (route tables and migrations excepted) ──
  {
    files: ['appliance/core/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 500, ...LINES }] },
  },
  {
    files: ['appliance/**/*.ts', 'control/**/*.ts'],
    ignores: ['control/routes/**', 'appliance/db/migrations/**'],
    rules: { 'max-lines-per-function': ['error', { max: 80, ...LINES, IIFEs: true }] },
  },
);
