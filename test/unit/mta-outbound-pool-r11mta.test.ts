/**
 * Outbound connections kept between relayed messages (issue 18, eleventh round:
 * mta-plugins/outbound.postern-routing/lib/pool.ts). The delivery below replays what Haraka's
 * outbound code (outbound/hmail.js) does on a connection: greeting and EHLO on a new one, MAIL
 * FROM straight away on a kept one (`__fromPool`), the message, its final dot, then QUIT. The
 * pool turns that QUIT into RSET only after an accepted message and keeps the connection only
 * after RSET's 250; anything else ends it as before.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asciiEnvelope, IDLE_MS, type OutboundMx, OutboundPool, type OutboundSocket } from '../../mta-plugins/outbound.postern-routing/lib/pool.js';

class FakeSocket extends EventEmitter implements OutboundSocket {
  written: string[] = [];
  ended: unknown[] = [];
  destroyed = false;
  writable = true;
  __fromPool?: boolean;
  write(data: unknown): boolean {
    this.written.push(Buffer.isBuffer(data) ? `<${data.length} bytes>` : String(data));
    return true;
  }
  end(data?: unknown): void {
    this.ended.push(data);
    this.writable = false;
  }
  destroy(): void {
    this.destroyed = true;
    this.writable = false;
  }
  /** The server's answer, line by line, as Haraka's line processor emits them. */
  reply(...lines: string[]): void {
    for (const l of lines) this.emit('line', `${l}\r\n`);
  }
}

const MX: OutboundMx = { exchange: '192.0.2.10', port: 25, bind_helo: 'mx.example.org' };

function setup(opts: ConstructorParameters<typeof OutboundPool>[2] = {}) {
  const opened: FakeSocket[] = [];
  const released: FakeSocket[] = [];
  const pool = new OutboundPool(
    (_mx, cb) => {
      const s = new FakeSocket();
      opened.push(s);
      cb(null, s);
    },
    (s) => {
      released.push(s as FakeSocket);
      s.destroy();
    },
    opts,
  );
  return { pool, opened, released };
}

/** One message over a connection from the pool, as Haraka's delivery drives it; `dot`: the server's answer to the final dot. */
function deliver(pool: OutboundPool, opts: { mx?: OutboundMx; dot?: string[]; reuse?: boolean; keep?: boolean } = {}): FakeSocket {
  let socket: FakeSocket | null = null;
  pool.get(opts.mx ?? MX, opts.reuse ?? true, opts.keep ?? true, (err, s) => {
    expect(err).toBeNull();
    socket = s as FakeSocket;
  });
  const s = socket! as FakeSocket;
  for (const e of ['error', 'timeout', 'close', 'end']) s.removeAllListeners(e);
  s.on('error', () => undefined);
  s.on('line', () => undefined); // Haraka's own line listener
  if (!s.__fromPool) {
    s.reply('220 sink ESMTP');
    s.write('EHLO mx.example.org\r\n');
    s.reply('250-sink', '250 SMTPUTF8');
  }
  s.write('MAIL FROM:<alice@example.org>\r\n');
  s.reply('250 2.1.0 Ok');
  s.write('RCPT TO:<bob@example.com>\r\n');
  s.reply('250 2.1.5 Ok');
  s.write('DATA\r\n');
  s.reply('354 End data with <CR><LF>.<CR><LF>');
  s.write(Buffer.from('Subject: hi\r\n\r\nHello.\r\n'));
  s.write('.\r\n');
  s.reply(...(opts.dot ?? ['250 2.0.0 Ok: queued']));
  s.write('QUIT\r\n');
  return s;
}

