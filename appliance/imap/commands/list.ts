/**
 * LIST (RFC 3501 with LIST-EXTENDED RFC 5258: selection options SUBSCRIBED, SPECIAL-USE,
 * REMOTE, RECURSIVEMATCH; return options SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS of
 * LIST-STATUS RFC 5819) and LSUB.
 */
import type { FolderInfo } from '../../mailstore/store.types.js';
import { DELIMITER, patternFromClient } from '../mailbox-names.js';
import { compileMailboxPattern } from '../mailbox-pattern.js';
import { ImapSyntaxError, type Token, isAtom, str } from '../parser.js';
import type { ImapSession } from '../session.js';
import { mailboxIdOf } from './helpers.js';
import { parseStatusItems, statusLine } from './status.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

interface ListOptions {
  subscribedOnly: boolean;
  specialUseOnly: boolean;
  recursiveMatch: boolean;
  returnSubscribed: boolean;
  returnSpecialUse: boolean;
  status: string[] | null;
  patterns: string[];
  reference: string;
  extended: boolean;
}

function atoms(t: Token | undefined, what: string): string[] {
  if (!t || t.t !== 'list') throw new ImapSyntaxError(`Expected ${what} list`);
  return t.v.map((x) => {
    if (x.t !== 'atom') throw new ImapSyntaxError(`Invalid ${what}`);
    return x.v.toUpperCase();
  });
}

function parseList(args: Token[], rev2: boolean): ListOptions {
  const decode = (t: Token | undefined, what: string) => patternFromClient(str(t, what), rev2);
  const o: ListOptions = {
    subscribedOnly: false,
    specialUseOnly: false,
    recursiveMatch: false,
    returnSubscribed: false,
    returnSpecialUse: false,
    status: null,
    patterns: [],
    reference: '',
    extended: false,
  };
  let i = 0;
  if (args[0]?.t === 'list') {
    o.extended = true;
    for (const opt of atoms(args[0], 'selection option')) {
      if (opt === 'SUBSCRIBED') o.subscribedOnly = o.returnSubscribed = true;
      else if (opt === 'SPECIAL-USE') o.specialUseOnly = true;
      else if (opt === 'RECURSIVEMATCH') o.recursiveMatch = true;
      else if (opt === 'REMOTE') continue;
      else throw new ImapSyntaxError(`Unknown LIST selection option ${opt}`);
    }
    if (o.recursiveMatch && !o.subscribedOnly) throw new ImapSyntaxError('RECURSIVEMATCH needs another selection option');
    i = 1;
  }
  o.reference = decode(args[i++], 'reference');
  const pat = args[i++];
  if (pat?.t === 'list') {
    o.extended = true;
    o.patterns = pat.v.map((p) => decode(p, 'pattern'));
  } else o.patterns = [decode(pat, 'pattern')];
  if (isAtom(args[i], 'RETURN')) {
    o.extended = true;
    const ret = args[i + 1];
    if (!ret || ret.t !== 'list') throw new ImapSyntaxError('RETURN needs a list');
    for (let j = 0; j < ret.v.length; j++) {
      const t = ret.v[j]!;
      if (t.t !== 'atom') throw new ImapSyntaxError('Invalid return option');
      const opt = t.v.toUpperCase();
      if (opt === 'SUBSCRIBED') o.returnSubscribed = true;
      else if (opt === 'SPECIAL-USE') o.returnSpecialUse = true;
      else if (opt === 'CHILDREN')
        continue; // always returned
      else if (opt === 'STATUS') o.status = parseStatusItems(ret.v[++j], rev2);
      else throw new ImapSyntaxError(`Unknown LIST return option ${opt}`);
    }
    i += 2;
  }
  if (i < args.length) throw new ImapSyntaxError('Too many arguments');
  return o;
}

interface Node {
  name: string;
  folder: FolderInfo | null;
  subscribed: boolean;
  hasChildren: boolean;
  hasSubscribedChild: boolean;
}

function buildNodes(folders: FolderInfo[], subs: Set<string>): Map<string, Node> {
  const nodes = new Map<string, Node>();
  const get = (name: string) => {
    let n = nodes.get(name);
    if (!n) nodes.set(name, (n = { name, folder: null, subscribed: subs.has(name), hasChildren: false, hasSubscribedChild: false }));
    return n;
  };
  for (const f of folders) get(f.name).folder = f;
  for (const s of subs) get(s);
  for (const n of [...nodes.values()]) {
    const segs = n.name.split(DELIMITER);
    for (let i = 1; i < segs.length; i++) {
      const parent = get(segs.slice(0, i).join(DELIMITER));
      if (n.folder) parent.hasChildren = true;
      if (n.subscribed) parent.hasSubscribedChild = true;
    }
  }
  return nodes;
}

