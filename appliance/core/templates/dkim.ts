/**
 * DKIM key pairs for hosted domains: RSA-2048 (node-forge, which delegates to Node's native
 * asynchronous key generation, ~50-500 ms off the event loop) and Ed25519 (node:crypto).
 * Private keys are PKCS8 PEM; the public value is what the DNS `p=` tag carries: the base64
 * SPKI DER for RSA, the raw 32-byte key for Ed25519 (RFC 8463).
 * Generate keys before opening a transaction: never inside one.
 */
import { generateKeyPair } from 'node:crypto';
import forge from 'node-forge';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface DkimKeyMaterial {
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  /** Value of the DNS `p=` tag. */
  publicKey: string;
}

/** Selectors `ps<yyyymm>r` (RSA) and `ps<yyyymm>e` (Ed25519), from the UTC month of `now`. */
export function dkimSelectors(now: number): { rsa: string; ed25519: string } {
  const d = new Date(now);
  const ym = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  return { rsa: `ps${ym}r`, ed25519: `ps${ym}e` };
}

function generateRsa(): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) => {
    forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 }, (err, pair) => (err ? reject(err) : resolve(pair)));
  });
}

export async function generateRsaDkimKey(selector: string): Promise<DkimKeyMaterial> {
  const pair = await generateRsa();
  const privateKeyPem = forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(pair.privateKey)));
  const spkiDer = forge.asn1.toDer(forge.pki.publicKeyToAsn1(pair.publicKey)).getBytes();
  return { selector, algorithm: 'rsa-sha256', privateKeyPem, publicKey: forge.util.encode64(spkiDer) };
}

export function generateEd25519DkimKey(selector: string): Promise<DkimKeyMaterial> {
  return new Promise((resolve, reject) => {
    generateKeyPair('ed25519', { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }, (err, publicKey, privateKey) => {
      if (err) return reject(err);
      // An Ed25519 SPKI DER is a 12-byte header followed by the raw 32-byte key.
      const raw = publicKey.subarray(publicKey.length - 32);
      resolve({ selector, algorithm: 'ed25519-sha256', privateKeyPem: privateKey, publicKey: raw.toString('base64') });
    });
  });
}

/** Both key pairs a new domain starts with. */
export async function generateDomainDkimKeys(now: number): Promise<DkimKeyMaterial[]> {
  const sel = dkimSelectors(now);
  return Promise.all([generateRsaDkimKey(sel.rsa), generateEd25519DkimKey(sel.ed25519)]);
}

/** The DKIM TXT record value for a public key. */
export function dkimTxtValue(algorithm: string, publicKey: string): string {
  const k = algorithm.startsWith('ed25519') ? 'ed25519' : 'rsa';
  return `v=DKIM1; k=${k}; p=${publicKey}`;
}
