/**
 * The made-up folder of the start-up warm-ups of code (issue 18, thirteenth and fourteenth
 * rounds): FETCH (FLAGS)'s line writer (imap/warm-up.ts), the flag search (imap/search-executor.ts
 * warmUpFlagSearch) and the narrow index copy's UID runs (folder-snapshot.ts warmUpHeads) each run
 * their loops over it, in memory. No stored data is read and nothing made here is kept.
 */

/** Entries of the made-up folder: enough for V8 to optimise a loop over them. */
export const WARM_ENTRIES = 8192;

/** The made-up folder's columns, with `lists[list[i]]` the flags of entry i. */
export interface MadeUpFolder {
  uids: Uint32Array;
  list: Uint32Array;
  lists: string[][];
}

/**
 * WARM_ENTRIES entries whose UIDs make three runs (1-100, 150-4049, 4900-9091), as in a folder
 * with expunged stretches; every tenth entry is \Flagged, every third other one \Seen, the rest
 * have no flag.
 */
export function madeUpFolder(): MadeUpFolder {
  const uids = new Uint32Array(WARM_ENTRIES);
  const list = new Uint32Array(WARM_ENTRIES);
  for (let i = 0; i < WARM_ENTRIES; i++) {
    uids[i] = i < 100 ? i + 1 : i < 4000 ? i + 50 : i + 900;
    list[i] = i % 10 === 0 ? 2 : i % 3 === 0 ? 1 : 0;
  }
  return { uids, list, lists: [[], ['\\Seen'], ['\\Flagged']] };
}
