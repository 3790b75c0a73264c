// A client of the embedded stack as the suite is one: names resolved only through the stack's nameservers,
// TLS trusted only through the run's CA. Shared by the stack's self-tests.
import { readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { Agent } from 'undici';

/** A client that resolves only through the stack's nameservers and trusts only the run's CA, as the suite. */
export function clientFor(env: Record<string, string>): Agent {
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers(env.DNS_SERVERS.split(','));
  return new Agent({
    connect: {
      ca: readFileSync(env.CA_FILE, 'utf8'),
      lookup: (hostname, _opts, cb) => {
        resolver.resolve4(hostname).then(
          (a) => (cb as (e: null, addrs: { address: string; family: number }[]) => void)(null, a.map((address) => ({ address, family: 4 }))),
          (e: Error) => cb(e, '', 4),
        );
      },
    },
  });
}
