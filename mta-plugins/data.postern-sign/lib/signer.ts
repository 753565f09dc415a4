/**
 * mailauth's DKIM signer, with parsed private keys kept. mailauth parses the PEM key for every
 * signature (crypto.createPrivateKey: ~1.7 ms for RSA-2048 under OpenSSL 3, more than the RSA
 * signature itself), twice per submitted message (RSA and Ed25519). Its signer module takes
 * `getPrivateKey` from mailauth's tools when it is loaded, so a private copy of that module is
 * loaded here while tools hands out a memoizing `getPrivateKey`; the shared copy everyone else
 * uses is left as it was. The body is canonicalized and hashed once for both signatures
 * (mailauth keys body hashes by canonicalization and hash algorithm).
 */
import type { KeyObject } from 'node:crypto';

interface Tools {
  getPrivateKey(key: string | Buffer): KeyObject;
  writeToStream(stream: NodeJS.WritableStream, input: Buffer): Promise<void>;
}

export interface SignatureData {
  signingDomain: string;
  selector: string;
  privateKey: string;
  algorithm: string;
}

interface DkimSignerInstance extends NodeJS.WritableStream {
  signatureHeaders: string[];
  errors: Array<{ err?: { message?: string } } | undefined>;
}
type DkimSignerClass = new (options: Record<string, unknown>) => DkimSignerInstance;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tools = require('mailauth/lib/tools') as Tools;
const original = tools.getPrivateKey;

/** Parsed keys by their PEM text (a rotated key is a new entry; the map is emptied when it grows past MAX_KEYS). */
const parsed = new Map<string, KeyObject>();
const MAX_KEYS = 1000;

function cachedPrivateKey(key: string | Buffer): KeyObject {
  if (typeof key !== 'string') return original(key);
  let k = parsed.get(key);
  if (!k) {
    k = original(key);
    if (parsed.size >= MAX_KEYS) parsed.clear();
    parsed.set(key, k);
  }
  return k;
}

function loadSigner(): DkimSignerClass {
  const file = require.resolve('mailauth/lib/dkim/dkim-signer');
  const shared = require.cache[file];
  delete require.cache[file];
  tools.getPrivateKey = cachedPrivateKey;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(file) as { DkimSigner: DkimSignerClass }).DkimSigner;
  } finally {
    tools.getPrivateKey = original;
    if (shared) require.cache[file] = shared;
    else delete require.cache[file];
  }
}

const DkimSigner = loadSigner();

/** Signs `raw` once per entry of `signatureData` (relaxed/relaxed); the header lines, CRLF-terminated, and any errors. */
export async function dkimSignCached(raw: Buffer, signatureData: SignatureData[]): Promise<{ signatures: string; errors: string[] }> {
  const first = signatureData[0]!;
  const signer = new DkimSigner({
    canonicalization: 'relaxed/relaxed',
    signingDomain: first.signingDomain,
    selector: first.selector,
    privateKey: first.privateKey,
    signatureData,
  });
  await tools.writeToStream(signer, raw);
  return {
    signatures: signer.signatureHeaders.length ? `${signer.signatureHeaders.join('\r\n')}\r\n` : '',
    errors: signer.errors.map((e) => String(e?.err?.message ?? e)),
  };
}

/** For tests: how many parsed keys are kept. */
export function parsedKeyCount(): number {
  return parsed.size;
}
