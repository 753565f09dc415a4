/**
 * libuv's thread pool, sized before anything uses it: main.ts imports this module first. Node's
 * default of 4 threads is shared by every file read, fsync, DNS lookup and scrypt of the process;
 * a few APPENDs fsyncing (blob data, its directory entry, the WAL: up to three threads for a few
 * milliseconds each) left FETCH's blob reads queued behind them (issue 18: FETCH under mixed load),
 * and a cold FETCH BODY[] could keep only 4 disk reads in flight. An operator's own
 * UV_THREADPOOL_SIZE wins.
 */
export const THREADPOOL_SIZE = 16;

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(THREADPOOL_SIZE);
