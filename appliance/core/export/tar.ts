/**
 * A streaming tar writer (POSIX ustar, with a PAX extended header for names longer than ustar
 * holds or not ASCII). Entries are written one after another as header + data + padding; nothing
 * but the current entry is ever held in memory.
 */
const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mtimeSec: number, type: '0' | '5' | 'x', mode: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.max(0, Math.floor(mtimeSec)), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function pad(size: number): Buffer {
  const rest = size % BLOCK;
  return rest ? ZEROS.subarray(0, BLOCK - rest) : Buffer.alloc(0);
}

/** A PAX record "<len> path=<value>\n" (len counts itself). */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

/** The blocks that start an entry: a PAX header when the name needs one, then the ustar header. */
function entryHead(name: string, size: number, mtimeMs: number, type: '0' | '5'): Buffer[] {
  const mtime = mtimeMs / 1000;
  const mode = type === '5' ? 0o755 : 0o644;
  if (Buffer.byteLength(name) < 100 && /^[\x20-\x7e]*$/.test(name)) return [header(name, size, mtime, type, mode)];
  const pax = paxRecord('path', name);
  const short = `PaxHeaders/${Buffer.from(name).toString('hex').slice(0, 80)}`;
  return [header(short, pax.length, mtime, 'x', 0o644), pax, pad(pax.length), header(short.slice(0, 99), size, mtime, type, mode)];
}

/** The header blocks of a file entry whose `size` bytes the caller streams next, then `tarPad(size)`. */
export function tarFileHead(name: string, size: number, mtimeMs: number): Buffer[] {
  return entryHead(name, size, mtimeMs, '0');
}

/** The zero padding after `size` bytes of file data. */
export function tarPad(size: number): Buffer {
  return pad(size);
}

/** A file entry: header, the bytes, the padding to the next block. */
export function tarFile(name: string, data: Buffer, mtimeMs: number): Buffer[] {
  return [...entryHead(name, data.length, mtimeMs, '0'), data, pad(data.length)];
}

/** A directory entry (name without trailing slash). */
export function tarDir(name: string, mtimeMs: number): Buffer[] {
  return entryHead(`${name}/`, 0, mtimeMs, '5');
}

/** The end of the archive: two zero blocks. */
export function tarEnd(): Buffer {
  return ZEROS;
}
