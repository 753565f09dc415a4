import type { RecipientRefusal } from '../../../appliance/core/delivery/routing.js';
import { DENY, DENYSOFT, dsn, type Dsn } from '../../shared/haraka.js';

/** RCPT replies for each refusal: no backscatter, everything is answered in the session. */
export function refusalReply(refusal: RecipientRefusal, address: string): [number, Dsn] {
  switch (refusal) {
    case 'not-hosted':
      return [DENY, dsn(550, '5.7.1', `relaying denied: ${address.split('@')[1] ?? address} is not hosted here`)];
    case 'unknown':
      return [DENY, dsn(550, '5.1.1', `no such user: ${address}`)];
    case 'disabled':
      return [DENY, dsn(550, '5.2.1', `mailbox disabled, not accepting messages: ${address}`)];
    case 'over-quota':
      return [DENYSOFT, dsn(452, '4.2.2', `mailbox full: ${address}`)];
    case 'too-big-for-quota':
      return [DENY, dsn(552, '5.2.2', `message exceeds the mailbox quota of ${address}`)];
  }
}
