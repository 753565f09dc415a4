/**
 * The MIME parser: `parseMessage(raw)` runs once per message at ingest and yields the
 * metadata IMAP serves from (see types.ts). It scans bytes, decodes no body, and never throws.
 */
export { parseMessage, countLines } from './parse.js';
export { decodeWords, decodeCharset } from './charset.js';
export { parseAddressList } from './addresses.js';
export { parseParams } from './params.js';
export { scanHeader, listFields } from './headers.js';
export { decodeTransfer, textOf } from './decode.js';
export type { MessageMeta, MimePart, Envelope, EnvelopeAddress } from './types.js';
