/**
 * Password hashing (scrypt, N=2^15, r=8, p=1: ~50 ms per verification on this class of
 * machine; logins are further served by the credential module's verified cache) and the
 * password policy shared by setup links, resets and self-service.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AppError } from '../kernel/errors.js';

const PARAMS = { N: 2 ** 15, r: 8, p: 1, keylen: 32 } as const;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, { ...opts, maxmem: 128 * opts.N! * opts.r! * 2 }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Returns `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, PARAMS.keylen, { N: PARAMS.N, r: PARAMS.r, p: PARAMS.p });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64url');
  const key = await scrypt(password, Buffer.from(saltB64, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

const COMMON = new Set(['password', 'password1', 'password123', 'passw0rd', 'qwerty123', 'letmein', 'welcome1', 'changeme', '123456789012', 'iloveyou', 'admin123', 'postern']);

/** The policy in words, for the page where a person chooses a password (shown before any attempt). */
export function passwordRules(context: { address?: string; minLength?: number } = {}): string[] {
  const local = context.address?.split('@')[0]?.toLowerCase();
  return [
    `at least ${context.minLength ?? 12} characters (a passphrase of several words works well)`,
    'three of: lower case, upper case, digits, symbols, unless it is 20 characters or longer',
    'not a commonly used password, not one repeated character',
    ...(local && local.length >= 3 ? [`not containing "${local}", the part of ${context.address} before the @`] : []),
  ];
}

/** Throws AppError Invalid with the reason when the password does not meet the policy. */
export function assertPasswordPolicy(password: string, context: { address?: string; minLength?: number } = {}): void {
  const min = context.minLength ?? 12;
  const reasons: string[] = [];
  if (typeof password !== 'string' || password.length < min) reasons.push(`must be at least ${min} characters long`);
  if (password.length > 256) reasons.push('must be at most 256 characters long');
  if (/^(.)\1*$/.test(password)) reasons.push('must not be one repeated character');
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) reasons.push('is a commonly used password');
  const local = context.address?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 3 && lower.includes(local)) reasons.push(`must not contain "${local}" (the part of ${context.address} before the @)`);
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (password.length < 20 && classes < 3) reasons.push('needs three of: lower case, upper case, digits, symbols (or 20+ characters)');
  if (reasons.length) throw new AppError('Invalid', `password ${reasons.join('; ')}`, { field: 'password', reasons });
}
