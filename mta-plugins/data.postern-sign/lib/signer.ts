/**
 * DKIM signing (RFC 6376, relaxed/relaxed; rsa-sha256 and ed25519-sha256, RFC 8463) with each
 * private key parsed once. Parsing a PEM key (crypto.createPrivateKey: ~1.7 ms for RSA-2048)
 * cost more than the signature itself, and mailauth's public signer takes PEM text only, so the
 * canonicalization is done here and node:crypto signs with a cached KeyObject. Keys are kept by
 * domain, selector and algorithm together with their PEM text: a rotated or replaced key (a new
 * PEM under the same or a new selector) is parsed again and replaces the old entry. The body is
 * canonicalized and hashed once for all signatures of a message. Used by the submission plugin
 * and by the appliance's own mail (appliance/mta/mailer.ts).
 */
import { createHash, createPrivateKey, type KeyObject, sign } from 'node:crypto';

export interface SignatureData {
  signingDomain: string;
  selector: string;
  privateKey: string;
  algorithm: string;
}

/** Header fields signed when present (RFC 6376 §5.4.1); every instance is signed, From once more (§5.4.2: no From can be added). */
const SIGNED_FIELDS = [
  'from',
  'sender',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'to',
  'cc',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-id',
  'content-description',
  'resent-date',
  'resent-from',
  'resent-sender',
  'resent-to',
  'resent-cc',
  'resent-message-id',
  'in-reply-to',
  'references',
  'list-id',
  'list-help',
  'list-unsubscribe',
  'list-subscribe',
  'list-post',
  'list-owner',
  'list-archive',
  'auto-submitted',
];
const SIGNED = new Set(SIGNED_FIELDS);

interface CachedKey {
  pem: string;
  key: KeyObject;
}

/** Parsed keys by domain, selector and algorithm (bounded: emptied past MAX_KEYS). */
const keys = new Map<string, CachedKey>();
const MAX_KEYS = 1000;

function keyFor(d: SignatureData): KeyObject {
  const id = `${d.signingDomain.toLowerCase()}\u0000${d.selector}\u0000${d.algorithm}`;
  const cached = keys.get(id);
  if (cached && cached.pem === d.privateKey) return cached.key;
  const key = createPrivateKey({ key: d.privateKey, format: 'pem' });
  const expected = d.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
  if (key.asymmetricKeyType !== expected) throw new Error(`key for ${d.selector} is ${key.asymmetricKeyType}, not ${expected}`);
  if (!cached && keys.size >= MAX_KEYS) keys.clear();
  keys.set(id, { pem: d.privateKey, key });
  return key;
}

/** Where the header block ends and the body starts (CRLF CRLF, or bare LF LF). */
function splitMessage(raw: Buffer): { header: string; body: Buffer } {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { header: raw.subarray(0, crlf + 2).toString('latin1'), body: raw.subarray(crlf + 4) };
  if (lf !== -1) return { header: raw.subarray(0, lf + 1).toString('latin1'), body: raw.subarray(lf + 2) };
  return { header: raw.toString('latin1'), body: Buffer.alloc(0) };
}

/** Header fields in order, each as its full text (name, colon, value, folding kept, no final line end). */
function headerFields(header: string): string[] {
  const fields: string[] = [];
  for (const line of header.split(/\r?\n/)) {
    if (!line) continue;
    if ((line[0] === ' ' || line[0] === '\t') && fields.length) fields[fields.length - 1] += `\r\n${line}`;
    else fields.push(line);
  }
  return fields;
}

/** RFC 6376 §3.4.2: lower-case name, unfolded value, runs of WSP as one SP, none around the colon or at the end. */
function relaxedHeader(field: string): string {
  const colon = field.indexOf(':');
  const name = field.slice(0, colon).trim().toLowerCase();
  const value = field
    .slice(colon + 1)
    .replace(/\r?\n(?=[ \t])/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

/** RFC 6376 §3.4.4: WSP at line ends dropped, other WSP runs as one SP, empty lines at the end dropped; CRLF line ends. */
export function relaxedBody(body: Buffer): Buffer {
  const text = body
    .toString('latin1')
    .replace(/[ \t]+(?=\r?\n|$)/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/\r?\n/g, '\r\n')
    .replace(/(\r\n)+$/, '');
  return text ? Buffer.from(`${text}\r\n`, 'latin1') : Buffer.alloc(0);
}

/** Folds the base64 signature into lines (whitespace in b= is ignored by verifiers). */
function fold(b64: string): string {
  return b64.replace(/.{1,72}/g, (chunk, offset: number) => (offset ? `\r\n\t${chunk}` : chunk));
}

/** The signed fields' canonical text, bottom-up for repeated names (RFC 6376 §5.4.2), and their names for h=. */
function signedHeaders(fields: string[]): { names: string[]; text: string } {
  const byName = new Map<string, string[]>();
  for (const f of fields) {
    const name = f.slice(0, f.indexOf(':')).trim().toLowerCase();
    if (SIGNED.has(name)) (byName.get(name) ?? byName.set(name, []).get(name)!).push(f);
  }
  const names: string[] = [];
  let text = '';
  for (const name of SIGNED_FIELDS) {
    const list = byName.get(name);
    if (!list) continue;
    for (let i = list.length - 1; i >= 0; i--) {
      names.push(name);
      text += `${relaxedHeader(list[i]!)}\r\n`;
    }
  }
  // From once more than present: a verifier hashes an empty field for it, so no From can be added.
  if (byName.has('from')) names.push('from');
  return { names, text };
}

function signOne(d: SignatureData, signed: { names: string[]; text: string }, bodyHash: string, time: number): string {
  const key = keyFor(d);
  const tags = `v=1; a=${d.algorithm}; c=relaxed/relaxed; d=${d.signingDomain}; s=${d.selector};\r\n\tt=${time}; h=${signed.names.join(':')};\r\n\tbh=${bodyHash};\r\n\tb=`;
  const data = Buffer.from(signed.text + relaxedHeader(`DKIM-Signature: ${tags}`), 'latin1');
  const signature = d.algorithm === 'ed25519-sha256' ? sign(null, createHash('sha256').update(data).digest(), key) : sign('sha256', data, key);
  return `DKIM-Signature: ${tags}${fold(signature.toString('base64'))}\r\n`;
}

/**
 * Signs `raw` once per entry of `signatureData` (relaxed/relaxed): the DKIM-Signature header
 * lines, CRLF-terminated, to prepend, and one error per key that could not sign (bad key,
 * unknown algorithm); the other keys still sign.
 */
export async function dkimSignCached(raw: Buffer, signatureData: SignatureData[], now = Date.now()): Promise<{ signatures: string; errors: string[] }> {
  const { header, body } = splitMessage(raw);
  const signed = signedHeaders(headerFields(header));
  const bodyHash = createHash('sha256').update(relaxedBody(body)).digest('base64');
  const time = Math.floor(now / 1000);
  let signatures = '';
  const errors: string[] = [];
  for (const d of signatureData) {
    try {
      if (d.algorithm !== 'rsa-sha256' && d.algorithm !== 'ed25519-sha256') throw new Error(`unsupported DKIM algorithm ${d.algorithm}`);
      signatures += signOne(d, signed, bodyHash, time);
    } catch (err) {
      errors.push(`${d.selector}: ${(err as Error).message}`);
    }
  }
  return { signatures, errors };
}

/** For tests: how many parsed keys are kept. */
export function parsedKeyCount(): number {
  return keys.size;
}
