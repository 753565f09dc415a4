/**
 * Postfix's smtp-sink on a loopback port: the "internet" both stacks relay submissions to. It
 * appends every message to a dump file (`-D`), so the submission case can check what arrived
 * (both stacks' DKIM signatures).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { freePorts, stopChild, waitPort } from './util.js';

export class SmtpSink {
  /** Messages received so far ("." answered), from smtp-sink's running counter. */
  received = 0;

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    readonly dumpFile: string,
  ) {}

  /** `dumpDir`: where the dump file goes (made writable for smtp-sink's unprivileged user). */
  static async start(dumpDir: string): Promise<SmtpSink> {
    const [port] = await freePorts(1);
    mkdirSync(dumpDir, { recursive: true });
    chmodSync(dumpDir, 0o777);
    const dumpFile = path.join(dumpDir, 'sink.dump');
    // -c counters, -a no AUTH, -D append every message to dumpFile; runs as nobody after binding
    const child = spawn('smtp-sink', ['-c', '-a', '-u', 'nobody', '-m', '1000', '-D', dumpFile, `127.0.0.1:${port}`, '1024'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sink = new SmtpSink(port!, child, dumpFile);
    let tail = '';
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (d: string) => {
      tail = (tail + d).slice(-256);
      const all = [...tail.matchAll(/mesg=(\d+)/g)];
      const last = all[all.length - 1];
      if (last) sink.received = Number(last[1]);
    });
    await waitPort(port!, 10_000, 'smtp-sink');
    return sink;
  }

  /** Bytes dumped so far (a mark to read from later). */
  dumpOffset(): number {
    try {
      return statSync(this.dumpFile).size;
    } catch {
      return 0;
    }
  }

  /** The dump from `offset` to its current end (latin1: header names and tags are ASCII). */
  dumpSince(offset: number): string {
    const end = this.dumpOffset();
    if (end <= offset) return '';
    const buf = Buffer.alloc(end - offset);
    const fd = openSync(this.dumpFile, 'r');
    try {
      readSync(fd, buf, 0, buf.length, offset);
    } finally {
      closeSync(fd);
    }
    return buf.toString('latin1');
  }

  stop(): Promise<void> {
    return stopChild(this.child, 'SIGTERM', 5_000);
  }
}
