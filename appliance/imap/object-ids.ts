/**
 * OBJECTID (RFC 8474) identifiers: MAILBOXID from the folder's row id (kept across RENAME),
 * EMAILID from the stored message's id (shared by every copy of it, kept across MOVE).
 * Both are objectid atoms (RFC 8474 4: 1-255 of A-Z a-z 0-9 _ -).
 */
export function mailboxId(folderId: number): string {
  return `F${folderId}`;
}

export function emailId(messageId: number): string {
  return `M${messageId}`;
}

/** The stored message id of an EMAILID, or null when it is not one of ours. */
export function parseEmailId(text: string): number | null {
  const m = /^M(\d{1,15})$/.exec(text);
  return m ? Number(m[1]) : null;
}
