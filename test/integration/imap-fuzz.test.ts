/**
 * Malformed input never crashes or wedges the server: hundreds of random, truncated and
 * oversized commands and literals (seeded, so failures reproduce), before and after login,
 * then a valid session still works and no session is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, sleep, startImapEnv, type ImapTestEnv } from './imap-harness.js';
import { ARGS, VERBS } from '../../scripts/fuzz/imap.fuzz.js';
import { prng } from '../../scripts/lib/prng.js';

const USER = 'fuzz@fuzz.test';
const PASS = 'fuzzing passphrase 123';

function randomCommand(rnd: () => number, tagNo: number): string {
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
  const parts = [rnd() < 0.05 ? '' : `f${tagNo}`, pick(VERBS)];
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) parts.push(pick(ARGS));
  let line = parts.join(rnd() < 0.9 ? ' ' : '');
  const r = rnd();
  if (r < 0.1)
    line = line.slice(0, Math.floor(rnd() * line.length)); // truncated
  else if (r < 0.15)
    line += ' ' + 'A'.repeat(70_000); // over the line limit
  else if (r < 0.25) {
    // A literal whose announced size does not match what follows.
    const size = Math.floor(rnd() * 40);
    const plus = rnd() < 0.5 ? '+' : '';
    return `${line} {${size}${plus}}\r\n${'x'.repeat(Math.floor(rnd() * 60))}\r\n`;
  }
  return line + (rnd() < 0.9 ? '\r\n' : '\n');
}

describe('IMAP fuzzing', () => {
  let env: ImapTestEnv;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    await env.core.deliver(USER, Buffer.from('From: a@b.example\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\none\r\n--x--\r\n'));
  });
  afterAll(async () => env?.close());

  async function fuzzSession(seed: number, authenticated: boolean, commands: number) {
    const rnd = prng(seed);
    const c = await RawClient.connect(env.server.ports.imaps, true);
    if (authenticated) {
      await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
      if (rnd() < 0.8) await c.cmd('s', 'SELECT INBOX');
    }
    for (let i = 0; i < commands && !c.closed; i++) {
      c.send(randomCommand(rnd, i));
      if (i % 10 === 0) await sleep(1);
    }
    // Raw junk, then a command that must be answered unless the junk left a literal open.
    c.send(Buffer.from(Array.from({ length: 200 }, () => Math.floor(rnd() * 256))));
    c.send('\r\nend NOOP\r\n');
    await c.until((b) => /end (OK|BAD)/.test(b) || c.closed, 1500).catch(() => undefined);
    c.close();
  }

  it('survives hundreds of random commands before and after login', async () => {
    for (let seed = 1; seed <= 12; seed++) await fuzzSession(seed, seed % 3 !== 0, 60);
    // A valid session still works.
    const c = await RawClient.connect(env.server.ports.imaps, true);
    expect(await c.cmd('a', `LOGIN ${USER} "${PASS}"`)).toMatch(/a OK/);
    expect(await c.cmd('b', 'SELECT INBOX')).toMatch(/\* 1 EXISTS[\s\S]*b OK/);
    expect(await c.cmd('c', 'FETCH 1 (BODY.PEEK[1] BODYSTRUCTURE)')).toMatch(/BODY\[1\] \{3\}\r\none/);
    expect(await c.cmd('d', 'LOGOUT')).toMatch(/d OK/);
    await sleep(200);
    expect(env.server.sessionCount()).toBe(0);
  });

  it('answers garbage with tagged or untagged BAD, never a crash', async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    const cases = ['', 'x', '* NOOP', 'a NOOP extra', 'a SELECT', 'a FETCH', 'a LOGIN a', 'a UID', 'a UID BOGUS 1', 'a (', '+ x', 'a SEARCH', 'a LIST'];
    for (const line of cases) c.send(line + '\r\n');
    c.send('z NOOP\r\n');
    const out = await c.until((b) => b.includes('z OK'));
    expect(out.match(/BAD/g)!.length).toBeGreaterThanOrEqual(cases.length - 2);
    c.close();
  });
});
