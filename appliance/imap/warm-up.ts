/**
 * Warm-up at server start (issue 18, thirteenth round), on made-up values only: no stored data
 * is read and nothing made here is kept. V8 compiles a function's bytecode at its first call and
 * optimises a loop only once it has run hot; without this, a fresh process's first FETCH 1:*
 * (FLAGS) of a 100,000-message folder made its UIDs and wrote its first lines in the interpreter
 * (about 10 ms more CPU for 100,000 lines of flagLines alone, fresh processes alternating), and its first
 * SELECT compiled the pieces below while the client waited (store.warmUp covers the statements
 * and the folder index; this covers the IMAP side that needs no session).
 */
import { firstUnseenOf } from './commands/select.js';
import { flagLines } from './fetch-flags.js';
import { formatFlags } from './format.js';
import { nameFromClient } from './mailbox-names.js';
import { mailboxId } from './object-ids.js';
import { UidMap } from './sequence.js';
import { warmUpSearch } from './search-warmup.js';
import { warmUpFlagSearch } from './search-executor.js';
import { searchResponse } from './commands/search.js';
import { columnOrder, sortResponse } from './sort.js';
import { WARM_ENTRIES, madeUpFolder } from '../mailstore/warm-up-folder.js';

/** Runs the warm-up; returns whether the made-up answers came out as made (a test checks it; the server ignores it). */
export function warmUpImapCommands(): boolean {
  // FETCH 1:* (FLAGS): its line writer over the made-up folder (mailstore/warm-up-folder.ts), in one made-up 64 KiB buffer.
  const { uids: folderUids, list: code, lists } = madeUpFolder();
  const rests = lists.map((flags) => Buffer.from(` FETCH (FLAGS ${formatFlags(flags)})\r\n`));
  const buf = new Uint8Array(64 * 1024);
  let bytes = 0;
  for (let k = 0; k < WARM_ENTRIES;) {
    k = flagLines(buf, null, code, rests, k);
    bytes += flagLines.used;
  }
  // FETCH 1:*'s UIDs from a made-up view of as many messages.
  const many = new UidMap(folderUids);
  const all = many.resolveSeq([[1, Infinity]]);
  const last = Buffer.from(buf.subarray(Math.max(0, flagLines.used - 40), flagLines.used)).toString();
  // SELECT: a made-up two-message folder's name, view, first unseen message and MAILBOXID.
  const { name } = nameFromClient('inbox', false);
  const uids = Uint32Array.of(1, 2);
  const view = new UidMap(uids);
  const unseen = firstUnseenOf({ length: 2, list: Uint32Array.of(1, 0), lists: [[], ['\\Seen']] });
  return (
    bytes > WARM_ENTRIES * 20 &&
    all.length === WARM_ENTRIES &&
    all[WARM_ENTRIES - 1] === folderUids[WARM_ENTRIES - 1] &&
    all[99] === 100 &&
    all[100] === 150 &&
    last.endsWith('\n* 8192 FETCH (FLAGS ())\r\n') &&
    name === 'INBOX' &&
    view.borrows(uids) &&
    view.seqOf(2) === 2 &&
    unseen === 2 &&
    mailboxId(1).length > 0
  );
}

/**
 * A plain SEARCH on flags alone (issue 18, fourteenth round): flagSearchIds' loops over a made-up
 * folder (search-executor.ts warmUpFlagSearch) and each answer written as bytes, as a fresh
 * process's first UID SEARCH FLAGGED of a large folder runs them. True when the answers are the
 * made-up folder's (a test checks it; the server ignores it).
 */
export function warmUpFlagAnswers(): boolean {
  const answers = warmUpFlagSearch().map((ids) => searchResponse(ids, null));
  const first = answers[0]!.toString('latin1');
  return answers.length === 12 && first.startsWith('* SEARCH 1 11 21 ') && first.endsWith(' 9090\r\n') && answers[1]!.toString('latin1').startsWith('* SEARCH 1 2 3 5 6 8 9 11 ');
}

/**
 * SORT (REVERSE DATE) and SORT (DATE) of a whole folder (issue 18, fifteenth round): the order of
 * a made-up date column of the made-up folder and the answer written as bytes, by UID and by
 * sequence number, as a fresh process's first SORT runs them (its answer writer ran digit by digit
 * in the interpreter: the largest part of a first SORT of 1,200 messages). True when the answers
 * are the made-up folder's (a test checks it; the server ignores it).
 */
export function warmUpSortAnswers(): boolean {
  const { uids } = madeUpFolder();
  // Dates a minute apart, every fifth one the same as the one before (ties keep folder order).
  const dates = Float64Array.from(uids, (uid, i) => 1.7e12 + 60_000 * (i - (i % 5 === 4 ? 1 : 0)));
  let ok = true;
  for (let round = 0; round < 3; round++) {
    const newest = columnOrder(dates, true);
    const oldest = columnOrder(dates, false);
    const byUid = sortResponse(uids, newest, null).toString('latin1');
    const bySeq = sortResponse(null, oldest, null).toString('latin1');
    ok &&= byUid.startsWith(`* SORT ${uids[WARM_ENTRIES - 1]} `) && byUid.endsWith(' 2 1\r\n') && bySeq.startsWith('* SORT 1 2 3 4 5 6 ') && bySeq.endsWith(` ${WARM_ENTRIES}\r\n`);
  }
  return ok;
}

/** Every IMAP warm-up of code, the server's one call at start; a failed one only costs the compilation it skipped. */
export function warmUpImap(): void {
  for (const run of [warmUpImapCommands, warmUpSearch, warmUpFlagAnswers, warmUpSortAnswers]) {
    try {
      run();
    } catch {
      // a warm-up only: the code compiles at first use instead
    }
  }
}
