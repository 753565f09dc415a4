/**
 * Incoming X-Spam-* header fields are removed before ours are added: a sender must not be able
 * to pre-set `X-Spam-Flag: NO` (or any verdict) for a mail client's filter to trust. Only the
 * header section is touched; folded continuation lines go with their field.
 */
const OURS = /^x-spam-[a-z-]*:/i;

/** The message without X-Spam-* header fields (the same Buffer when there were none). */
export function stripSpamHeaders(raw: Buffer): Buffer {
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = raw.length;
  const head = raw.subarray(0, end).toString('latin1');
  if (!/(^|\r\n)x-spam-/i.test(head)) return raw;
  const out: string[] = [];
  let dropping = false;
  for (const line of head.split('\r\n')) {
    if (/^[ \t]/.test(line)) {
      if (!dropping) out.push(line);
      continue;
    }
    dropping = OURS.test(line);
    if (!dropping) out.push(line);
  }
  return Buffer.concat([Buffer.from(out.join('\r\n'), 'latin1'), raw.subarray(end)]);
}
