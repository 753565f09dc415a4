/**
 * State that must be one for all Haraka processes: concurrent sessions (all, and unauthenticated
 * ones per address; connect.postern-limits counts sessions in and out, auth.postern-submission
 * takes an authenticated session off its address's cap) and the per-address rates of the spam
 * plugin. With one process it is kept here; with several (POSTERN_MTA_PROCESSES, Haraka's
 * cluster mode) it is kept in the Haraka master and every worker asks it (shared/cluster.ts),
 * so a cap of 5 sessions per address is 5 for the whole MTA, not 5 per process.
 */
import cluster from 'node:cluster';
import { type Admission, SharedSessionCounter } from '../connect.postern-limits/lib/limits.js';
import { PerMinute } from '../data.postern-spam/lib/connection.js';
import type { Handler } from '../../appliance/rpc/channel.js';
import { callUpstream, pluginSettings } from './appliance.js';

const NOTE = 'postern_limits';
/** The owner of sessions counted in this process (its own, when there is no cluster). */
const SELF = 0;

export type RateKind = 'connections' | 'recipients';

let counter: SharedSessionCounter | null = null;
const rates: Record<RateKind, PerMinute> = { connections: new PerMinute(), recipients: new PerMinute() };

function sessions(): SharedSessionCounter {
  counter ??= new SharedSessionCounter(pluginSettings().smtpLimits);
  return counter;
}

/** Counts a new session in (or refuses it). A worker that cannot reach the master refuses (421, try later). */
export function admitSession(ip: string): Promise<Admission> {
  if (!cluster.isWorker) return Promise.resolve(sessions().admit(SELF, ip));
  return callUpstream<Admission>('limits.admit', { ip }).catch((): Admission => ({ ok: false, reason: 'global' }));
}

/** Fire and forget: the master handles a worker's messages in order. */
function tell(method: string, params: unknown): void {
  callUpstream(method, params).catch(() => undefined);
}

function sessionAuthenticated(ip: string): void {
  if (cluster.isWorker) tell('limits.authenticated', { ip });
  else sessions().authenticated(SELF, ip);
}

function sessionClosed(ip: string, stillUnauth: boolean): Promise<unknown> {
  if (cluster.isWorker) return callUpstream('limits.closed', { ip, stillUnauth }).catch(() => undefined);
  sessions().closed(SELF, ip, stillUnauth);
  return Promise.resolve();
}

/** Adds one event for `key` and answers the count over the last minute, of all processes. */
export function hitRate(kind: RateKind, key: string): Promise<number> {
  if (!cluster.isWorker) return Promise.resolve(rates[kind].hit(key));
  return callUpstream<number>('limits.rate', { kind, key }).catch(() => 0);
}

/** The master's answers to one worker (`owner`: its cluster id). */
export function limitHandlers(owner: number): Record<string, Handler> {
  return {
    'limits.admit': (p: { ip: string }) => sessions().admit(owner, String(p.ip)),
    'limits.authenticated': (p: { ip: string }) => void sessions().authenticated(owner, String(p.ip)),
    'limits.closed': (p: { ip: string; stillUnauth: boolean }) => void sessions().closed(owner, String(p.ip), p.stillUnauth === true),
    'limits.rate': (p: { kind: RateKind; key: string }) => (p.kind === 'recipients' ? rates.recipients : rates.connections).hit(String(p.key)),
  };
}

/** A worker is gone: the sessions it held are closed. */
export function releaseSessionsOf(owner: number): void {
  counter?.release(owner);
}

export interface LimitNote {
  ip: string;
  admitted: boolean;
  unauthenticated: boolean;
  /** Settles once the admission is known (immediately with one process). */
  ready: Promise<void>;
}

export function limitNote(connection: { notes: Record<string, any> }): LimitNote | undefined {
  return connection.notes?.[NOTE] as LimitNote | undefined;
}

/** Counts the connection in; the note records whether it was admitted. */
export function admitConnection(connection: { notes: Record<string, any> }, ip: string): Promise<Admission> {
  const admission = admitSession(ip);
  const note: LimitNote = { ip, admitted: false, unauthenticated: false, ready: Promise.resolve() };
  note.ready = admission.then((a) => {
    note.admitted = a.ok;
    note.unauthenticated = a.ok;
  });
  connection.notes[NOTE] = note;
  return admission;
}

/** Called once a session authenticated: its slot no longer counts against its address. */
export function markAuthenticated(connection: { notes: Record<string, any> }): void {
  const note = limitNote(connection);
  if (!note || !note.admitted || !note.unauthenticated) return;
  note.unauthenticated = false;
  sessionAuthenticated(note.ip);
}

/**
 * The session ends: its slot is released (after its admission settled, if it is still pending).
 * Resolves once the count is down, also in the master: at QUIT the 221 waits for it, so a client
 * that reconnects at once (a sending MTA at its cap) never finds its own closed session counted.
 */
export function releaseConnection(connection: { notes: Record<string, any> }): Promise<unknown> {
  const note = limitNote(connection);
  if (!note) return Promise.resolve();
  return note.ready.then(() => {
    if (!note.admitted) return;
    note.admitted = false;
    return sessionClosed(note.ip, note.unauthenticated);
  });
}
