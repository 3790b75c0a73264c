// Outbound HTTP for the app: the issuer is called by its public name, resolved through the stack's DNS
// server (never the system resolver) and verified against the run's CA only — as the real container
// reaches Zitadel through public DNS and Let's Encrypt roots.
import { Resolver } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch, setGlobalDispatcher } from 'undici';

export function dnsLookup(server: string, timeoutMs = 2000): LookupFunction {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  resolver.setServers([server]);
  const lookup = (hostname: string, options: unknown, callback: (...args: unknown[]) => void): void => {
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    const answer = (address: string, family: number) =>
      all ? callback(null, [{ address, family }]) : callback(null, address, family);
    const family = isIP(hostname);
    if (family) return answer(hostname, family);
    resolver.resolve4(hostname, (err, addresses) => {
      if (err || addresses.length === 0) {
        const e = Object.assign(new Error(`DNS lookup of ${hostname} via ${server} failed: ${err?.code ?? 'ENOTFOUND'}`), {
          code: err?.code ?? 'ENOTFOUND',
          hostname,
        });
        return callback(e);
      }
      answer(addresses[0]!, 4);
    });
  };
  return lookup as unknown as LookupFunction;
}

export interface OutboundConfig {
  dnsServer?: string; // host:port
  caFile?: string;
}

/** Installs the dispatcher globally and makes `globalThis.fetch` undici's, so Better Auth and jose use it. */
export function installOutbound(cfg: OutboundConfig): Agent {
  const agent = new Agent({
    connect: {
      ...(cfg.dnsServer ? { lookup: dnsLookup(cfg.dnsServer) } : {}),
      ...(cfg.caFile ? { ca: readFileSync(cfg.caFile, 'utf8') } : {}),
      timeout: 5000,
    },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  setGlobalDispatcher(agent);
  globalThis.fetch = ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher: agent })) as unknown as typeof globalThis.fetch;
  return agent;
}
