/**
 * SORT (RFC 5256 3, DISPLAYFROM/DISPLAYTO of RFC 5957) and THREAD (RFC 5256 2: ORDEREDSUBJECT
 * and REFERENCES) over precomputed sort keys (mailstore/sort-keys.ts). Pure functions: the
 * command modules pick the rows (search result) and write the answer.
 */
import type { SortRow } from '../mailstore/store.types.js';
import { ImapSyntaxError, type Token } from './parser.js';

export type SortKeyName = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKeyName;
  reverse: boolean;
}

const KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

/** `(REVERSE DATE SUBJECT)` → criteria. */
export function parseSortCriteria(t: Token | undefined): SortCriterion[] {
  if (!t || t.t !== 'list' || !t.v.length) throw new ImapSyntaxError('SORT needs a list of sort criteria');
  const out: SortCriterion[] = [];
  let reverse = false;
  for (const x of t.v) {
    if (x.t !== 'atom') throw new ImapSyntaxError('Invalid sort criterion');
    const name = x.v.toUpperCase();
    if (name === 'REVERSE') {
      if (reverse) throw new ImapSyntaxError('REVERSE given twice');
      reverse = true;
      continue;
    }
    if (!KEYS.has(name)) throw new ImapSyntaxError(`Unknown sort key ${x.v.slice(0, 30)}`);
    out.push({ key: name as SortKeyName, reverse });
    reverse = false;
  }
  if (reverse || !out.length) throw new ImapSyntaxError('REVERSE must precede a sort key');
  return out;
}

