/**
 * What a stack costs, read from /proc: the process tree under a root pid, its CPU seconds
 * (utime+stime plus the cutime+cstime of reaped children, so processes that come and go in
 * between two readings are still counted) and its resident memory (RSS, and PSS, which shares
 * pages fairly between the processes of a multi-process server).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ; Linux reports /proc/<pid>/stat times in 1/100 s on every architecture we run on

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number;
}

function readStat(pid: number): Stat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields start after the last ')'
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17
    return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]) };
  } catch {
    return null;
  }
}

function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The roots and all their descendants that are alive now. */
export function processTree(roots: number[]): number[] {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const alive = new Set(stats.map((s) => s.pid));
  const out: number[] = [];
  const queue = roots.filter((p) => alive.has(p));
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU seconds consumed so far by the tree under `roots` (including reaped children). */
export function cpuSeconds(roots: number[]): number {
  let ticks = 0;
  for (const pid of processTree(roots)) ticks += readStat(pid)?.ticks ?? 0;
  return ticks / TICKS;
}

/** CPU seconds of one process alone (its live children not included). */
export function cpuSecondsOfProcess(pid: number): number {
  return (readStat(pid)?.ticks ?? 0) / TICKS;
}

/** Live children of a process. */
export function childrenOf(pid: number): number[] {
  return allStats().filter((s) => s.ppid === pid).map((s) => s.pid);
}

export interface Memory {
  /** Sum of resident set sizes, KiB. */
  rssKiB: number;
  /** Sum of proportional set sizes, KiB (shared pages divided among their users). */
  pssKiB: number;
  processes: number;
}

export function memory(roots: number[]): Memory {
  let rssKiB = 0;
  let pssKiB = 0;
  let processes = 0;
  for (const pid of processTree(roots)) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rssKiB += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pssKiB += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      processes++;
    } catch {
      /* exited meanwhile */
    }
  }
  return { rssKiB, pssKiB, processes };
}
