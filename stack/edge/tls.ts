// The edge's certificates: one TLS context per host name, picked by SNI, and Traefik's default certificate for
// an unknown or absent name. Kept apart from routing so that certificates can be swapped on their own.
import type { ServerOptions } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface TlsIdentity {
  keyPem: string;
  /** Leaf followed by the intermediate. */
  chainPem: string;
}

export class CertStore {
  private readonly contexts = new Map<string, SecureContext>();

  /** Serves `id` for SNI `name` from the next handshake on; null: that name gets the default certificate. */
  set(name: string, id: TlsIdentity | null): void {
    if (!id) this.contexts.delete(name.toLowerCase());
    else this.contexts.set(name.toLowerCase(), createSecureContext({ key: id.keyPem, cert: id.chainPem, minVersion: 'TLSv1.2' }));
  }

  get(name: string): SecureContext | undefined {
    return this.contexts.get(name.toLowerCase());
  }
}

/** Options of the HTTPS entrypoint: the default certificate, TLS 1.2 at least, HTTP/1.1, SNI from `store`. */
export function httpsOptions(defaultCert: TlsIdentity, store: CertStore): ServerOptions {
  return {
    key: defaultCert.keyPem,
    cert: defaultCert.chainPem,
    minVersion: 'TLSv1.2',
    ALPNProtocols: ['http/1.1'],
    SNICallback(servername, cb) {
      cb(null, store.get(servername));
    },
  };
}