/** The sent date for sorting: the Date header, else the internal date (RFC 5256 3 DATE). */
export function sentDate(r: SortRow): number {
  return r.keys.d ?? r.internalDate;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBy(key: SortKeyName, a: SortRow, b: SortRow): number {
  switch (key) {
    case 'ARRIVAL':
      return a.internalDate - b.internalDate;
    case 'DATE':
      return sentDate(a) - sentDate(b);
    case 'SIZE':
      return a.size - b.size;
    case 'SUBJECT':
      return cmpStr(a.keys.s, b.keys.s);
    case 'FROM':
      return cmpStr(a.keys.f, b.keys.f);
    case 'TO':
      return cmpStr(a.keys.t, b.keys.t);
    case 'CC':
      return cmpStr(a.keys.c, b.keys.c);
    case 'DISPLAYFROM':
      return cmpStr(a.keys.df, b.keys.df);
    case 'DISPLAYTO':
      return cmpStr(a.keys.dt, b.keys.dt);
  }
}

/** Sorts rows (given in sequence order) by the criteria; ties keep sequence order (RFC 5256 3). */
export function sortRows(rows: SortRow[], criteria: SortCriterion[]): SortRow[] {
  const idx = rows.map((_, i) => i);
  idx.sort((i, j) => {
    const a = rows[i]!;
    const b = rows[j]!;
    for (const c of criteria) {
      const d = compareBy(c.key, a, b);
      if (d) return c.reverse ? -d : d;
    }
    return i - j;
  });
  return idx.map((i) => rows[i]!);
}

// ---- THREAD ----------------------------------------------------------------------------

interface Node {
  row: SortRow | null;
  /** Position in the input (sequence order), for tie-breaks. */
  pos: number;
  parent: Node | null;
  children: Node[];
}

const byDate = (a: Node, b: Node) => {
  const da = nodeDate(a);
  const db = nodeDate(b);
  return da !== db ? da - db : nodePos(a) - nodePos(b);
};

function nodeDate(n: Node): number {
  if (n.row) return sentDate(n.row);
  return n.children.length ? nodeDate(n.children[0]!) : 0;
}

function nodePos(n: Node): number {
  if (n.row) return n.pos;
  return n.children.length ? nodePos(n.children[0]!) : 0;
}

/** THREAD=ORDEREDSUBJECT (RFC 5256 2.1): by base subject, first message the parent of the rest. */
export function threadOrderedSubject(rows: SortRow[]): Node[] {
  const sorted = rows.map((row, pos) => ({ row, pos })).sort((a, b) => cmpStr(a.row.keys.s, b.row.keys.s) || sentDate(a.row) - sentDate(b.row) || a.pos - b.pos);
  const roots: Node[] = [];
  let current: Node | null = null;
  let subject: string | null = null;
  for (const { row, pos } of sorted) {
    const node: Node = { row, pos, parent: null, children: [] };
    if (current && row.keys.s === subject) {
      node.parent = current;
      current.children.push(node);
    } else {
      current = node;
      subject = row.keys.s;
      roots.push(node);
    }
  }
  roots.sort(byDate);
  return roots;
}

/** THREAD=REFERENCES (RFC 5256 2.2, steps 1-6). */
export function threadReferences(rows: SortRow[]): Node[] {
  const table = new Map<string, Node>();
  const isAncestor = (a: Node, b: Node) => {
    // true when a is b or an ancestor of b
    for (let n: Node | null = b; n; n = n.parent) if (n === a) return true;
    return false;
  };
  const link = (parent: Node, child: Node) => {
    if (child.parent === parent || isAncestor(child, parent)) return;
    if (child.parent) child.parent.children.splice(child.parent.children.indexOf(child), 1);
    child.parent = parent;
    parent.children.push(child);
  };
  const container = (id: string) => {
    let c = table.get(id);
    if (!c) table.set(id, (c = { row: null, pos: 0, parent: null, children: [] }));
    return c;
  };
  // Step 1
  rows.forEach((row, pos) => {
    let node: Node;
    const id = row.keys.id;
    const existing = id ? table.get(id) : undefined;
    if (id && (!existing || !existing.row)) {
      node = existing ?? container(id);
      node.row = row;
      node.pos = pos;
    } else {
      node = { row, pos, parent: null, children: [] }; // no or duplicate Message-ID: a unique one
    }
    const refs = row.keys.r;
    let prev: Node | null = null;
    for (const ref of refs) {
      const c = container(ref);
      if (prev && !c.parent && !isAncestor(c, prev)) link(prev, c);
      prev = c;
    }
    // C: the last reference is the parent (replacing a parent a truncated header gave it).
    if (prev && prev !== node && !isAncestor(node, prev)) link(prev, node);
    else if (!prev && node.parent) {
      node.parent.children.splice(node.parent.children.indexOf(node), 1);
      node.parent = null;
    }
    if (!id || (existing && existing !== node)) table.set(`\u0000unique${pos}`, node);
  });
  // Step 2: root set
  let roots = [...table.values()].filter((n) => !n.parent);
  // Step 4: prune dummies
  const prune = (list: Node[], atRoot: boolean): Node[] => {
    const out: Node[] = [];
    const stack = [...list];
    while (stack.length) {
      const n = stack.shift()!;
      n.children = prune(n.children, false);
      for (const c of n.children) c.parent = n;
      if (!n.row) {
        if (!n.children.length) continue;
        if (!atRoot || n.children.length === 1) {
          for (const c of n.children) c.parent = n.parent;
          out.push(...n.children);
          continue;
        }
      }
      out.push(n);
    }
    return out;
  };
  roots = prune(roots, true);
  for (const r of roots) r.parent = null;
  // Step 5: group the root set by base subject
  const subjectOf = (n: Node) => (n.row ? n.row.keys.s : n.children[0]?.row?.keys.s ?? '');
  const isReply = (n: Node) => (n.row ? n.row.keys.re === 1 : false);
  const bySubject = new Map<string, Node>();
  for (const r of roots) {
    const s = subjectOf(r);
    if (!s) continue;
    const old = bySubject.get(s);
    if (!old || (!r.row && old.row) || (isReply(old) && !isReply(r) && r.row)) bySubject.set(s, r);
  }
  const merged: Node[] = [];
  for (const r of roots) {
    if (r.parent) continue; // already merged under another root
    const s = subjectOf(r);
    const target = s ? bySubject.get(s) : undefined;
    if (!target || target === r) {
      merged.push(r);
      continue;
    }
    if (!target.row && !r.row) {
      for (const c of r.children) c.parent = target;
      target.children.push(...r.children);
    } else if (!target.row) {
      r.parent = target;
      target.children.push(r);
    } else if (!isReply(target) && isReply(r)) {
      r.parent = target;
      target.children.push(r);
    } else {
      // Both are messages that are not a reply to one another: a new dummy holds both.
      const dummy: Node = { row: null, pos: 0, parent: null, children: [target, r] };
      target.parent = dummy;
      r.parent = dummy;
      const i = merged.indexOf(target);
      if (i >= 0) merged[i] = dummy;
      else merged.push(dummy);
      bySubject.set(s, dummy);
    }
  }
  // Step 6: sort siblings by sent date, children before their parents' keys are used.
  const sortTree = (list: Node[]) => {
    const stack = [list];
    const all: Node[][] = [];
    while (stack.length) {
      const l = stack.pop()!;
      all.push(l);
      for (const n of l) if (n.children.length) stack.push(n.children);
    }
    for (let i = all.length - 1; i >= 0; i--) all[i]!.sort(byDate);
  };
  sortTree(merged);
  return merged;
}

/** The THREAD response body: "(1 2)(3 (4)(5))" with sequence numbers or UIDs (RFC 5256 4). */
export function formatThreads(roots: Node[], id: (r: SortRow) => number): string {
  let out = '';
  // Iterative: reply chains can be thousands deep.
  const stack: Array<Node | string> = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(')', roots[i]!, '(');
  while (stack.length) {
    const item = stack.pop()!;
    if (typeof item === 'string') {
      out += item;
      continue;
    }
    let n: Node = item;
    // A run of single children is written as a flat chain "a b c".
    for (;;) {
      if (n.row) out += (out.endsWith('(') ? '' : ' ') + id(n.row);
      if (n.children.length === 1 && n.row) {
        n = n.children[0]!;
        continue;
      }
      break;
    }
    if (n.children.length > 1 || (!n.row && n.children.length)) {
      if (n.row) out += ' ';
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(')', n.children[i]!, '(');
    }
  }
  return out;
}
