/** Reply texts that name no software and no version. */
export const DATA_GO_AHEAD = 'Start mail input; end with <CRLF>.<CRLF>';

export function greeting(host: string): string {
  return `${host} ESMTP`;
}
