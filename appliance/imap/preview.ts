/** PREVIEW (RFC 8970) for messages stored before previews were computed at ingest. */
import { previewOf } from '../mailstore/mime/preview.js';
import type { MessageMeta } from '../mailstore/mime/types.js';
import type { ImapSession } from './session.js';

export async function previewFromBytes(session: ImapSession, messageId: number, meta: MessageMeta): Promise<string | null> {
  try {
    return previewOf(await session.store.readMessage(messageId), meta.root);
  } catch {
    return null; // NIL: the preview cannot be produced (RFC 8970 3)
  }
}
