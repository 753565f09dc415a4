/**
 * TOTP (RFC 6238, 30 s steps, 6 digits, SHA-1: what authenticator apps use) through otplib, and
 * one-time recovery codes. The clock comes from the caller (CoreDeps.now), so tests can move it.
 * A code is accepted in the current step or one step either side, and only once per principal
 * (the caller stores the accepted step).
 */
import { randomBytes } from 'node:crypto';
import { generate, generateSecret, generateURI, verify } from 'otplib';
import { sha256Hex } from '../kernel/ids.js';
import { openSecret } from './secret-box.js';

export const TOTP_ISSUER = 'Postern';
const STEP_SECONDS = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(secret: string, label: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label, secret });
}

/** The current code (tests and tooling). */
export function totpCode(secret: string, nowMs: number): Promise<string> {
  return generate({ secret, epoch: Math.floor(nowMs / 1000) });
}

/** The time step the code belongs to, or null when it is not valid now (±1 step). `stored`: as in the database (sealed). */
export async function verifyTotp(stored: string, code: string, nowMs: number): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const secret = openSecret(stored);
  const epoch = Math.floor(nowMs / 1000);
  const result = await verify({ secret, token: code, epoch, epochTolerance: STEP_SECONDS });
  if (!result.valid) return null;
  const delta = 'delta' in result && typeof result.delta === 'number' ? result.delta : 0;
  return Math.floor(epoch / STEP_SECONDS) + delta;
}

/** Ten recovery codes `xxxxx-xxxxx` (50 bits each); only their sha256 is stored. */
export function newRecoveryCodes(count = 10): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(10);
    const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5, 10)}`;
  });
}

export function recoveryCodeHash(code: string): string {
  return sha256Hex(code.trim().toLowerCase());
}
