/**
 * A loopback DNS server that answers NXDOMAIN to every query, at once. Postern checks SPF, DKIM
 * and DMARC on inbound mail; on a machine without internet those lookups would otherwise wait
 * for resolver time-outs and the benchmark would measure the network, not the server.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface DnsStub {
  address: string;
  queries: number;
  close(): Promise<void>;
}

export async function startDnsStub(): Promise<DnsStub> {
  const sock: Socket = createSocket('udp4');
  const stub = {
    address: '',
    queries: 0,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    stub.queries++;
    const qdcount = msg.readUInt16BE(4);
    // copy the header and the question section; answer with no records
    let end = 12;
    for (let q = 0; q < qdcount && end < msg.length; q++) {
      while (end < msg.length && msg[end] !== 0) end += msg[end]! + 1;
      end += 5; // the root label's zero byte, QTYPE, QCLASS
    }
    const reply = Buffer.from(msg.subarray(0, Math.min(end, msg.length)));
    const rd = msg[2]! & 0x01;
    reply[2] = 0x84 | rd; // QR, AA, RD copied
    reply[3] = 0x80 | 0x03; // RA, NXDOMAIN
    reply.writeUInt16BE(0, 6); // ANCOUNT
    reply.writeUInt16BE(0, 8); // NSCOUNT
    reply.writeUInt16BE(0, 10); // ARCOUNT (drops EDNS)
    sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  stub.address = `127.0.0.1:${sock.address().port}`;
  return stub;
}
