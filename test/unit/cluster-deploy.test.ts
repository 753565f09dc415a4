/**
 * The cluster example (compose.cluster.yaml, deploy/haproxy.cfg): HAProxy itself accepts the
 * configuration (`haproxy -c`), every mail port carries the PROXY header, and the compose file's
 * nodes agree on the settings the README names (Docker is not available to run it here).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../appliance/config.js';

const ROOT = path.resolve(__dirname, '..', '..');

/** Compose's `${NAME:-default}` with nothing set: the defaults, innermost first. */
function defaults(v: string): string {
  for (let prev = ''; prev !== v;) [prev, v] = [v, v.replace(/\$\{[A-Z_]+:-([^${}]*)\}/g, '$1')];
  return v;
}

describe('cluster deployment example', () => {
  it('haproxy -c accepts deploy/haproxy.cfg; every mail listener sends the PROXY header to both nodes', () => {
    const cfg = path.join(ROOT, 'deploy', 'haproxy.cfg');
    const out = execFileSync('haproxy', ['-c', '-f', cfg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('Configuration file is valid');
    const text = readFileSync(cfg, 'utf8');
    for (const [name, port] of [
      ['smtp', 2525],
      ['submission', 2587],
      ['submissions', 2465],
      ['imap', 2143],
      ['imaps', 2993],
    ] as const) {
      const block = new RegExp(`listen ${name}\\n([\\s\\S]*?)(?=\\n\\S|\\n*$)`).exec(text)?.[1] ?? '';
      for (const node of ['postern-1', 'postern-2']) expect(block, name).toContain(`server ${node} ${node}:${port} send-proxy`);
    }
  });

  it('compose.cluster.yaml: two nodes with the same shared engines, distinct node ids, PROXY trusted from HAProxy only', () => {
    const doc = parse(readFileSync(path.join(ROOT, 'compose.cluster.yaml'), 'utf8'), { merge: true });
    const nodes = ['postern-1', 'postern-2'].map((n) => doc.services[n].environment as Record<string, string>);
    const haproxyIp = doc.services.haproxy.networks.backend.ipv4_address;
    for (const env of nodes) {
      // The settings load as the appliance would read them (the compose defaults filled in).
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, defaults(String(v))]));
      const config = loadConfig({ ...resolved, POSTERN_DATA_DIR: '/tmp/unused' });
      expect(config.storage.databaseUrl).toMatch(/^postgres:\/\/postern:.*@postgres:5432\/postern$/);
      expect(config.storage.blobStore).toBe('s3');
      expect(config.proxyProtocolFrom).toEqual([{ network: haproxyIp, prefix: 32, family: 'ipv4' }]);
    }
    expect(nodes[0]!.POSTERN_NODE_ID).not.toBe(nodes[1]!.POSTERN_NODE_ID);
    expect(doc.services.postgres.image).toBe('postgres:15');
  });
});
