/**
 * The guards fail on the imports and calls they exist to stop (ARCHITECTURE.md): a control
 * route importing the database schema, a core file importing Fastify, Haraka or a protocol, core
 * code building SQL, an import cycle; and an allowed import passes. Uses the project's own
 * eslint.config.mjs through ESLint's Node API (lintText with a path inside the tree, so the
 * per-folder rules and the path resolver apply exactly as in `npm run lint`), and the cycle
 * check script on a temporary tree.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });
const run = promisify(execFile);

/** The rule ids and messages ESLint reports for `code` as if it were the file at `file` (relative to the repo root). */
async function lint(file: string, code: string): Promise<Array<{ rule: string | null; message: string }>> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.map((m) => ({ rule: m.ruleId, message: m.message }));
}

describe('import boundaries', () => {
  it('a control route importing appliance/db fails with the boundary rule', async () => {
    const hits = await lint('control/routes/v1/zz-bad.routes.ts', "import type { DB } from '../../../appliance/db/schema.js';\nexport type X = DB;\n");
    expect(hits).toContainEqual({ rule: 'import-x/no-restricted-paths', message: expect.stringMatching(/protocol code .* never imports appliance\/db/) });
  });

  it('the IMAP server, the MTA adapter and the Haraka plugins may not import appliance/db either', async () => {
    for (const [file, spec] of [
      ['appliance/imap/zz-bad.ts', '../db/repos/index.js'],
      ['appliance/mta/zz-bad.ts', '../db/schema.js'],
      ['mta-plugins/rcpt.postern-routing/zz-bad.ts', '../../appliance/db/schema.js'],
    ]) {
      const hits = await lint(file!, `import type { DB } from '${spec}';\nexport type X = DB;\n`);
      expect(
        hits.map((h) => h.rule),
        file,
      ).toContain('import-x/no-restricted-paths');
    }
  });

  it('a core file importing Fastify or Haraka fails', async () => {
    const fastify = await lint('appliance/core/mailboxes/zz-bad.ts', "import Fastify from 'fastify';\nexport const app = Fastify();\n");
    expect(fastify).toContainEqual({ rule: 'no-restricted-imports', message: expect.stringMatching(/appliance\/core never imports Fastify/) });
    const haraka = await lint('appliance/core/delivery/zz-bad.ts', "import constants from 'haraka-constants';\nexport const c = constants;\n");
    expect(haraka).toContainEqual({ rule: 'no-restricted-imports', message: expect.stringMatching(/appliance\/core never imports Haraka/) });
  });

  it('the core and the mail store importing the Prometheus registry instead of their MetricsPort fail', async () => {
    for (const [file, spec] of [
      ['appliance/core/access/zz-bad.ts', '../../metrics.js'],
      ['appliance/mailstore/zz-bad.ts', '../metrics.js'],
    ]) {
      const hits = await lint(file!, `import { countAuth } from '${spec}';\nexport const f = countAuth;\n`);
      expect(hits, file).toContainEqual({ rule: 'import-x/no-restricted-paths', message: expect.stringMatching(/count through the MetricsPort/) });
    }
  });

  it('a core file importing a protocol (control, IMAP, MTA, RPC) fails', async () => {
    for (const spec of ['../../../control/app.js', '../../imap/server.js', '../../mta/mailer.js', '../../rpc/protocol.js']) {
      const hits = await lint('appliance/core/sending/zz-bad.ts', `import * as m from '${spec}';\nexport const x = m;\n`);
      expect(hits, spec).toContainEqual({ rule: 'import-x/no-restricted-paths', message: expect.stringMatching(/appliance\/core never imports a protocol/) });
    }
  });

  it('allowed arrows pass: a route imports the core, the core imports the kernel and the repositories', async () => {
    expect(await lint('control/routes/v1/zz-ok.routes.ts', "import { listMailboxes } from '../../../appliance/core/mailboxes/mailboxes.service.js';\nexport const f = listMailboxes;\n")).toEqual([]);
    expect(
      await lint('appliance/core/mailboxes/zz-ok.ts', "import { AppError } from '../kernel/errors.js';\nimport { repos } from '../../db/repos/index.js';\nexport const x = [AppError, repos];\n"),
    ).toEqual([]);
  });
});

