/**
 * Parsed metadata of a stored message, computed once at ingest and kept as JSON in the
 * index. IMAP serves ENVELOPE, BODYSTRUCTURE and BODY[section] from it (sections are byte
 * ranges of the stored message) and answers cheap SEARCH keys from the decoded fields.
 * Owned by the MIME parser (index.ts). Plain JSON: no Buffers, no Dates, no undefined.
 */
export interface EnvelopeAddress {
  /** Display name as written (RFC 2047 encoded words kept, quotes removed), or null. */
  name: string | null;
  /** Source route (obsolete), or null. */
  adl: string | null;
  /** Local part; for a group start the group name, for a group end null. */
  mailbox: string | null;
  /** Domain; null marks group syntax (RFC 3501 section 7.4.2). */
  host: string | null;
}

/** The RFC 3501 ENVELOPE: header values unfolded but otherwise as written. */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[] | null;
  /** Defaults to `from` when the header is absent or empty (RFC 3501). */
  sender: EnvelopeAddress[] | null;
  /** Defaults to `from` when the header is absent or empty (RFC 3501). */
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
  /** Byte offset just past the body (the line break before a boundary belongs to the boundary). */
  bodyEnd: number;
  /** Lines of the body; counted for text/* and message/rfc822 only, 0 otherwise. */
  bodyLines: number;
  /** Lower-case media type and subtype ("text", "plain"). */
  type: string;
  subtype: string;
  /** Content-Type parameters, names lower-cased; RFC 2231 continuations merged (see params.ts). */
  params: Array<[string, string]>;
  id: string | null;
  description: string | null;
  /** Lower-case Content-Transfer-Encoding, "7bit" when absent. */
  encoding: string;
  md5: string | null;
  disposition: { type: string; params: Array<[string, string]> } | null;
  language: string[] | null;
  location: string | null;
  /** Decoded file name (Content-Disposition filename, else Content-Type name), for listings. */
  filename?: string;
  /** Children of a multipart. */
  parts?: MimePart[];
  /** The encapsulated message of a message/rfc822 (or message/global) part. */
  message?: { envelope: Envelope; root: MimePart };
}

export interface MessageMeta {
  v: 1;
  envelope: Envelope;
  root: MimePart;
  /** Decoded (RFC 2047, UTF-8) header values for SEARCH; "" when absent. */
  subject: string;
  from: string;
  to: string;
  cc: string;
  bcc: string;
  /** The Date header as epoch milliseconds, null when absent or unparseable. */
  sentAt: number | null;
  /** PREVIEW text (RFC 8970), see preview.ts; absent in metadata stored before it existed. */
  preview?: string;
  /** The References header as written (THREAD=REFERENCES), absent when the header is. */
  references?: string;
  /** True when the message was not valid MIME and was degraded somewhere. */
  degraded?: boolean;
}
