/** Who is logged in (from /api/v1/auth/session), kept in memory only. */
import { ApiError, get, setCsrf } from './api.js';
import type { SessionInfo } from './types.js';

export const IDLE_MS = 30 * 60_000;

export const session: { info: SessionInfo | null; lastActivity: number } = { info: null, lastActivity: Date.now() };

export async function loadSession(): Promise<SessionInfo | null> {
  try {
    session.info = await get<SessionInfo>('/api/v1/auth/session');
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) session.info = null;
    else throw err;
  }
  return session.info;
}

export function clearSession(): void {
  session.info = null;
  setCsrf(null);
}

export function can(permission: string): boolean {
  return Boolean(session.info?.principal?.permissions.includes(permission));
}

/** Platform actors (operators) have no tenant. */
export function isOperator(): boolean {
  return session.info?.kind === 'principal' && session.info.principal?.tenantId === null;
}

export function ownTenant(): string | null {
  return session.info?.principal?.tenantId ?? null;
}