describe('SQL only in appliance/db and the mail store', () => {
  const query = "import type { Kysely } from 'kysely';\nimport type { DB } from '../../db/schema.js';\nexport const q = (db: Kysely<DB>) => db.selectFrom('mailboxes').selectAll().execute();\n";

  it('a core file calling selectFrom / updateTable / insertInto / deleteFrom fails', async () => {
    expect(await lint('appliance/core/mailboxes/zz-bad.ts', query)).toContainEqual({ rule: 'no-restricted-syntax', message: expect.stringMatching(/^selectFrom\(\): only appliance\/db/) });
    const writes = await lint('appliance/core/audit/zz-bad.ts', "export const w = (db: any) => [db.updateTable('a'), db.insertInto('a'), db.deleteFrom('a')];\n");
    expect(writes.filter((h) => h.rule === 'no-restricted-syntax').map((h) => h.message.split('(')[0])).toEqual(['updateTable', 'insertInto', 'deleteFrom']);
  });

  it("kysely's sql (import and template) fails outside appliance/db", async () => {
    const hits = await lint('appliance/core/portfolio/zz-bad.ts', "import { sql } from 'kysely';\nexport const q = sql`select 1`;\n");
    expect(hits.map((h) => h.rule)).toEqual(['no-restricted-imports', 'no-restricted-syntax']);
  });

  it('the same query is allowed in a repository and in the mail store', async () => {
    expect(await lint('appliance/db/repos/zz-ok.ts', query.replace('../../db/schema.js', '../schema.js'))).toEqual([]);
    expect(await lint('appliance/mailstore/zz-ok.ts', query.replace('../../db/schema.js', '../db/schema.js'))).toEqual([]);
  });
});

describe('size', () => {
  it('a core function over 80 lines fails', async () => {
    const body = Array.from({ length: 85 }, (_, i) => `  total += ${i};`).join('\n');
    const hits = await lint('appliance/core/kernel/zz-bad.ts', `export function long(): number {\n  let total = 0;\n${body}\n  return total;\n}\n`);
    expect(hits.map((h) => h.rule)).toContain('max-lines-per-function');
  });
});

describe('import cycles', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-cycles-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the cycle check fails on a loop through runtime imports and ignores type-only ones', async () => {
    mkdirSync(path.join(dir, 'appliance/core'), { recursive: true });
    writeFileSync(path.join(dir, 'appliance/core/a.ts'), "import { b } from './b.js';\nexport const a = () => b;\n");
    writeFileSync(path.join(dir, 'appliance/core/b.ts'), "import type { C } from './c.js';\nexport const b = (c?: C) => c;\n");
    writeFileSync(path.join(dir, 'appliance/core/c.ts'), "import { a } from './a.js';\nexport type C = ReturnType<typeof a>;\n");
    // a → b is runtime, b → c type-only, c → a runtime: no runtime loop.
    const ok = await run('node', [path.join(ROOT, 'scripts/check-cycles.mjs'), dir, 'appliance']);
    expect(ok.stdout).toMatch(/0 cycle/);
    // b now imports c at runtime: a → b → c → a.
    writeFileSync(path.join(dir, 'appliance/core/b.ts'), "import { type C, tag } from './c.js';\nexport const b = (c?: C) => [c, tag];\n");
    writeFileSync(path.join(dir, 'appliance/core/c.ts'), "import { a } from './a.js';\nexport type C = ReturnType<typeof a>;\nexport const tag = 'c';\n");
    const bad = await run('node', [path.join(ROOT, 'scripts/check-cycles.mjs'), dir, 'appliance']).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(bad?.code).toBe(1);
    expect(bad?.stderr).toMatch(/import cycle: appliance\/core\/a\.ts → appliance\/core\/b\.ts → appliance\/core\/c\.ts → appliance\/core\/a\.ts/);
  });
});
