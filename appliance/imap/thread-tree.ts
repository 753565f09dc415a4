/**
 * THREAD trees (RFC 5256 2.1 ORDEREDSUBJECT, 2.2 REFERENCES steps 1-6, 4 the response) kept in
 * typed arrays (issue 18, ninth round): a node is a number, its parent, children (a doubly
 * linked list: first, last, next, previous) and sibling sort keys are entries of arrays. A
 * 100,000-message THREAD made an object per message and per missing parent and an array per
 * parent, and a fresh process spent most of its first THREAD collecting them.
 *
 * Nodes are numbered in the order they are first entered (step 1's id table order, the order of
 * the root set); `pos` is the message's position in the input (sequence order), -1 for a dummy.
 */
import type { SortRow } from '../mailstore/store.types.js';

/**
 * What THREAD reads of each message (by position, sequence order), as numbers: from sort rows
 * (imap/sort.ts threadInput) or from a large folder's sort-key copy without an object per message.
 */
export interface ThreadInput {
  /** The sent date (sentDate). */
  dates: ArrayLike<number>;
  /** The base subject's rank: equal subjects equal ranks, ascending in code-unit order. */
  subjects: ArrayLike<number>;
  /** The rank of the empty base subject (-1: none has it). */
  emptySubject: number;
  /** 1 when the subject had a reply or forward prefix. */
  replies: ArrayLike<number>;
  /** The Message-ID's code (-1: none or empty); a code stands for one string, shared with `refs`. */
  ids: ArrayLike<number>;
  /** Per message: the end of its references in `refs` (the start is the previous message's end). */
  refEnd: ArrayLike<number>;
  refs: ArrayLike<number>;
}

/** Largest integer a double holds exactly: packed sibling keys stay below it. */
const EXACT = 2 ** 53;

export class ThreadTree {
  size = 0;
  pos: Int32Array;
  parent: Int32Array;
  first: Int32Array;
  last: Int32Array;
  next: Int32Array;
  prev: Int32Array;
  count: Int32Array;
  /** Sibling order keys (step 6): the node's sent date and position, or (a dummy) its first child's. */
  date: Float64Array;
  order: Float64Array;
  /** The top-level nodes in answer order. */
  roots: number[] = [];

  constructor(
    capacity: number,
    /** The messages' sort rows by position, when threaded from rows (formatThreads with a function). */
    readonly rows: readonly SortRow[] | null = null,
  ) {
    const cap = Math.max(16, capacity);
    this.pos = new Int32Array(cap);
    this.parent = new Int32Array(cap);
    this.first = new Int32Array(cap);
    this.last = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.count = new Int32Array(cap);
    this.date = new Float64Array(cap);
    this.order = new Float64Array(cap);
  }

  private grow(): void {
    const cap = this.pos.length * 2;
    const more = <T extends Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.pos = more(this.pos);
    this.parent = more(this.parent);
    this.first = more(this.first);
    this.last = more(this.last);
    this.next = more(this.next);
    this.prev = more(this.prev);
    this.count = more(this.count);
    this.date = more(this.date);
    this.order = more(this.order);
  }

  /** A new node without parent or children: a message at `pos`, or a dummy (-1). */
  add(pos: number): number {
    if (this.size === this.pos.length) this.grow();
    const x = this.size++;
    this.pos[x] = pos;
    this.parent[x] = -1;
    this.first[x] = -1;
    this.last[x] = -1;
    this.next[x] = -1;
    this.prev[x] = -1;
    this.count[x] = 0;
    return x;
  }

  /** `c` (in no list) becomes `p`'s last child. */
  adopt(p: number, c: number): void {
    const l = this.last[p]!;
    this.parent[c] = p;
    this.prev[c] = l;
    this.next[c] = -1;
    if (l >= 0) this.next[l] = c;
    else this.first[p] = c;
    this.last[p] = c;
    this.count[p]!++;
  }

  /** Takes `c` out of its parent's children (the others keep their order). */
  detach(c: number): void {
    const p = this.parent[c]!;
    const a = this.prev[c]!;
    const b = this.next[c]!;
    if (a >= 0) this.next[a] = b;
    else this.first[p] = b;
    if (b >= 0) this.prev[b] = a;
    else this.last[p] = a;
    this.count[p]!--;
    this.parent[c] = -1;
  }

