/** The PROXY protocol header reader (v1 text, v2 binary) and the trusted-peer check. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../appliance/config.js';
import { isTrustedPeer, looksLikeProxyHeader, ProxyProtocolError, proxyPeers, takeHeader } from '../../appliance/net/proxy-protocol.js';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(cmd: number, fam: number, block: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(block.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | cmd, fam]), len, block]);
}

describe('PROXY protocol', () => {
  it('reads a v1 header and leaves the bytes after it', () => {
    const buf = Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 40000 143\r\na1 CAPABILITY\r\n');
    const got = takeHeader(buf)!;
    expect(got.header).toMatchObject({ source: '203.0.113.7', sourcePort: 40000, destination: '192.0.2.1', destinationPort: 143, version: 1 });
    expect(buf.subarray(got.length).toString()).toBe('a1 CAPABILITY\r\n');
    expect(takeHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n'))!.header.source).toBe('2001:db8::7');
    expect(takeHeader(Buffer.from('PROXY UNKNOWN\r\n'))!.header.source).toBeNull();
  });

  it('waits for the rest of a split header', () => {
    expect(takeHeader(Buffer.from('PROXY TCP4 203.0.'))).toBeNull();
    expect(takeHeader(SIG.subarray(0, 10))).toBeNull();
  });

  it('refuses malformed and oversized headers and anything else', () => {
    for (const bad of [
      'PROXY TCP4 999.0.0.1 192.0.2.1 1 2\r\n',
      'PROXY TCP4 203.0.113.7 192.0.2.1 1 70000\r\n',
      'PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n',
      'PROXY TCP4 1.2.3.4\r\n',
      `PROXY TCP4 ${'1'.repeat(120)}`,
      'a1 LOGIN x y\r\n',
    ])
      expect(() => takeHeader(Buffer.from(bad)), bad).toThrow(ProxyProtocolError);
  });

  it('reads v2 headers: IPv4, IPv6, LOCAL', () => {
    const b4 = Buffer.from([203, 0, 113, 9, 192, 0, 2, 1, 0x9c, 0x40, 0, 25]);
    const got = takeHeader(Buffer.concat([v2(1, 0x11, b4), Buffer.from('EHLO x\r\n')]))!;
    expect(got.header).toMatchObject({ source: '203.0.113.9', sourcePort: 40000, destinationPort: 25, version: 2 });
    expect(got.length).toBe(28);
    const b6 = Buffer.alloc(36);
    b6.writeUInt16BE(0x2001, 0);
    b6.writeUInt16BE(0x0db8, 2);
    b6.writeUInt16BE(7, 14);
    expect(takeHeader(v2(1, 0x21, b6))!.header.source).toBe('2001:db8:0:0:0:0:0:7');
    expect(takeHeader(v2(0, 0x00, Buffer.alloc(0)))!.header.source).toBeNull();
    expect(() => takeHeader(v2(1, 0x11, Buffer.alloc(4)))).toThrow(ProxyProtocolError);
  });

  it('recognises the start of a header of either version', () => {
    expect(looksLikeProxyHeader(Buffer.from('PROXY TCP4'))).toBe(true);
    expect(looksLikeProxyHeader(SIG)).toBe(true);
    expect(looksLikeProxyHeader(Buffer.from('a1 LOGIN'))).toBe(false);
  });

  it('trusts exactly the configured networks (IPv4-mapped addresses count as IPv4); off without the setting', () => {
    const config = loadConfig({ POSTERN_DATA_DIR: '/tmp/unused', POSTERN_PROXY_PROTOCOL_FROM: '10.0.0.0/8, 2001:db8::/32, 192.0.2.4' });
    const peers = proxyPeers(config.proxyProtocolFrom)!;
    expect(isTrustedPeer(peers, '10.1.2.3')).toBe(true);
    expect(isTrustedPeer(peers, '::ffff:10.1.2.3')).toBe(true);
    expect(isTrustedPeer(peers, '192.0.2.4')).toBe(true);
    expect(isTrustedPeer(peers, '192.0.2.5')).toBe(false);
    expect(isTrustedPeer(peers, '2001:db8:1::5')).toBe(true);
    expect(isTrustedPeer(peers, '127.0.0.1')).toBe(false);
    expect(proxyPeers(loadConfig({ POSTERN_DATA_DIR: '/tmp/unused' }).proxyProtocolFrom)).toBeNull();
    expect(() => loadConfig({ POSTERN_DATA_DIR: '/tmp/unused', POSTERN_PROXY_PROTOCOL_FROM: 'haproxy.local' })).toThrow(/POSTERN_PROXY_PROTOCOL_FROM/);
  });
});
