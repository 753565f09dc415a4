/**
 * The one SessionCounter of the Haraka child (connect.postern-limits counts sessions in and
 * out; auth.postern-submission marks a session authenticated so it leaves its address's
 * unauthenticated cap).
 */
import { SessionCounter } from '../connect.postern-limits/lib/limits.js';
import { pluginSettings } from './appliance.js';

const NOTE = 'postern_limits';

let counter: SessionCounter | null = null;

export function sessionCounter(): SessionCounter {
  counter ??= new SessionCounter(pluginSettings().smtpLimits);
  return counter;
}

export interface LimitNote {
  ip: string;
  admitted: boolean;
  unauthenticated: boolean;
}

export function limitNote(connection: { notes: Record<string, any> }): LimitNote | undefined {
  return connection.notes?.[NOTE] as LimitNote | undefined;
}

export function setLimitNote(connection: { notes: Record<string, any> }, note: LimitNote): void {
  connection.notes[NOTE] = note;
}

/** Called once a session authenticated: its slot no longer counts against its address. */
export function markAuthenticated(connection: { notes: Record<string, any> }): void {
  const note = limitNote(connection);
  if (!note || !note.admitted || !note.unauthenticated) return;
  note.unauthenticated = false;
  sessionCounter().authenticated(note.ip);
}