describe('outbound connections kept between messages', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends RSET instead of QUIT after an accepted message and gives the connection to the next message, which starts with MAIL FROM', () => {
    const { pool, opened } = setup();
    const first = deliver(pool);
    expect(first.written.at(-1)).toBe('RSET\r\n');
    expect(pool.idleCount(MX)).toBe(0); // not before RSET's answer
    first.reply('250 2.0.0 Ok');
    expect(pool.idleCount(MX)).toBe(1);
    const second = deliver(pool);
    expect(second).toBe(first);
    expect(second.__fromPool).toBe(true);
    expect(opened).toHaveLength(1);
    expect(second.written.filter((l) => l.startsWith('EHLO'))).toHaveLength(1);
    expect(second.written.filter((l) => l === 'QUIT\r\n')).toHaveLength(0);
    expect(pool.stats).toEqual({ opened: 1, reused: 1 });
  });

  it('waits for the last line of a multi-line answer to the dot', () => {
    const { pool } = setup();
    const s = deliver(pool, { dot: ['250-2.0.0 queued', '250 2.0.0 as 1234'] });
    expect(s.written.at(-1)).toBe('RSET\r\n');
  });

  it.each([
    ['a temporary failure', '451 4.3.0 try again later'],
    ['a permanent failure', '554 5.7.1 refused'],
  ])('keeps nothing after %s of the message: QUIT goes out as Haraka wrote it', (_name, dot) => {
    const { pool, opened } = setup();
    const s = deliver(pool, { dot: [dot] });
    expect(s.written.at(-1)).toBe('QUIT\r\n');
    s.reply('221 bye');
    expect(pool.idleCount(MX)).toBe(0);
    deliver(pool);
    expect(opened).toHaveLength(2);
  });

  it('ends the connection when RSET is not answered with 250', () => {
    const { pool, opened } = setup();
    const s = deliver(pool);
    s.reply('502 5.5.1 RSET not implemented');
    expect(s.destroyed).toBe(true);
    expect(pool.idleCount(MX)).toBe(0);
    deliver(pool);
    expect(opened).toHaveLength(2);
  });

  it('gives a kept connection to no message whose envelope is not ASCII, and keeps none of a target it may not keep', () => {
    const { pool, opened } = setup();
    deliver(pool).reply('250 Ok');
    const utf8 = deliver(pool, { reuse: false });
    expect(utf8).not.toBe(opened[0]);
    expect(opened).toHaveLength(2);
    const own = deliver(pool, { keep: false });
    expect(own.written.at(-1)).toBe('QUIT\r\n');
    expect(opened).toHaveLength(3);
    expect(asciiEnvelope({ mail_from: { user: 'alice', host: 'example.org' }, rcpt_to: [{ user: 'bob', host: 'example.com' }] })).toBe(true);
    expect(asciiEnvelope({ mail_from: { user: 'alice', host: 'example.org' }, rcpt_to: [{ user: 'jörg', host: 'example.de' }] })).toBe(false);
    expect(asciiEnvelope({ mail_from: { user: 'alice', host: 'bücher.example' }, rcpt_to: [] })).toBe(false);
    expect(asciiEnvelope(null)).toBe(false);
  });

  it('keeps connections per target: another host, port, HELO name or AUTH user opens its own', () => {
    const { pool, opened } = setup();
    deliver(pool).reply('250 Ok');
    for (const mx of [
      { ...MX, exchange: '192.0.2.11' },
      { ...MX, port: 587 },
      { ...MX, bind_helo: 'other.example.org' },
      { ...MX, auth_user: 'relay', auth_pass: 'secret', auth_type: 'plain' },
    ]) {
      deliver(pool, { mx });
    }
    expect(opened).toHaveLength(5);
    expect(pool.idleCount(MX)).toBe(1);
  });

  it('closes an idle connection with QUIT after the idle time, and one the server speaks on, closes or breaks while idle', () => {
    vi.useFakeTimers();
    const { pool } = setup();
    const a = deliver(pool);
    a.reply('250 Ok');
    vi.advanceTimersByTime(IDLE_MS - 1);
    expect(pool.idleCount(MX)).toBe(1);
    vi.advanceTimersByTime(1);
    expect(pool.idleCount(MX)).toBe(0);
    expect(a.ended).toEqual(['QUIT\r\n']);

    for (const gone of [(s: FakeSocket) => s.reply('421 4.4.2 idle too long'), (s: FakeSocket) => s.emit('close'), (s: FakeSocket) => s.emit('error', new Error('reset'))]) {
      const s = deliver(pool);
      s.reply('250 Ok');
      expect(pool.idleCount(MX)).toBe(1);
      gone(s);
      expect(pool.idleCount(MX)).toBe(0);
    }
  });

  it('does not hand out a kept connection that is no longer writable', () => {
    const { pool, opened } = setup();
    const s = deliver(pool);
    s.reply('250 Ok');
    s.writable = false;
    expect(deliver(pool)).not.toBe(s);
    expect(opened).toHaveLength(2);
  });

  it('ends a connection after its last allowed message with QUIT', () => {
    const { pool, opened } = setup({ maxUses: 2 });
    const s = deliver(pool);
    s.reply('250 Ok');
    expect(deliver(pool)).toBe(s);
    expect(s.written.at(-1)).toBe('QUIT\r\n');
    expect(pool.idleCount(MX)).toBe(0);
    deliver(pool);
    expect(opened).toHaveLength(2);
  });

  it('keeps at most maxIdle connections per target', () => {
    const { pool } = setup({ maxIdle: 1 });
    const a = deliver(pool);
    const b = deliver(pool); // a is busy (RSET not answered yet): b is a new connection
    a.reply('250 Ok');
    b.reply('250 Ok');
    expect(pool.idleCount(MX)).toBe(1);
    expect(b.ended).toEqual(['QUIT\r\n']);
  });

  it('never keeps a connection Haraka released', () => {
    const { pool, released } = setup();
    const s = deliver(pool);
    s.reply('250 Ok');
    pool.drop(s, MX);
    expect(released).toEqual([s]);
    expect(pool.idleCount(MX)).toBe(0);
  });
});
