import { createServer } from 'node:net';

/**
 * Ports for the services a test starts are taken below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range, 32768-60999 by default). A port the kernel picked for `listen(0)`
 * and that was then released can be handed to any outgoing connection of another test file running
 * at the same time before the service binds it (an appliance that failed to boot with EADDRINUSE in
 * CI). Below that range no outgoing connection takes it, and each vitest worker draws from a band of
 * its own, so two files running together do not pick the same port either.
 */
const FIRST = 10_000;
const BAND = 1_400;
const BANDS = 16;
/** Ports this process has handed out already: not handed out twice while others are left. */
const given = new Set<number>();

function band(): number {
  const id = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? process.pid);
  return FIRST + ((Number.isFinite(id) ? id : process.pid) % BANDS) * BAND;
}

/** Whether `port` can be bound on 127.0.0.1 now (then released). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Distinct free TCP ports on 127.0.0.1, from this worker's band below the ephemeral range. */
export async function freePorts(n: number): Promise<number[]> {
  const start = band();
  if (given.size + n > BAND) given.clear();
  const ports: number[] = [];
  for (let tries = 0; ports.length < n; tries++) {
    if (tries > BAND * 2) throw new Error(`no ${n} free ports in 127.0.0.1:${start}-${start + BAND - 1}`);
    const port = start + Math.floor(Math.random() * BAND);
    if (given.has(port) || !(await bindable(port))) continue;
    given.add(port);
    ports.push(port);
  }
  return ports;
}
