/**
 * What the server advertises. Only fully implemented extensions are listed; the list depends
 * on TLS and login state (STARTTLS, LOGINDISABLED, AUTH=PLAIN).
 */
export interface CapabilityState {
  secure: boolean;
  canStartTls: boolean;
  canAuthenticate: boolean;
  authenticated: boolean;
  appendLimit: number;
}

const COMMON = [
  'IMAP4rev1',
  // RFC 9051: a second revision a client switches to with ENABLE IMAP4rev2 (Appendix A).
  'IMAP4rev2',
  'SASL-IR',
  'ID',
  'ENABLE',
  'IDLE',
  'NAMESPACE',
  'UNSELECT',
  'UIDPLUS',
  'MOVE',
  'CHILDREN',
  'SPECIAL-USE',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'CONDSTORE',
  'QRESYNC',
  'QUOTA',
  'QUOTA=RES-STORAGE',
  'ESEARCH',
  'SEARCHRES',
  'SORT',
  'SORT=DISPLAY',
  'ESORT',
  'CONTEXT=SEARCH',
  'CONTEXT=SORT',
  'NOTIFY',
  'THREAD=ORDEREDSUBJECT',
  'THREAD=REFERENCES',
  'STATUS=SIZE',
  'OBJECTID',
  'SAVEDATE',
  'PREVIEW',
  'BINARY',
  'COMPRESS=DEFLATE',
  'MULTIAPPEND',
  'CATENATE',
  // RFC 4314 over the grants of shared mailboxes (commands/acl.ts).
  'ACL',
  'RIGHTS=texk',
];

export function capabilityList(s: CapabilityState): string[] {
  const caps = [...COMMON, `APPENDLIMIT=${s.appendLimit}`];
  // RFC 7888: before login only small non-synchronising literals (LITERAL-, 4096 bytes); after it any size (LITERAL+).
  caps.splice(2, 0, s.authenticated ? 'LITERAL+' : 'LITERAL-');
  if (!s.authenticated) {
    if (s.canStartTls) caps.push('STARTTLS');
    if (s.canAuthenticate) caps.push('AUTH=PLAIN');
    else caps.push('LOGINDISABLED');
  }
  return caps;
}

/** Extensions a client may ENABLE (RFC 5161), and the revision IMAP4rev2 (RFC 9051 6.3.1). */
export const ENABLEABLE = new Set(['CONDSTORE', 'QRESYNC', 'IMAP4REV2']);
