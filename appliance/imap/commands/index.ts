/** The command table: name → module (one file per command, as WildDuck's imap-core does). */
import { deleteacl, getacl, listrights, myrights, setacl } from './acl.js';
import { append } from './append.js';
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { compress } from './compress.js';
import { copy, move, uidCopy, uidMove } from './copy.js';
import { create } from './create.js';
import { del } from './delete.js';
import { enable } from './enable.js';
import { expunge, uidExpunge } from './expunge.js';
import { fetch, uidFetch } from './fetch.js';
import { id } from './id.js';
import { idle } from './idle.js';
import { listCommand, lsub } from './list.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { namespace } from './namespace.js';
import { notify } from './notify.js';
import { check, noop } from './noop.js';
import { getquota, getquotaroot, setquota } from './quota.js';
import { rename } from './rename.js';
import { cancelUpdate, search, uidSearch } from './search.js';
import { sort, thread, uidSort, uidThread } from './sort.js';
import { close, examine, select, unselect } from './select.js';
import { starttls } from './starttls.js';
import { status } from './status.js';
import { store, uidStore } from './store.js';
import { subscribe, unsubscribe } from './subscribe.js';
import type { CommandSpec } from './types.js';

export type { CommandSpec, SessionState } from './types.js';

export const COMMANDS: Readonly<Record<string, CommandSpec>> = Object.freeze({
  CAPABILITY: capability,
  NOOP: noop,
  LOGOUT: logout,
  STARTTLS: starttls,
  LOGIN: login,
  AUTHENTICATE: authenticate,
  ID: id,
  ENABLE: enable,
  COMPRESS: compress,
  NAMESPACE: namespace,
  NOTIFY: notify,
  SELECT: select,
  EXAMINE: examine,
  CREATE: create,
  DELETE: del,
  RENAME: rename,
  SUBSCRIBE: subscribe,
  UNSUBSCRIBE: unsubscribe,
  LIST: listCommand,
  LSUB: lsub,
  STATUS: status,
  APPEND: append,
  IDLE: idle,
  GETQUOTA: getquota,
  GETQUOTAROOT: getquotaroot,
  SETQUOTA: setquota,
  CHECK: check,
  CLOSE: close,
  UNSELECT: unselect,
  EXPUNGE: expunge,
  SEARCH: search,
  CANCELUPDATE: cancelUpdate,
  SORT: sort,
  THREAD: thread,
  FETCH: fetch,
  STORE: store,
  COPY: copy,
  MOVE: move,
  'UID FETCH': uidFetch,
  'UID SEARCH': uidSearch,
  'UID SORT': uidSort,
  'UID THREAD': uidThread,
  'UID STORE': uidStore,
  'UID COPY': uidCopy,
  'UID MOVE': uidMove,
  'UID EXPUNGE': uidExpunge,
  GETACL: getacl,
  SETACL: setacl,
  DELETEACL: deleteacl,
  LISTRIGHTS: listrights,
  MYRIGHTS: myrights,
});