  /** True when a is b or an ancestor of b; a node without children is nobody's ancestor. */
  isAncestor(a: number, b: number): boolean {
    if (this.count[a] === 0) return a === b;
    for (let n = b; n >= 0; n = this.parent[n]!) if (n === a) return true;
    return false;
  }

  link(parent: number, child: number): void {
    if (this.parent[child] === parent || this.isAncestor(child, parent)) return;
    if (this.parent[child]! >= 0) this.detach(child);
    this.adopt(parent, child);
  }

  /** `c` (a child of `x`) replaced in `x`'s children by its own children, in their order (step 4). */
  private spliceUp(x: number, c: number): void {
    const f = this.first[c]!;
    const l = this.last[c]!;
    const a = this.prev[c]!;
    const b = this.next[c]!;
    if (f < 0) {
      this.detach(c);
      return;
    }
    for (let g = f; g >= 0; g = this.next[g]!) this.parent[g] = x;
    this.prev[f] = a;
    if (a >= 0) this.next[a] = f;
    else this.first[x] = f;
    this.next[l] = b;
    if (b >= 0) this.prev[b] = l;
    else this.last[x] = l;
    this.count[x]! += this.count[c]! - 1;
    this.parent[c] = -1;
    this.first[c] = this.last[c] = -1;
    this.count[c] = 0;
  }

  /** Step 4: prunes dummies, children before parents (an explicit stack: reply chains can be deep); the roots left. */
  pruneDummies(roots: number[]): number[] {
    const order: number[] = [];
    const walk = roots.slice();
    while (walk.length) {
      const x = walk.pop()!;
      order.push(x);
      for (let c = this.first[x]!; c >= 0; c = this.next[c]!) walk.push(c);
    }
    for (let k = order.length - 1; k >= 0; k--) {
      const x = order[k]!;
      for (let c = this.first[x]!; c >= 0;) {
        const after = this.next[c]!;
        if (this.pos[c]! < 0) this.spliceUp(x, c); // a dummy below the root gives its (already pruned) children to its parent
        c = after;
      }
    }
    const out: number[] = [];
    for (const r of roots) {
      if (this.pos[r]! >= 0 || this.count[r]! > 1) {
        out.push(r);
        continue;
      }
      // an empty dummy goes; one with a single child is replaced by it
      for (let c = this.first[r]!; c >= 0; c = this.next[c]!) {
        this.parent[c] = -1;
        out.push(c);
      }
    }
    return out;
  }

  /** Each node's sibling order key: its own date and position, or (a dummy) its first child's, whose list was ordered before. */
  private setKey(x: number, dates: ArrayLike<number>): void {
    const p = this.pos[x]!;
    if (p >= 0) {
      this.date[x] = dates[p]!;
      this.order[x] = p;
      return;
    }
    const c = this.first[x]!;
    this.date[x] = c >= 0 ? this.date[c]! : 0;
    this.order[x] = c >= 0 ? this.order[c]! : 0;
  }

  /**
   * Orders `list[0..n)` by date, then position (step 6): a few by insertion, many by one native
   * sort of date × rows + position (positions are distinct among siblings), a stable sort by the
   * comparison otherwise. `slots` (one per row, all -1) is scratch space, left all -1.
   */
  sortList(list: Int32Array | number[], n: number, dates: ArrayLike<number>, slots: Int32Array): void {
    const { date, order } = this;
    for (let i = 0; i < n; i++) this.setKey(list[i]!, dates);
    if (n < 2) return;
    const before = (a: number, b: number) => date[a]! < date[b]! || (date[a] === date[b] && order[a]! < order[b]!);
    if (n <= 12) {
      for (let i = 1; i < n; i++) {
        const x = list[i]!;
        let j = i - 1;
        while (j >= 0 && before(x, list[j]!)) {
          list[j + 1] = list[j]!;
          j--;
        }
        list[j + 1] = x;
      }
      return;
    }
    const rows = slots.length;
    let min = Infinity;
    let max = -Infinity;
    let packable = true;
    for (let i = 0; i < n; i++) {
      const x = list[i]!;
      const d = date[x]!;
      const o = order[x]!;
      if (d !== Math.floor(d) || o >= rows || slots[o] !== -1) packable = false;
      else slots[o] = x;
      if (d < min) min = d;
      if (d > max) max = d;
    }
    if (packable && Number.isSafeInteger(min) && Number.isSafeInteger(max) && (max - min + 1) * rows < EXACT) {
      const packed = new Float64Array(n);
      for (let i = 0; i < n; i++) packed[i] = (date[list[i]!]! - min) * rows + order[list[i]!]!;
      packed.sort();
      for (let k = 0; k < n; k++) {
        const v = packed[k]!;
        list[k] = slots[v - Math.floor(v / rows) * rows]!;
      }
    } else {
      const sorted = Array.from({ length: n }, (_, i) => list[i]!).sort((a, b) => (date[a] !== date[b] ? date[a]! - date[b]! : order[a]! - order[b]!));
      for (let i = 0; i < n; i++) list[i] = sorted[i]!;
    }
    for (let i = 0; i < n; i++) {
      const o = order[list[i]!]!;
      if (o < rows && slots[o] === list[i]) slots[o] = -1;
    }
  }

