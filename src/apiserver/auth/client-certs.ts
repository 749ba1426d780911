/**
 * x509 client certificates, as kube-apiserver takes them: the platform's CA (the one that signs the
 * serving certificate, DATA_DIR/pki) signs a certificate whose subject CN is the user's name and
 * whose O entries are its groups; a connection presenting one that verifies against that CA, is in
 * its validity period and is meant for client authentication is that user, so RBAC bindings to a
 * Group (Cozystack's style) apply. A certificate that does not verify makes the request 401.
 */
import { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { ApiRequest } from '../http.js';
import { alg, importKey, pemKey, randomSerial } from '../tls.js';
import { AUTHENTICATED, type UserInfo } from './user.js';

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

export interface ClientCertRequest {
  user: string;
  groups: readonly string[];
  notBefore: Date;
  notAfter: Date;
}

export interface ClientCert {
  cert: string;
  key: string;
}

/** Signs a client certificate for `req.user` with the CA kept in `pkiDir` (ca.crt, ca.key). */
export async function issueClientCert(pkiDir: string, req: ClientCertRequest): Promise<ClientCert> {
  const [caPem, caKeyPem] = await Promise.all([
    readFile(join(pkiDir, 'ca.crt'), 'utf8'),
    readFile(join(pkiDir, 'ca.key'), 'utf8'),
  ]);
  return signClientCert(caPem, await importKey(caKeyPem), req);
}

/** Signs with a CA given as PEM and key (a test's foreign CA, or the platform's). */
export async function signClientCert(
  caPem: string,
  caKey: webcrypto.CryptoKey,
  req: ClientCertRequest,
): Promise<ClientCert> {
  if (req.user === '') throw new Error('a client certificate needs a user name (its CN)');
  const ca = new x509.X509Certificate(caPem);
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const subject = new x509.Name([{ CN: [req.user] }, ...req.groups.map((g) => ({ O: [g] }))]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: ca.subject,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) };
}

/**
 * The user of a connection's client certificate: none presented gives `undefined`; one presented
 * that the TLS layer could not verify against the CA (foreign, expired, not yet valid) or that is
 * not meant for client authentication (the server's own) gives 'invalid'.
 */
export function certificateUser(req: ApiRequest): UserInfo | 'invalid' | undefined {
  const socket = req.socket as Partial<TLSSocket> | undefined;
  if (typeof socket?.getPeerCertificate !== 'function') return undefined;
  if (byConnection.has(socket)) return byConnection.get(socket);
  const user = readPeer(socket as TLSSocket);
  // TLS 1.3 has no renegotiation: a connection's certificate is the one of its handshake.
  if (socket.getProtocol?.() === 'TLSv1.3') byConnection.set(socket, user);
  return user;
}

/**
 * Each TLS 1.3 connection's answer, read once: reading the peer certificate builds it anew, a
 * cost every request on a kept-alive connection paid again.
 */
const byConnection = new WeakMap<object, UserInfo | 'invalid' | undefined>();

function readPeer(socket: TLSSocket): UserInfo | 'invalid' | undefined {
  const peer = socket.getPeerCertificate();
  if (peer === null || Object.keys(peer).length === 0) return undefined;
  if (socket.authorized !== true) return 'invalid';
  if (!(peer.ext_key_usage ?? []).includes(CLIENT_AUTH_OID)) return 'invalid';
  const cn = first(peer.subject.CN);
  if (cn === undefined || cn === '') return 'invalid';
  const groups = all(peer.subject.O);
  return { username: cn, groups: [...groups, AUTHENTICATED] };
}

type Field = PeerCertificate['subject']['CN'] | string[];
const all = (v: Field): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const first = (v: Field): string | undefined => all(v)[0];
