/** The search index's text of each stored message (migration 0044, mailstore/fulltext.ts). */
export interface MessageTextTable {
  message_id: number;
  /** Decoded text of the text parts (HTML reduced to text), lower-cased: what SEARCH BODY matches. */
  body: string;
  /** Decoded header fields, lower-cased, name and value each followed by "\n": what TEXT adds. */
  head: string;
  /** 1 when `body`/`head` are the whole text; 0 when cut at the ingest bound (SEARCH reads the message). */
  complete: number;
}