  /** Step 6: sorts every list of siblings by sent date, children before their parents' keys are used; then the roots. */
  sortTree(dates: ArrayLike<number>): void {
    const parents: number[] = [];
    const stack = this.roots.slice();
    while (stack.length) {
      const x = stack.pop()!;
      if (this.count[x] === 0) continue;
      parents.push(x);
      for (let c = this.first[x]!; c >= 0; c = this.next[c]!) stack.push(c);
    }
    const slots = new Int32Array(dates.length).fill(-1);
    let scratch = new Int32Array(16);
    for (let k = parents.length - 1; k >= 0; k--) {
      const p = parents[k]!;
      const n = this.count[p]!;
      if (scratch.length < n) scratch = new Int32Array(n * 2);
      let i = 0;
      for (let c = this.first[p]!; c >= 0; c = this.next[c]!) scratch[i++] = c;
      this.sortList(scratch, n, dates, slots);
      this.relink(p, scratch, n);
    }
    this.sortList(this.roots, this.roots.length, dates, slots);
  }

  /** `p`'s children made `list[0..n)`, in that order. */
  private relink(p: number, list: Int32Array, n: number): void {
    let a = -1;
    for (let i = 0; i < n; i++) {
      const c = list[i]!;
      this.prev[c] = a;
      if (a >= 0) this.next[a] = c;
      a = c;
    }
    this.next[a] = -1;
    this.first[p] = list[0]!;
    this.last[p] = a;
  }
}

/** Step 1's id table: by Message-ID code, 1 + its container's node, 0 for none yet. */
function container(tree: ThreadTree, byId: Uint32Array, id: number): number {
  const at = byId[id]!;
  if (at !== 0) return at - 1;
  const c = tree.add(-1);
  byId[id] = c + 1;
  return c;
}

/** One more than the largest code of the input's Message-IDs and references. */
export function codeCount(input: ThreadInput): number {
  let max = -1;
  for (let i = 0; i < input.ids.length; i++) if (input.ids[i]! > max) max = input.ids[i]!;
  for (let i = 0; i < input.refs.length; i++) if (input.refs[i]! > max) max = input.refs[i]!;
  return max + 1;
}

/** Step 1 for one message: its container, the chain of its references, its parent. */
function addMessage(tree: ThreadTree, byId: Uint32Array, input: ThreadInput, pos: number): void {
  const id = input.ids[pos]!;
  const at = id >= 0 ? byId[id]! : 0;
  let node: number;
  if (id >= 0 && (at === 0 || tree.pos[at - 1]! < 0)) {
    node = at !== 0 ? at - 1 : container(tree, byId, id);
    tree.pos[node] = pos;
  } else {
    node = tree.add(pos); // no or duplicate Message-ID: a unique one
  }
  let prev = -1;
  for (let i = pos ? input.refEnd[pos - 1]! : 0, end = input.refEnd[pos]!; i < end; i++) {
    const c = container(tree, byId, input.refs[i]!);
    if (prev >= 0 && tree.parent[c]! < 0 && !tree.isAncestor(c, prev)) tree.link(prev, c);
    prev = c;
  }
  // C: the last reference is the parent (replacing a parent a truncated header gave it).
  if (prev >= 0 && prev !== node && !tree.isAncestor(node, prev)) tree.link(prev, node);
  else if (prev < 0 && tree.parent[node]! >= 0) tree.detach(node);
}

