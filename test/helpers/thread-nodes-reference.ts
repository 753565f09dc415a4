/**
 * The THREAD tree of the eighth round (an object per node, an array per parent), kept as the
 * reference the typed-array tree (appliance/imap/thread-tree.ts, issue 18, ninth round) is
 * checked against: RFC 5256 2.1 ORDEREDSUBJECT and 2.2 REFERENCES, as it answered them.
 */
import { AsciiWriter } from '../../appliance/imap/sort.js';
import { codeCount, type ThreadInput } from '../../appliance/imap/thread-tree.js';
import type { SortRow } from '../../appliance/mailstore/store.types.js';

const EXACT = 2 ** 53;
const SPACE = 32;
const OPEN = 40;
const CLOSE = 41;

/** The children of every childless node (no array per node: a 100,000-message THREAD makes 100,000 nodes). */
const LEAF: Node[] = [];

/**
 * A thread tree node (a message, or a dummy for a missing or shared parent). One class, so that
 * every access to a node's fields has one shape (fast before V8 optimizes: issue 18, THREAD).
 */
class Node {
  /** The node's date and position for sibling order (step 6): its own, or its first child's for a dummy. */
  date = 0;
  order = 0;
  parent: Node | null = null;
  /** LEAF (shared, never changed) until a first child is adopted. */
  children: Node[] = LEAF;
  constructor(
    /** The message's sort row when threaded from rows (formatThreads with a function), else null. */
    public row: SortRow | null,
    /** The message's position in the input (sequence order); -1 for a dummy. */
    public pos: number,
  ) {}

  adopt(child: Node): void {
    if (this.children === LEAF) this.children = [child];
    else this.children.push(child);
  }
}

/** Sets each node's sort date and position: its own, or (a dummy) its first child's, whose list was ordered before. */
function setOrderKeys(list: Node[], dates: ArrayLike<number>): void {
  for (let i = 0; i < list.length; i++) {
    const n = list[i]!;
    if (n.pos >= 0) {
      n.date = dates[n.pos]!;
      n.order = n.pos;
    } else if (n.children.length) {
      const c = n.children[0]!;
      n.date = c.date;
      n.order = c.order;
    } else {
      n.date = 0;
      n.order = 0;
    }
  }
}

const byDate = (a: Node, b: Node) => (a.date !== b.date ? a.date - b.date : a.order - b.order);

/**
 * Orders siblings by date, then position: a few by insertion, many by one native sort of
 * date × rows + position (positions are distinct among siblings), the comparator otherwise.
 * `slots` is scratch space of one entry per row.
 */
function sortSiblings(list: Node[], rows: number, slots: Array<Node | undefined>): void {
  const n = list.length;
  if (n < 2) return;
  if (n <= 12) {
    for (let i = 1; i < n; i++) {
      const x = list[i]!;
      let j = i - 1;
      while (j >= 0 && byDate(list[j]!, x) > 0) {
        list[j + 1] = list[j]!;
        j--;
      }
      list[j + 1] = x;
    }
    return;
  }
  let min = Infinity;
  let max = -Infinity;
  let packable = true;
  for (let i = 0; i < n; i++) {
    const x = list[i]!;
    const d = x.date;
    if (d !== Math.floor(d) || x.order >= rows || slots[x.order] !== undefined) packable = false;
    slots[x.order] = x;
    if (d < min) min = d;
    if (d > max) max = d;
  }
  if (packable && Number.isSafeInteger(min) && Number.isSafeInteger(max) && (max - min + 1) * rows < EXACT) {
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = (list[i]!.date - min) * rows + list[i]!.order;
    packed.sort();
    for (let k = 0; k < n; k++) {
      const v = packed[k]!;
      list[k] = slots[v - Math.floor(v / rows) * rows]!;
    }
  } else {
    list.sort(byDate);
  }
  for (let i = 0; i < n; i++) slots[list[i]!.order] = undefined;
}

/** True when a is b or an ancestor of b; a node without children is nobody's ancestor. */
function isAncestor(a: Node, b: Node): boolean {
  if (!a.children.length) return a === b;
  for (let n: Node | null = b; n; n = n.parent) if (n === a) return true;
  return false;
}

function link(parent: Node, child: Node): void {
  if (child.parent === parent || isAncestor(child, parent)) return;
  if (child.parent) child.parent.children.splice(child.parent.children.indexOf(child), 1);
  child.parent = parent;
  parent.adopt(child);
}

/**
 * Step 1's id table: containers by Message-ID code (a typed array indexed by code: codes are
 * string table indexes, no hashing), and every node in the order it was first entered (messages without
 * an id or with a duplicate one included), the order of the root set.
 */
