/**
 * The PROXY protocol (HAProxy, versions 1 and 2) on the receiving side: a load balancer in TCP
 * mode opens each connection with a header naming the client it carries. Only peers listed in
 * POSTERN_PROXY_PROTOCOL_FROM may send one; their connections must start with it (as HAProxy's
 * `send-proxy` does), and the header's source address then stands for the client in throttles,
 * limits, logs and the audit. https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt
 */
import { BlockList, isIP, type Socket } from 'node:net';
import type { Config } from '../config.js';

/** The client the header names; null source: a LOCAL (v2) or UNKNOWN (v1) header (a health check), the peer speaks for itself. */
export interface ProxyHeader {
  source: string | null;
  sourcePort: number | null;
  destination: string | null;
  destinationPort: number | null;
  version: 1 | 2;
}

export class ProxyProtocolError extends Error {}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** A v1 header is at most 107 bytes with its CRLF. */
const V1_MAX = 107;
/** A v2 header: 16 bytes and its address block (TLVs included), at most this much here. */
const V2_MAX = 16 + 1024;

/** The trusted peers as a BlockList, or null when the setting is off. */
export function proxyPeers(list: Config['proxyProtocolFrom']): BlockList | null {
  if (!list) return null;
  const b = new BlockList();
  for (const n of list) b.addSubnet(n.network, n.prefix, n.family);
  return b;
}

/** Whether `address` (an IPv4-mapped IPv6 address counts as IPv4) is one of the trusted peers. */
export function isTrustedPeer(peers: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  if (!family) return false;
  return peers.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether bytes a client sent first are (the start of) a PROXY header of either version. */
export function looksLikeProxyHeader(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, V1_PREFIX.length);
  if (n > 0 && chunk.subarray(0, n).equals(V1_PREFIX.subarray(0, n))) return true;
  const m = Math.min(chunk.length, V2_SIGNATURE.length);
  return m >= 4 && chunk.subarray(0, m).equals(V2_SIGNATURE.subarray(0, m));
}

function port(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new ProxyProtocolError(`invalid port ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Parses a v1 line (without its CRLF). */
export function parseV1(line: string): ProxyHeader {
  const parts = line.split(' ');
  if (parts[0] !== 'PROXY') throw new ProxyProtocolError('not a PROXY header');
  if (parts[1] === 'UNKNOWN') return { source: null, sourcePort: null, destination: null, destinationPort: null, version: 1 };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) throw new ProxyProtocolError('malformed PROXY v1 header');
  const family = parts[1] === 'TCP4' ? 4 : 6;
  const [src, dst] = [parts[2]!, parts[3]!];
  if (isIP(src) !== family || isIP(dst) !== family) throw new ProxyProtocolError(`invalid ${parts[1]} address`);
  return { source: src, sourcePort: port(parts[4]!), destination: dst, destinationPort: port(parts[5]!), version: 1 };
}

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** Parses a whole v2 header (signature, 4 fixed bytes and the address block). */
export function parseV2(h: Buffer): ProxyHeader {
  const verCmd = h[12]!;
  if (verCmd >> 4 !== 2) throw new ProxyProtocolError('unsupported PROXY v2 version');
  const cmd = verCmd & 0x0f;
  const none: ProxyHeader = { source: null, sourcePort: null, destination: null, destinationPort: null, version: 2 };
  if (cmd === 0) return none; // LOCAL: the proxy's own connection (health check)
  if (cmd !== 1) throw new ProxyProtocolError('unsupported PROXY v2 command');
  const fam = h[13]!;
  const body = h.subarray(16);
  if (fam === 0x11 || fam === 0x12) {
    if (body.length < 12) throw new ProxyProtocolError('short PROXY v2 IPv4 block');
    const ip = (o: number) => `${body[o]}.${body[o + 1]}.${body[o + 2]}.${body[o + 3]}`;
    return { source: ip(0), destination: ip(4), sourcePort: body.readUInt16BE(8), destinationPort: body.readUInt16BE(10), version: 2 };
  }
  if (fam === 0x21 || fam === 0x22) {
    if (body.length < 36) throw new ProxyProtocolError('short PROXY v2 IPv6 block');
    return { source: ipv6(body.subarray(0, 16)), destination: ipv6(body.subarray(16, 32)), sourcePort: body.readUInt16BE(32), destinationPort: body.readUInt16BE(34), version: 2 };
  }
  if ((fam & 0xf0) === 0) return none; // AF_UNSPEC
  throw new ProxyProtocolError('unsupported PROXY v2 address family');
}

/**
 * How much of `buf` the header takes, the header itself, or null while more bytes are needed.
 * Throws on anything that is not a PROXY header.
 */
export function takeHeader(buf: Buffer): { header: ProxyHeader; length: number } | null {
  if (!looksLikeProxyHeader(buf)) throw new ProxyProtocolError('connection did not start with a PROXY header');
  if (buf[0] === V1_PREFIX[0]) {
    const end = buf.indexOf('\r\n');
    if (end < 0) {
      if (buf.length >= V1_MAX) throw new ProxyProtocolError('PROXY v1 header too long');
      return null;
    }
    if (end + 2 > V1_MAX) throw new ProxyProtocolError('PROXY v1 header too long');
    return { header: parseV1(buf.subarray(0, end).toString('latin1')), length: end + 2 };
  }
  if (buf.length < 16) return null;
  const total = 16 + buf.readUInt16BE(14);
  if (total > V2_MAX) throw new ProxyProtocolError('PROXY v2 header too long');
  if (buf.length < total) return null;
  return { header: parseV2(buf.subarray(0, total)), length: total };
}

/**
 * Reads the PROXY header a trusted peer opens its connection with and leaves the bytes after it
 * in the socket (paused: the caller resumes it once its reader is attached, or wraps it in TLS).
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (err: Error | null, header?: ProxyHeader, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onEnd);
      socket.off('end', onEnd);
      socket.pause();
      if (err) return reject(err);
      if (rest?.length) socket.unshift(rest);
      resolve(header!);
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      try {
        const got = takeHeader(buf);
        if (got) done(null, got.header, buf.subarray(got.length));
      } catch (err) {
        done(err as Error);
      }
    };
    const onEnd = () => done(new ProxyProtocolError('connection closed before its PROXY header'));
    const timer = setTimeout(() => done(new ProxyProtocolError('no PROXY header in time')), timeoutMs);
    socket.on('data', onData);
    socket.on('error', onEnd);
    socket.on('end', onEnd);
  });
}
