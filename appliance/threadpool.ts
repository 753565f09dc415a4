/**
 * Imported first by main.ts, before anything uses libuv's thread pool (it is sized once, at its
 * first use). Every fsync of the mail store (blob data and directory entries, the SQLite WAL
 * after a group commit) and every blob read runs there: with the default 4 threads, a few
 * concurrent APPENDs' fsyncs leave FETCH reads and the WAL sync of a STORE waiting in line
 * (issue 18). An operator's own UV_THREADPOOL_SIZE wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';

export {};
