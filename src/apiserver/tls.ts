/**
 * The serving identity: a CA generated at first start and a server certificate it signs, both
 * ECDSA P-256, kept in the data dir. The CA certificate goes into the kubeconfig so kubectl
 * verifies the server as it would a real cluster.
 */
import { webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from '../platform/atomic.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;

export interface ServingCerts {
  caCert: string;
  cert: string;
  key: string;
}

export const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

export async function pemKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

export async function importKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, alg, true, ['sign']);
}

/** Loads the CA from `dir` (creating it on first start) and issues a server cert for `hosts`. */
export async function ensureServingCerts(dir: string, hosts: string[]): Promise<ServingCerts> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caCertPath = join(dir, 'ca.crt');
  const caKeyPath = join(dir, 'ca.key');
  let caCertPem: string;
  let caKey: CryptoKey;
  if (existsSync(caCertPath) && existsSync(caKeyPath)) {
    caCertPem = await readFile(caCertPath, 'utf8');
    caKey = await importKey(await readFile(caKeyPath, 'utf8'));
  } else {
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: 'CN=hikube-ca',
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 10 * YEAR_MS),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caCertPem = ca.toString('pem');
    caKey = keys.privateKey;
    // The key first: a crash before the certificate is written makes the next start begin again.
    await writeFileAtomic(caKeyPath, await pemKey(caKey));
    await writeFileAtomic(caCertPath, caCertPem);
  }
  const ca = new x509.X509Certificate(caCertPem);
  const serverKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const names = [...new Set(['localhost', '127.0.0.1', ...hosts])].map((h) => ({
    type: isIP(h) === 0 ? ('dns' as const) : ('ip' as const),
    value: h,
  }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=hikube-apiserver',
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + YEAR_MS),
    signingKey: caKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return { caCert: caCertPem, cert: cert.toString('pem'), key: await pemKey(serverKeys.privateKey) };
}

export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
