/**
 * Encryption at rest for secrets the appliance must read back in clear (TOTP secrets: a code is
 * computed from them). AES-256-GCM with a random 96-bit IV per value; stored as
 * `enc:v1:<base64(iv | tag | ciphertext)>`. The key never enters the database: it comes from
 * POSTERN_SECRETS_KEY (64 hex digits or base64 of 32 bytes) or from `<data dir>/secrets.key`,
 * created on first boot with mode 0600. A database copied without that key exposes no secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PREFIX = 'enc:v1:';
const AAD = Buffer.from('postern-secret-box-v1');
let key: Buffer | null = null;

export function secretKeyFile(dataDir: string): string {
  return path.join(dataDir, 'secrets.key');
}

function parseKey(raw: string, where: string): Buffer {
  const s = raw.trim();
  const k = /^[0-9a-f]{64}$/i.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64');
  if (k.length !== 32) throw new Error(`${where}: the secrets key must be 32 bytes (64 hex digits or base64)`);
  return k;
}

/**
 * Loads the key once per process: the environment's if set, else the data dir's file (created
 * with 0600 when missing, and tightened to 0600 if it was readable by others).
 */
export function loadSecretKey(dataDir: string, envKey: string | undefined = process.env.POSTERN_SECRETS_KEY): Buffer {
  if (envKey) {
    key = parseKey(envKey, 'POSTERN_SECRETS_KEY');
    return key;
  }
  const file = secretKeyFile(dataDir);
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  key = parseKey(readFileSync(file, 'utf8'), file);
  return key;
}

export function hasSecretKey(): boolean {
  return key !== null;
}

function currentKey(): Buffer {
  if (key) return key;
  // Unit tests that drive the core without booting: a process-local key.
  if (process.env.VITEST) return (key = randomBytes(32));
  throw new Error('the secrets key is not loaded (loadSecretKey at boot)');
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

export function sealSecret(plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', currentKey(), iv);
  cipher.setAAD(AAD);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

/** The clear value of a stored secret (values from before encryption pass through unchanged). */
export function openSecret(stored: string): string {
  if (!isSealed(stored)) return stored;
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', currentKey(), raw.subarray(0, 12));
  decipher.setAAD(AAD);
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}
