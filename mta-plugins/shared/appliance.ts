/**
 * The plugins' link to the appliance: settings from config/postern.json and RPC over the IPC
 * channel Haraka inherited from the appliance. When that channel closes (the appliance died),
 * Haraka exits at once so no orphan keeps the ports. With several Haraka processes (cluster
 * mode) a worker's channel leads to the Haraka master, which answers shared state itself and
 * relays the rest to the appliance (shared/cluster.ts); a worker exits when the master is gone.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { CredentialId } from '../../appliance/core/access/credentials.types.js';
import type { PluginSettings } from '../../appliance/mta/haraka-config.js';
import { RpcClient, socketEndpoint } from '../../appliance/rpc/channel.js';
import type { RpcMethods } from '../../appliance/rpc/protocol.js';

let settings: PluginSettings | null = null;
let client: RpcClient | null = null;

export function pluginSettings(): PluginSettings {
  if (!settings) {
    const root = process.env.HARAKA;
    if (!root) throw new Error('HARAKA is not set: plugins run inside Haraka started by the appliance');
    settings = JSON.parse(readFileSync(path.join(root, 'config', 'postern.json'), 'utf8')) as PluginSettings;
  }
  return settings;
}

/** Listeners of the appliance's pushed events (`{t:'evt', e, v}`) on the channel `call` uses. */
const pushListeners = new Set<(event: string, value: unknown) => void>();

function pushed(msg: unknown): void {
  const m = msg as { t?: unknown; e?: unknown; v?: unknown } | null;
  if (!m || typeof m !== 'object' || m.t !== 'evt' || typeof m.e !== 'string') return;
  for (const l of pushListeners) l(m.e, m.v);
}

function rpc(): RpcClient {
  if (!client) {
    if (!process.send) throw new Error('no IPC channel to the appliance');
    client = new RpcClient(process as unknown as ConstructorParameters<typeof RpcClient>[0]);
    process.on('disconnect', () => process.exit(0));
    // A cluster worker's IPC channel leads to the Haraka master, which pushes nothing.
    if (!cluster.isWorker) process.on('message', pushed);
  }
  return client;
}

/**
 * A cluster worker's own line to the appliance: the Unix-domain socket the supervisor serves
 * (POSTERN_MTA_RPC_SOCKET, in a 0700 directory of the data dir), so the appliance's calls do
 * not cost the master a relay (two more JSON hops per call). Without the socket (a data dir
 * path too long for one, or it could not be reached) the master relays.
 */
let direct: { client: RpcClient; socket: net.Socket } | null = null;
let relayOnly = false;

function applianceClient(): RpcClient {
  const file = process.env.POSTERN_MTA_RPC_SOCKET;
  if (!cluster.isWorker || !file || relayOnly) return rpc();
  if (!direct) {
    const socket = net.connect(file);
    const endpoint = socketEndpoint(socket);
    const client = new RpcClient(endpoint);
    endpoint.on('message', pushed);
    let connected = false;
    socket.once('connect', () => (connected = true));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      client.failAll();
      // Pushes sent while no socket was open are lost: whatever was kept by them is dropped.
      pushed({ t: 'evt', e: 'channel.lost' });
      if (direct?.socket === socket) direct = null;
      if (!connected) relayOnly = true;
    });
    direct = { client, socket };
  }
  return direct.client;
}

export function call<M extends keyof RpcMethods>(method: M, params: Parameters<RpcMethods[M]>[0]): Promise<ReturnType<RpcMethods[M]>> {
  return applianceClient().call<ReturnType<RpcMethods[M]>>(method, params);
}

/** Listens to the events the appliance pushes on the channel `call` uses. */
export function onAppliancePush(listener: (event: string, value: unknown) => void): void {
  pushListeners.add(listener);
}

/** False when the appliance's pushes do not reach this process (a cluster worker whose calls the master relays). */
export function pushesArrive(): boolean {
  return !cluster.isWorker || (!!process.env.POSTERN_MTA_RPC_SOCKET && !relayOnly);
}

/**
 * A call to this process's peer by name: the appliance for the Haraka master (or the only
 * process), the master for a worker (which answers shared state itself: shared/cluster.ts).
 */
export function callUpstream<T>(method: string, params: unknown): Promise<T> {
  return rpc().call<T>(method, params);
}

/** Opens the channel now, so a process exits when its peer is gone even before its first call. */
export function connectUpstream(): void {
  rpc();
}

/** Tells the appliance the listeners are up (readiness). */
export function announceListening(): void {
  rpc();
  process.send?.({ t: 'evt', e: 'listening' });
}

/** True on the submission listeners (587 STARTTLS, 465 implicit TLS), where AUTH is required. */
export function isSubmission(connection: { local: { port: number } }): boolean {
  const p = pluginSettings().ports;
  return connection.local.port === p.submission || connection.local.port === p.submissions;
}

/** The authenticated mailbox of a submission session (set by auth.postern-submission). */
export interface SubmissionAuth {
  mailboxId: string;
  tenantId: string;
  address: string;
  credentialVersion: number;
  credentialId: CredentialId;
}
