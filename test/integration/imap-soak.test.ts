/**
 * Soak: 10 concurrent raw-socket clients on two shared folders do random FETCH / STORE /
 * EXPUNGE / APPEND / COPY / MOVE / SEARCH for a bounded time. Every client keeps a model of
 * its session (sequence number → UID, flags, MODSEQ, the FLAGS list) from what the server
 * told it and checks each response against it (RFC 3501 7.4.1 EXPUNGE shifts sequence
 * numbers, 7.3.1 EXISTS never decreases, 7.2.6 every keyword shown is in FLAGS, RFC 7162 3.1
 * MODSEQ only grows). At the end every client's view is compared with a fresh FETCH and with
 * the store itself. Any BAD or [SERVERBUG] fails the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, sleep, startImapEnv, type ImapTestEnv } from './imap-harness.js';
import { prng as rng } from '../../scripts/lib/prng.js';

const USER = 'soak@soak.test';
const PASS = 'soak test passphrase';
const CLIENTS = 10;
const DURATION_MS = Number(process.env.IMAP_SOAK_MS ?? 20_000);
const FOLDERS = ['Shared', 'Other'];
const KEYWORDS = ['$Soak1', '$Soak2', '$Soak3', 'Work', 'Later'];
const SYSTEM = ['\\Seen', '\\Flagged', '\\Answered', '\\Draft', '\\Deleted'];

interface Msg {
  uid: number; // 0 until the client learned it
  flags: Set<string>;
  modseq: number;
}

class ModelClient {
  view: Msg[] = [];
  knownFlags = new Set<string>();
  errors: string[] = [];
  commands = 0;
  /** Numbers of the last SEARCH/SORT response. */
  lastIds: number[] = [];
  private tagN = 0;
  private lastModseq = new Map<number, number>();
  constructor(
    readonly name: string,
    readonly c: RawClient,
    readonly folder: string,
  ) {}

  private fail(msg: string, line: string): void {
    if (this.errors.length < 20) this.errors.push(`${this.name}: ${msg} in ${JSON.stringify(line.slice(0, 200))}`);
  }

  async run(command: string, opts: { verify?: boolean } = {}): Promise<{ status: string; lines: string[] }> {
    const tag = `${this.name}${++this.tagN}`;
    this.commands++;
    const out = await this.c.cmd(tag, command, 10_000);
    const lines = out.split('\r\n').filter(Boolean);
    let status = 'NONE';
    for (const line of lines) {
      if (line.startsWith(`${tag} `)) {
        status = line.split(' ')[1]!;
        if (status === 'BAD' || line.includes('[SERVERBUG]')) this.fail(`${status} for ${command.slice(0, 60)}`, line);
        continue;
      }
      this.untagged(line, opts.verify === true);
    }
    if (status === 'NONE') this.fail('no tagged reply', out);
    return { status, lines };
  }

  private untagged(line: string, verify: boolean): void {
    let m: RegExpExecArray | null;
    if ((m = /^\* FLAGS \(([^)]*)\)$/.exec(line))) {
      const next = new Set(m[1]!.split(' ').filter(Boolean));
      for (const f of this.knownFlags) if (!next.has(f)) this.fail(`FLAGS dropped ${f}`, line);
      this.knownFlags = next;
    } else if ((m = /^\* (\d+) EXISTS$/.exec(line))) {
      const n = Number(m[1]);
      if (n < this.view.length) this.fail(`EXISTS went down from ${this.view.length}`, line);
      while (this.view.length < n) this.view.push({ uid: 0, flags: new Set(), modseq: 0 });
    } else if ((m = /^\* (\d+) EXPUNGE$/.exec(line))) {
      const n = Number(m[1]);
      if (n < 1 || n > this.view.length) this.fail(`EXPUNGE of ${n} with ${this.view.length} messages`, line);
      else this.view.splice(n - 1, 1);
    } else if ((m = /^\* (\d+) FETCH \((.*)\)$/.exec(line))) {
      const seq = Number(m[1]);
      const body = m[2]!;
      const msg = this.view[seq - 1];
      if (!msg) {
        this.fail(`FETCH for ${seq} beyond ${this.view.length}`, line);
        return;
      }
      const uid = /UID (\d+)/.exec(body);
      if (uid) {
        const u = Number(uid[1]);
        if (msg.uid && msg.uid !== u) this.fail(`seq ${seq} is UID ${msg.uid} in the model, ${u} on the wire`, line);
        if (this.view[seq - 2] && this.view[seq - 2]!.uid >= u) this.fail(`UIDs not ascending at ${seq}`, line);
        msg.uid = u;
      }
      const modseq = /MODSEQ \((\d+)\)/.exec(body);
      const flags = /FLAGS \(([^)]*)\)/.exec(body);
      if (flags) {
        const set = new Set(flags[1]!.split(' ').filter((f) => f && f !== '\\Recent'));
        for (const f of set) if (!f.startsWith('\\') && !this.knownFlags.has(f)) this.fail(`keyword ${f} used without being in FLAGS`, line);
        if (verify && [...set].sort().join(' ') !== [...msg.flags].sort().join(' ')) this.fail(`flags of seq ${seq} differ from the model (${[...msg.flags].join(' ')})`, line);
        msg.flags = set;
      }
      if (modseq) {
        const ms = Number(modseq[1]);
        if (msg.uid) {
          const prev = this.lastModseq.get(msg.uid) ?? 0;
          if (ms < prev) this.fail(`MODSEQ of UID ${msg.uid} went back from ${prev}`, line);
          this.lastModseq.set(msg.uid, ms);
        }
        if (verify && msg.modseq && ms !== msg.modseq && !flags) this.fail('MODSEQ changed without a flag change', line);
        msg.modseq = ms;
      }
    } else if ((m = /^\* (?:SEARCH|SORT) ?(.*)$/.exec(line))) {
      this.lastIds = m[1]!
        .replace(/\(MODSEQ \d+\)/, '')
        .split(' ')
        .filter(Boolean)
        .map(Number);
      const uids = m[1]!
        .replace(/\(MODSEQ \d+\)/, '')
        .split(' ')
        .filter(Boolean)
        .map(Number);
      const known = new Set(this.view.map((v) => v.uid));
      // Messages announced by EXISTS whose UID the client has not fetched yet may match too.
      const unknown = this.view.filter((v) => v.uid === 0).length;
      const strays = uids.filter((u) => !known.has(u));
      if (strays.length > unknown) this.fail(`UID SEARCH returned ${strays.join(',')}, not in the view`, line);
    }
  }

  /** Learns UIDs of messages announced by EXISTS. */
  async catchUp(): Promise<void> {
    const first = this.view.findIndex((v) => v.uid === 0);
    if (first >= 0) await this.run(`FETCH ${first + 1}:* (UID FLAGS MODSEQ)`);
  }
}

