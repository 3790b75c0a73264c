// The edge's certificates: one TLS context per host name, picked by SNI, and Traefik's default certificate for
// an unknown or absent name. Kept apart from routing so that certificates can be swapped on their own.
import type { ServerOptions } from 'node:https';
import { createPrivateKey } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface TlsIdentity {
  keyPem: string;
  /** Leaf followed by the intermediate. */
  chainPem: string;
}

/** The lowest TLS version the edge accepts: 1.2, or 1.0 under fault tls-legacy-versions (an old `minVersion` in Traefik's TLS options). */
export type MinTls = 'TLSv1.2' | 'TLSv1';
// TLS 1.0/1.1 and SHA-1 or small keys need OpenSSL's security level 0; Traefik (Go) serves such certificates unasked.
const LAX = 'DEFAULT@SECLEVEL=0';

function contextFor(id: TlsIdentity, minVersion: MinTls): SecureContext {
  const base = { key: id.keyPem, cert: id.chainPem, minVersion };
  // OpenSSL silently skips an RSA key under 2048 bits in TLS 1.3 (the default certificate would go out instead).
  const small = (createPrivateKey(id.keyPem).asymmetricKeyDetails?.modulusLength ?? 2048) < 2048;
  if (minVersion === 'TLSv1' || small) return createSecureContext({ ...base, ciphers: LAX });
  try {
    return createSecureContext(base);
  } catch (e) {
    // A certificate OpenSSL finds too weak (SHA-1 signature, small key): serve it anyway, as Traefik would.
    if (!/TOO_WEAK|TOO_SMALL/.test((e as NodeJS.ErrnoException).code ?? '')) throw e;
    return createSecureContext({ ...base, ciphers: LAX });
  }
}

export class CertStore {
  private readonly contexts = new Map<string, SecureContext>();

  constructor(private readonly minVersion: MinTls = 'TLSv1.2') {}

  /** Serves `id` for SNI `name` from the next handshake on; null: that name gets the default certificate. */
  set(name: string, id: TlsIdentity | null): void {
    if (!id) this.contexts.delete(name.toLowerCase());
    else this.contexts.set(name.toLowerCase(), contextFor(id, this.minVersion));
  }

  get(name: string): SecureContext | undefined {
    return this.contexts.get(name.toLowerCase());
  }
}

/** Options of the HTTPS entrypoint: the default certificate, TLS 1.2 at least, HTTP/1.1, SNI from `store`. */
export interface WeakServing {
  /** A SHA-1-signed certificate is served: OpenSSL checks certificates at the entrypoint's security level, so 0. */
  sha1?: boolean;
  /** An RSA key under 2048 bits is served: OpenSSL will not sign a TLS 1.3 handshake with it (it would fall back
   * to the default certificate), so the entrypoint stays at TLS 1.2, as old set-ups with such keys do. */
  smallKey?: boolean;
}

export function httpsOptions(defaultCert: TlsIdentity, store: CertStore, minVersion: MinTls = 'TLSv1.2', weak: WeakServing = {}): ServerOptions {
  return {
    key: defaultCert.keyPem,
    cert: defaultCert.chainPem,
    minVersion,
    ...(minVersion === 'TLSv1' || weak.sha1 ? { ciphers: LAX } : {}),
    ...(weak.smallKey ? { maxVersion: 'TLSv1.2' as const } : {}),
    ALPNProtocols: ['http/1.1'],
    SNICallback(servername, cb) {
      cb(null, store.get(servername));
    },
  };
}
