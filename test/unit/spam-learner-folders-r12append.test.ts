/**
 * The spam learner's folder facts (issue 18): every stored message (a delivery, an APPEND) is an
 * event the learner looks at, and each asked the database about its folder. The facts of INBOX
 * and of a \Junk folder cannot change and are kept; any other folder is read each time (a RENAME
 * may make it Junk), and a deleted folder's facts go. What is learned is unchanged.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../appliance/logger.js';
import { ChangeBus } from '../../appliance/mailstore/changes.js';
import type { SqlMailStore } from '../../appliance/mailstore/store.js';
import { type LearnerLookups, SpamLearner } from '../../appliance/spam/learner.js';
import type { SpamScanner } from '../../appliance/spam/scanner.js';

interface Folder {
  special_use: string | null;
  name: string;
}

function setup(folders: Map<number, Folder>, flags: string) {
  const bus = new ChangeBus();
  const learned: string[] = [];
  const looked: number[] = [];
  const lookups: LearnerLookups = {
    learnerFolder: async (id) => {
      looked.push(id);
      const f = folders.get(id);
      return f ? { mailbox_id: 'mbx_1', tenant_id: 'tnt_1', ...f } : undefined;
    },
    learnerEntries: async (_folderId, uids) => uids.map((uid) => ({ message_id: uid, flags })),
  };
  const scanner = {
    available: true,
    controller: async (pathname: string) => {
      learned.push(pathname);
      return { status: 200, json: {} };
    },
  } as unknown as SpamScanner;
  const store = { bus, readMessage: async () => Buffer.from('Subject: x\r\n\r\nx\r\n') } as unknown as SqlMailStore;
  const learner = new SpamLearner(lookups, store, scanner, createLogger('silent'));
  learner.start();
  let uid = 0;
  const append = async (folderId: number) => {
    bus.emit({ kind: 'exists', folderId, uids: [++uid], modseq: uid });
    await learner.idle();
  };
  return { bus, learned, looked, append };
}

describe('the spam learner reads a folder only when its facts may have changed', () => {
  it('looks INBOX and a \\Junk folder up once for any number of new messages', async () => {
    const folders = new Map<number, Folder>([
      [1, { special_use: null, name: 'INBOX' }],
      [2, { special_use: '\\Junk', name: 'Spam' }],
    ]);
    const { learned, looked, append } = setup(folders, '$Junk');
    for (let i = 0; i < 5; i++) await append(1);
    expect(looked).toEqual([1]);
    expect(learned).toEqual([]); // not Junk: nothing learned
    for (let i = 0; i < 5; i++) await append(2);
    expect(looked).toEqual([1, 2]);
    expect(learned).toEqual(Array(5).fill('/learnspam')); // each APPEND with $Junk into Junk, as before
  });

  it('reads any other folder each time: a RENAME into "Junk" is seen at the next message', async () => {
    const folders = new Map<number, Folder>([[3, { special_use: null, name: 'Archive' }]]);
    const { learned, looked, append } = setup(folders, '$Junk');
    await append(3);
    expect(learned).toEqual([]);
    folders.set(3, { special_use: null, name: 'junk' });
    await append(3);
    expect(learned).toEqual(['/learnspam']);
    folders.set(3, { special_use: null, name: 'Archive' });
    await append(3);
    expect(learned).toEqual(['/learnspam']);
    expect(looked).toEqual([3, 3, 3]);
  });

  it('forgets a deleted folder: a new folder with its id is looked up', async () => {
    const folders = new Map<number, Folder>([[4, { special_use: '\\Junk', name: 'Junk' }]]);
    const { bus, learned, looked, append } = setup(folders, '$Junk');
    await append(4);
    expect(learned).toEqual(['/learnspam']);
    bus.emit({ kind: 'deleted', folderId: 4 });
    folders.set(4, { special_use: null, name: 'Receipts' });
    await append(4);
    expect(learned).toEqual(['/learnspam']); // no longer Junk
    expect(looked).toEqual([4, 4]);
  });
});