describe('IMAP soak: concurrent sessions against a model', () => {
  let env: ImapTestEnv;
  let mailboxId: string;
  beforeAll(async () => {
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    for (const f of FOLDERS) await env.core.store.createFolder(mailboxId, f);
    for (let i = 0; i < 30; i++) await env.core.store.append(mailboxId, FOLDERS[i % 2]!, Buffer.from(`From: s${i}@example.org\r\nSubject: seed ${i}\r\n\r\nseed\r\n`));
  });
  afterAll(async () => env?.close());

  it(
    `${CLIENTS} clients for ${DURATION_MS / 1000} s: no protocol error, every view matches its model and the store`,
    async () => {
      const seed = Number(process.env.IMAP_SOAK_SEED ?? Date.now() % 100000);
      const clients: ModelClient[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const raw = await RawClient.connect(env.server.ports.imaps, true);
        const mc = new ModelClient(`c${i}x`, raw, FOLDERS[i < 7 ? 0 : 1]!);
        await mc.run(`LOGIN ${USER} "${PASS}"`);
        await mc.run(`SELECT ${mc.folder} (CONDSTORE)`);
        await mc.catchUp();
        clients.push(mc);
      }
      const deadline = Date.now() + DURATION_MS;
      const work = async (mc: ModelClient, idx: number) => {
        const rand = rng(seed * 31 + idx);
        const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
        const range = () => {
          const n = mc.view.length;
          if (!n) return '1:*';
          const a = 1 + Math.floor(rand() * n);
          const b = Math.min(n, a + Math.floor(rand() * 5));
          return a === b ? String(a) : `${a}:${b}`;
        };
        const other = FOLDERS.find((f) => f !== mc.folder)!;
        while (Date.now() < deadline && !mc.errors.length) {
          const r = rand();
          if (r < 0.25) await mc.run(`FETCH ${range()} (UID FLAGS MODSEQ)`);
          else if (r < 0.5) {
            if (!mc.view.length) continue;
            const flags = Array.from({ length: Math.floor(rand() * 3) }, () => pick(rand() < 0.5 ? KEYWORDS : SYSTEM));
            const op = pick(['+FLAGS', '-FLAGS', '+FLAGS.SILENT', 'FLAGS']);
            const target = rand() < 0.5 ? `UID STORE ${mc.view[Math.floor(rand() * mc.view.length)]!.uid || 1}` : `STORE ${range()}`;
            await mc.run(`${target} ${op} (${[...new Set(flags)].join(' ')})`);
            // .SILENT answers nothing about the session's own change (RFC 3501 6.4.6): ask, as a client would.
            if (op.endsWith('.SILENT')) await mc.run(`${target.replace('STORE', 'FETCH')} (UID FLAGS MODSEQ)`);
          } else if (r < 0.55) await mc.run(`UID SEARCH ${pick(['ALL', 'UNSEEN', 'KEYWORD $Soak1', 'NOT DELETED', 'OR FLAGGED SEEN', 'RECENT'])}`);
          else if (r < 0.6) await mc.run(`UID ${pick(['SORT (REVERSE DATE) UTF-8', 'SORT (SUBJECT) UTF-8', 'THREAD REFERENCES UTF-8'])} ${pick(['ALL', 'UNSEEN'])}`);
          else if (r < 0.7) {
            // bounded by what the folder holds now, not by a count of all appends so far: a run fast
            // enough to use up such a count then only expunged and moved, and could drain both folders
            if (mc.view.length >= 400) continue;
            const raw = `From: c${idx}@example.org\r\nSubject: appended ${idx}\r\n\r\nbody ${rand()}\r\n`;
            await mc.run(`APPEND ${pick(FOLDERS)} (${rand() < 0.5 ? pick(KEYWORDS) : ''}) {${Buffer.byteLength(raw)}+}\r\n${raw}`);
          } else if (r < 0.78) await mc.run(`${rand() < 0.5 ? 'COPY' : 'UID COPY'} ${rand() < 0.5 ? range() : '1'} ${other}`);
          else if (r < 0.85) await mc.run(`MOVE ${range()} ${other}`);
          else if (r < 0.95) {
            if (mc.view.length < 10) continue; // keep the folders populated so the final checks mean something
            const set = range();
            await mc.run(`STORE ${set} +FLAGS.SILENT (\\Deleted)`);
            await mc.run(`FETCH ${set} (UID FLAGS MODSEQ)`);
            await mc.run(rand() < 0.5 ? 'EXPUNGE' : 'NOOP');
          } else await mc.run('NOOP');
          await mc.catchUp();
        }
      };
      await Promise.all(clients.map((mc, i) => work(mc, i)));
      // Quiesce: every session catches up with everything the others did.
      await sleep(200);
      for (const mc of clients) {
        await mc.run('NOOP');
        await mc.catchUp();
      }
      for (const mc of clients) {
        // SORT answers from rows the store keeps between requests: they must show every change.
        await mc.run('UID SORT (ARRIVAL) UTF-8 ALL');
        expect(
          [...mc.lastIds].sort((a, b) => a - b),
          `${mc.name} SORT ALL vs view`,
        ).toEqual(mc.view.map((v) => v.uid));
        await mc.run('FETCH 1:* (UID FLAGS MODSEQ)', { verify: true });
        const folder = (await env.core.store.getFolder(mailboxId, mc.folder))!;
        const truth = await env.core.store.listMessages(folder.id);
        expect(
          mc.view.map((v) => v.uid),
          `${mc.name} view vs store (seed ${seed})`,
        ).toEqual(truth.map((t) => t.uid));
        const byUid = new Map(truth.map((t) => [t.uid, t]));
        for (const v of mc.view) {
          const t = byUid.get(v.uid)!;
          expect([...v.flags].sort(), `${mc.name} flags of UID ${v.uid}`).toEqual([...t.flags].sort());
          expect(v.modseq, `${mc.name} modseq of UID ${v.uid}`).toBe(t.modseq);
        }
      }
      const errors = clients.flatMap((c) => c.errors);
      const total = clients.reduce((s, c) => s + c.commands, 0);
      console.log(`imap soak: seed ${seed}, ${total} commands, ${clients.map((c) => c.view.length).join('/')} messages per view`);
      expect(errors, `seed ${seed}`).toEqual([]);
      expect(total).toBeGreaterThan(CLIENTS * 20);
      expect(clients.some((c) => c.view.length > 0)).toBe(true);
      for (const mc of clients) mc.c.close();
    },
    DURATION_MS + 60_000,
  );
});
