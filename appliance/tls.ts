/**
 * The appliance certificate: the operator's own files when configured, otherwise a self-signed
 * certificate for POSTERN_HOSTNAME generated with node-forge on first boot (and again when the
 * host name changes or the certificate is about to expire).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import forge from 'node-forge';
import type { Config, DataPaths } from './config.js';
import { ConfigError } from './config.js';
import type { Logger } from './logger.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  certFile: string;
  keyFile: string;
  selfSigned: boolean;
}

async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

export function generateSelfSigned(hostname: string, days = 825): { key: string; cert: string } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + days * 86_400_000);
  const attrs = [
    { name: 'commonName', value: hostname },
    { name: 'organizationName', value: 'Postern self-signed' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: hostname },
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
      ],
    },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert) };
}

export async function ensureTls(config: Readonly<Config>, paths: DataPaths, logger: Logger): Promise<TlsMaterial> {
  if (config.tlsCertFile && config.tlsKeyFile) {
    let cert: string;
    let key: string;
    try {
      cert = await readFile(config.tlsCertFile, 'utf8');
      key = await readFile(config.tlsKeyFile, 'utf8');
      new X509Certificate(cert);
    } catch (err) {
      throw new ConfigError('POSTERN_TLS_CERT_FILE', `cannot load the certificate/key (${(err as Error).message})`);
    }
    return { key, cert, certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, selfSigned: false };
  }
  await mkdir(paths.tls, { recursive: true, mode: 0o700 });
  if (existsSync(paths.tlsCert) && existsSync(paths.tlsKey)) {
    const cert = await readFile(paths.tlsCert, 'utf8');
    const key = await readFile(paths.tlsKey, 'utf8');
    const x509 = new X509Certificate(cert);
    const validForDays = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
    if (x509.checkHost(config.hostname) && validForDays > 30) {
      return { key, cert, certFile: paths.tlsCert, keyFile: paths.tlsKey, selfSigned: true };
    }
    logger.info({ event: 'tls.regenerate', hostname: config.hostname, validForDays: Math.floor(validForDays) }, 'regenerating self-signed certificate');
  }
  const { key, cert } = generateSelfSigned(config.hostname);
  await writeAtomic(paths.tlsKey, key, 0o600);
  await writeAtomic(paths.tlsCert, cert, 0o644);
  logger.info({ event: 'tls.generated', hostname: config.hostname, file: path.relative(process.cwd(), paths.tlsCert) }, 'generated self-signed certificate');
  return { key, cert, certFile: paths.tlsCert, keyFile: paths.tlsKey, selfSigned: true };
}