async function runList(session: ImapSession, o: ListOptions, lsub: boolean): Promise<void> {
  const mailboxId = mailboxIdOf(session);
  if (!lsub && o.patterns.length === 1 && o.patterns[0] === '' && !o.extended) {
    session.untagged(`LIST (\\Noselect) "${DELIMITER}" ""`);
    return;
  }
  const [folders, subList] = await Promise.all([session.store.listFolders(mailboxId), session.store.listSubscriptions(mailboxId)]);
  const subs = new Set(subList);
  const nodes = buildNodes(folders, subs);
  const res = o.patterns.filter((p) => p !== '').map((p) => compileMailboxPattern(o.reference, p));
  const names = [...nodes.keys()].sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const isMatch = (name: string) => res.some((re) => re.test(name));
  // RFC 3501 6.3.9: when "%" hides a subscribed child, LSUB returns its parent as \Noselect.
  const lsubParents = new Set<string>();
  if (lsub) {
    for (const name of names) {
      const n = nodes.get(name)!;
      if (!n.subscribed || isMatch(name)) continue;
      const segs = name.split(DELIMITER);
      for (let i = segs.length - 1; i >= 1; i--) {
        const parent = segs.slice(0, i).join(DELIMITER);
        if (!nodes.get(parent)?.subscribed && isMatch(parent)) lsubParents.add(parent);
      }
    }
  }
  // RFC 5258 3.5 (RECURSIVEMATCH): a mailbox the pattern matches is also returned, with
  // CHILDINFO ("SUBSCRIBED"), when a descendant meets the selection but is not matched itself.
  const hiddenSubscribedChild = (name: string): boolean => {
    const prefix = name + DELIMITER;
    for (const other of names) if (other.startsWith(prefix) && nodes.get(other)!.subscribed && !isMatch(other)) return true;
    return false;
  };
  const out: string[] = [];
  for (const name of names) {
    const n = nodes.get(name)!;
    const matched = isMatch(name);
    if (!matched) continue;
    const flags: string[] = [];
    let childInfo = false;
    if (lsub) {
      if (lsubParents.has(name)) flags.push('\\Noselect');
      else if (!n.subscribed) continue;
      else if (!n.folder) flags.push('\\Noselect');
    } else {
      childInfo = o.recursiveMatch && n.hasSubscribedChild && hiddenSubscribedChild(name);
      if (o.subscribedOnly && !n.subscribed && !childInfo) continue;
      if (o.specialUseOnly && !n.folder?.specialUse) continue;
      if (!n.folder) {
        // RFC 9051 6.3.9 (table of RECURSIVEMATCH results): a name that is neither a mailbox
        // nor subscribed, listed for its CHILDINFO, is \NonExistent under IMAP4rev2.
        if (o.subscribedOnly && n.subscribed) flags.push('\\NonExistent');
        else if (childInfo && session.rev2) flags.push('\\NonExistent');
        else if (n.hasChildren || childInfo) flags.push('\\Noselect');
        else continue; // a subscription without a mailbox is not listed by plain LIST
      }
      flags.push(n.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
      if (n.folder?.specialUse) flags.push(n.folder.specialUse);
      if (o.returnSubscribed && n.subscribed) flags.push('\\Subscribed');
    }
    const extra = childInfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : '';
    out.push(`* ${lsub ? 'LSUB' : 'LIST'} (${flags.join(' ')}) "${DELIMITER}" ${session.mailboxName(name)}${extra}\r\n`);
    if (o.status && n.folder) {
      session.write(out.join(''));
      out.length = 0;
      session.write(await statusLine(session, n.folder, o.status));
    }
  }
  if (out.length) session.write(out.join(''));
}

export const listCommand: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    const o = parseList(cmd.args, session.rev2);
    if (o.status?.includes('HIGHESTMODSEQ')) session.enableCondstore();
    await runList(session, o, false);
    return undefined;
  },
};

export const lsub: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    if (cmd.args.length !== 2) throw new ImapSyntaxError('LSUB takes a reference and a pattern');
    const o = parseList(cmd.args, session.rev2);
    await runList(session, o, true);
    return undefined;
  },
};
