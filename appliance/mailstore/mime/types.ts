/**
 * Parsed metadata of a stored message, computed once at ingest and kept as JSON in the
 * index. IMAP serves ENVELOPE, BODYSTRUCTURE and BODY[section] from it (sections are byte
 * ranges of the stored message). Owned by the MIME parser (index.ts).
 */
export interface EnvelopeAddress {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[] | null;
  sender: EnvelopeAddress[] | null;
  replyTo: EnvelopeAddress[] | null;
  to: EnvelopeAddress[] | null;
  cc: EnvelopeAddress[] | null;
  bcc: EnvelopeAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

export interface MimePart {
  /** Byte offset where the part's header starts. */
  headerStart: number;
  /** Byte offset of the first body byte (after the blank line). */
  bodyStart: number;
  /** Byte offset just past the body. */
  bodyEnd: number;
  bodyLines: number;
  type: string;
  subtype: string;
  params: Array<[string, string]>;
  id: string | null;
  description: string | null;
  encoding: string;
  md5: string | null;
  disposition: { type: string; params: Array<[string, string]> } | null;
  language: string[] | null;
  location: string | null;
  parts?: MimePart[];
  message?: { envelope: Envelope; root: MimePart };
}

export interface MessageMeta {
  v: 1;
  envelope: Envelope;
  root: MimePart;
}