interface IdTable {
  /** By code: 1 + the container's index in `nodes`, 0 for none yet. */
  byId: Uint32Array;
  nodes: Node[];
}

/** The container of a Message-ID code, made (empty) on first mention. */
function container(table: IdTable, id: number): Node {
  const at = table.byId[id]!;
  if (at !== 0) return table.nodes[at - 1]!;
  const c = new Node(null, -1);
  table.byId[id] = table.nodes.push(c);
  return c;
}

/** Step 1 for one message: its container, the chain of its references, its parent. */
function addMessage(table: IdTable, input: ThreadInput, row: SortRow | null, pos: number): void {
  let node: Node;
  const id = input.ids[pos]!;
  const at = id >= 0 ? table.byId[id]! : 0;
  const existing = at !== 0 ? table.nodes[at - 1]! : undefined;
  if (id >= 0 && (!existing || existing.pos < 0)) {
    node = existing ?? container(table, id);
    node.row = row;
    node.pos = pos;
  } else {
    node = new Node(row, pos); // no or duplicate Message-ID: a unique one
    table.nodes.push(node);
  }
  let prev: Node | null = null;
  for (let i = pos ? input.refEnd[pos - 1]! : 0, end = input.refEnd[pos]!; i < end; i++) {
    const c = container(table, input.refs[i]!);
    if (prev && !c.parent && !isAncestor(c, prev)) link(prev, c);
    prev = c;
  }
  // C: the last reference is the parent (replacing a parent a truncated header gave it).
  if (prev && prev !== node && !isAncestor(node, prev)) link(prev, node);
  else if (!prev && node.parent) {
    node.parent.children.splice(node.parent.children.indexOf(node), 1);
    node.parent = null;
  }
}

/** Step 4: prunes dummies, children before parents (iteratively: reply chains can be deep). */
function pruneDummies(roots: Node[]): Node[] {
  const order: Node[] = [];
  const walk = [...roots];
  while (walk.length) {
    const n = walk.pop()!;
    order.push(n);
    for (const c of n.children) walk.push(c);
  }
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    let dummies = false;
    for (let i = 0; i < n.children.length && !dummies; i++) dummies = n.children[i]!.pos < 0;
    if (!dummies) continue;
    const kids: Node[] = [];
    for (const c of n.children) {
      if (c.pos >= 0) kids.push(c);
      else
        for (const g of c.children) {
          // a dummy below the root gives its (already pruned) children to its parent
          g.parent = n;
          kids.push(g);
        }
    }
    n.children = kids;
  }
  const out: Node[] = [];
  for (const r of roots) {
    if (r.pos >= 0 || r.children.length > 1) {
      out.push(r);
      continue;
    }
    // an empty dummy goes; one with a single child is replaced by it
    for (const c of r.children) {
      c.parent = null;
      out.push(c);
    }
  }
  return out;
}

/** A root's base subject rank: its own, or (a dummy) its first child's; -1 for none or the empty subject. */
function subjectOf(input: ThreadInput, n: Node): number {
  const m = n.pos >= 0 ? n : n.children[0];
  if (m === undefined || m.pos < 0) return -1;
  const s = input.subjects[m.pos]!;
  return s === input.emptySubject ? -1 : s;
}

function isReply(input: ThreadInput, n: Node): boolean {
  return n.pos >= 0 && input.replies[n.pos] === 1;
}

/** Step 5: groups the root set by base subject. */
function groupBySubject(input: ThreadInput, roots: Node[]): Node[] {
  const bySubject = new Map<number, Node>();
  for (const r of roots) {
    const s = subjectOf(input, r);
    if (s < 0) continue;
    const old = bySubject.get(s);
    if (!old || (r.pos < 0 && old.pos >= 0) || (isReply(input, old) && !isReply(input, r) && r.pos >= 0)) bySubject.set(s, r);
  }
  const merged: Node[] = [];
  const mergedAt = new Map<Node, number>();
  for (const r of roots) {
    if (r.parent) continue; // already merged under another root
    const s = subjectOf(input, r);
    const target = s >= 0 ? bySubject.get(s) : undefined;
    if (!target || target === r) {
      mergedAt.set(r, merged.length);
      merged.push(r);
      continue;
    }
    if (target.pos < 0 && r.pos < 0) {
      for (const c of r.children) c.parent = target;
      for (const c of r.children) target.adopt(c);
    } else if (target.pos < 0) {
      r.parent = target;
      target.adopt(r);
    } else if (!isReply(input, target) && isReply(input, r)) {
      r.parent = target;
      target.adopt(r);
    } else {
      // Both are messages that are not a reply to one another: a new dummy holds both.
      const dummy = new Node(null, -1);
      dummy.adopt(target);
      dummy.adopt(r);
      target.parent = dummy;
      r.parent = dummy;
      const i = mergedAt.get(target);
      if (i !== undefined) merged[i] = dummy;
      else merged.push(dummy);
      mergedAt.set(dummy, i ?? merged.length - 1);
      bySubject.set(s, dummy);
    }
  }
  return merged;
}

