/** Postfix's smtp-sink on a loopback port: the "internet" both stacks relay submissions to. */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePorts, stopChild, waitPort } from './util.js';

export class SmtpSink {
  /** Messages received so far ("." answered), from smtp-sink's running counter. */
  received = 0;

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(): Promise<SmtpSink> {
    const [port] = await freePorts(1);
    // -c counters, -a no AUTH; runs as nobody after binding
    const child = spawn('smtp-sink', ['-c', '-a', '-u', 'nobody', '-m', '1000', `127.0.0.1:${port}`, '1024'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sink = new SmtpSink(port!, child);
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

  stop(): Promise<void> {
    return stopChild(this.child, 'SIGTERM', 5_000);
  }
}
