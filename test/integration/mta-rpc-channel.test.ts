/**
 * The RPC client between Haraka and the appliance (appliance/rpc/channel.ts): answers find
 * their calls; a call nobody answers fails with a TempFailure after its timeout (one sweeping
 * timer for all pending calls, not one timer per call); a gone endpoint fails every pending call.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RpcClient, serveRpc } from '../../appliance/rpc/channel.js';

/** Two ends of an in-memory channel: what one sends, the other receives (next tick, like IPC). */
function pair() {
  const a = new EventEmitter();
  const b = new EventEmitter();
  const end = (self: EventEmitter, other: EventEmitter) => ({
    send: (m: unknown, cb?: (err: Error | null) => void) => {
      setImmediate(() => {
        other.emit('message', JSON.parse(JSON.stringify(m)));
        cb?.(null);
      });
      return true;
    },
    on: (e: 'message', l: (m: unknown) => void) => self.on(e, l),
    off: (e: 'message', l: (m: unknown) => void) => self.off(e, l),
  });
  return [end(a, b), end(b, a)] as const;
}

describe('RPC channel', () => {
  it('answers each call, fails an unanswered one after its timeout, and fails all at once when the endpoint is gone', async () => {
    const [child, parent] = pair();
    let hold!: () => void;
    const held = new Promise<void>((r) => (hold = r));
    serveRpc(parent, { echo: (p: { n: number }) => p.n * 2, never: () => new Promise(() => undefined), later: () => held.then(() => 'late') });
    const client = new RpcClient(child, 300);
    const answers = await Promise.all([1, 2, 3].map((n) => client.call<number>('echo', { n })));
    expect(answers).toEqual([2, 4, 6]);
    const started = Date.now();
    await expect(client.call('never', {})).rejects.toMatchObject({ code: 'TempFailure', message: 'rpc never timed out' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const pending = client.call('later', {});
    client.failAll();
    await expect(pending).rejects.toMatchObject({ code: 'TempFailure', message: 'appliance is not reachable' });
    hold();
  });
});