/** Step 6: sorts siblings by sent date, children before their parents' keys are used. */
function sortTree(list: Node[], dates: ArrayLike<number>): void {
  const rows = dates.length;
  const stack = [list];
  const all: Node[][] = [];
  while (stack.length) {
    const l = stack.pop()!;
    all.push(l);
    for (const n of l) if (n.children.length) stack.push(n.children);
  }
  const slots = new Array<Node | undefined>(rows);
  for (let i = all.length - 1; i >= 0; i--) {
    setOrderKeys(all[i]!, dates);
    sortSiblings(all[i]!, rows, slots);
  }
}

/** threadReferences of a ThreadInput (`rows`, when given, kept on the nodes for formatThreads). */
export function referenceNodes(input: ThreadInput, rows?: readonly SortRow[]): Node[] {
  const table: IdTable = { byId: new Uint32Array(codeCount(input)), nodes: [] };
  // Step 1
  const n = input.dates.length;
  for (let pos = 0; pos < n; pos++) addMessage(table, input, rows ? rows[pos]! : null, pos);
  // Step 2: root set (step 3 drops the table); step 4 prunes
  const rootSet: Node[] = [];
  for (const x of table.nodes) if (!x.parent) rootSet.push(x);
  const merged = groupBySubject(input, pruneDummies(rootSet));
  sortTree(merged, input.dates);
  return merged;
}

/**
 * The THREAD response body: "(1 2)(3 (4)(5))" with sequence numbers or UIDs (RFC 5256 4); `id`
 * gives a node's number from its row and position, or is an array of numbers by position.
 */
export function formatNodes(roots: Node[], id: ((r: SortRow, pos: number) => number) | ArrayLike<number>): string {
  const w = new AsciiWriter();
  writeNodes(w, roots, id);
  return w.toString();
}

/** formatThreads into a writer. */
function writeNodes(w: AsciiWriter, roots: Node[], id: ((r: SortRow, pos: number) => number) | ArrayLike<number>): void {
  const ids = typeof id === 'function' ? null : id;
  const fn = typeof id === 'function' ? id : null;
  // An explicit stack (reply chains can be thousands deep): nodes, and null for a ")".
  let afterOpen = false;
  const stack: Array<Node | null> = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(null, roots[i]!);
  while (stack.length) {
    const item = stack.pop()!;
    if (item === null) {
      w.byte(CLOSE);
      afterOpen = false;
      continue;
    }
    w.byte(OPEN);
    afterOpen = true;
    let n: Node = item;
    // A run of single children is written as a flat chain "a b c".
    for (;;) {
      if (n.pos >= 0) {
        if (!afterOpen) w.byte(SPACE);
        w.num(ids ? ids[n.pos]! : fn!(n.row!, n.pos));
        afterOpen = false;
      }
      if (n.children.length === 1 && n.pos >= 0) {
        n = n.children[0]!;
        continue;
      }
      break;
    }
    if (n.children.length > 1 || (n.pos < 0 && n.children.length)) {
      if (n.pos >= 0) w.byte(SPACE);
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(null, n.children[i]!);
    }
  }
}

/** ORDEREDSUBJECT as the eighth round built it: by base subject, then date, then position; the first of a subject the parent of the rest. */
export function orderedSubjectNodes(input: ThreadInput): Node[] {
  const n = input.dates.length;
  const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => input.subjects[a]! - input.subjects[b]! || input.dates[a]! - input.dates[b]! || a - b);
  const roots: Node[] = [];
  let current: Node | null = null;
  let subject = -1;
  for (const pos of sorted) {
    const node = new Node(null, pos);
    const s = input.subjects[pos]!;
    if (current && s === subject) {
      node.parent = current;
      current.adopt(node);
    } else {
      current = node;
      subject = s;
      roots.push(node);
    }
  }
  setOrderKeys(roots, input.dates);
  sortSiblings(roots, n, new Array<Node | undefined>(n));
  return roots;
}