/** A root's base subject rank: its own, or (a dummy) its first child's; -1 for none or the empty subject. */
function subjectOf(tree: ThreadTree, input: ThreadInput, n: number): number {
  const m = tree.pos[n]! >= 0 ? n : tree.first[n]!;
  if (m < 0 || tree.pos[m]! < 0) return -1;
  const s = input.subjects[tree.pos[m]!]!;
  return s === input.emptySubject ? -1 : s;
}

function isReply(tree: ThreadTree, input: ThreadInput, n: number): boolean {
  const p = tree.pos[n]!;
  return p >= 0 && input.replies[p] === 1;
}

/** Step 5: groups the root set by base subject. */
function groupBySubject(tree: ThreadTree, input: ThreadInput, roots: number[]): number[] {
  const { pos } = tree;
  const bySubject = new Map<number, number>();
  for (const r of roots) {
    const s = subjectOf(tree, input, r);
    if (s < 0) continue;
    const old = bySubject.get(s);
    if (old === undefined || (pos[r]! < 0 && pos[old]! >= 0) || (isReply(tree, input, old) && !isReply(tree, input, r) && pos[r]! >= 0)) bySubject.set(s, r);
  }
  const merged: number[] = [];
  const mergedAt = new Map<number, number>();
  for (const r of roots) {
    if (tree.parent[r]! >= 0) continue; // already merged under another root
    const s = subjectOf(tree, input, r);
    const target = s >= 0 ? bySubject.get(s) : undefined;
    if (target === undefined || target === r) {
      mergedAt.set(r, merged.length);
      merged.push(r);
      continue;
    }
    if (pos[target]! < 0 && pos[r]! < 0) {
      for (let c = tree.first[r]!; c >= 0;) {
        const after = tree.next[c]!;
        tree.adopt(target, c);
        c = after;
      }
      tree.first[r] = tree.last[r] = -1;
      tree.count[r] = 0;
    } else if (pos[target]! < 0 || (!isReply(tree, input, target) && isReply(tree, input, r))) {
      tree.adopt(target, r);
    } else {
      // Both are messages that are not a reply to one another: a new dummy holds both.
      const dummy = tree.add(-1);
      tree.adopt(dummy, target);
      tree.adopt(dummy, r);
      const i = mergedAt.get(target);
      if (i !== undefined) merged[i] = dummy;
      else merged.push(dummy);
      mergedAt.set(dummy, i ?? merged.length - 1);
      bySubject.set(s, dummy);
    }
  }
  return merged;
}

/** THREAD=REFERENCES (RFC 5256 2.2, steps 1-6) of a ThreadInput (`rows`, when given, kept for formatThreads with a function). */
export function referenceTree(input: ThreadInput, rows?: readonly SortRow[]): ThreadTree {
  const codes = codeCount(input);
  const n = input.dates.length;
  const tree = new ThreadTree(n + codes, rows ?? null);
  const byId = new Uint32Array(codes);
  // Step 1
  for (let pos = 0; pos < n; pos++) addMessage(tree, byId, input, pos);
  // Step 2: root set in the order first entered (step 3 drops the table); step 4 prunes
  const rootSet: number[] = [];
  for (let x = 0; x < tree.size; x++) if (tree.parent[x]! < 0) rootSet.push(x);
  tree.roots = groupBySubject(tree, input, tree.pruneDummies(rootSet));
  tree.sortTree(input.dates);
  return tree;
}

/** THREAD=ORDEREDSUBJECT (RFC 5256 2.1) of positions already ordered by base subject, then sent date, then position. */
export function orderedSubjectTree(input: ThreadInput, sorted: ArrayLike<number>, rows?: readonly SortRow[]): ThreadTree {
  const n = input.dates.length;
  const tree = new ThreadTree(n, rows ?? null);
  let current = -1;
  let subject = -1;
  for (let k = 0; k < sorted.length; k++) {
    const pos = sorted[k]!;
    const node = tree.add(pos);
    const s = input.subjects[pos]!;
    if (current >= 0 && s === subject) tree.adopt(current, node);
    else {
      current = node;
      subject = s;
      tree.roots.push(node);
    }
  }
  tree.sortList(tree.roots, tree.roots.length, input.dates, new Int32Array(n).fill(-1));
  return tree;
}
