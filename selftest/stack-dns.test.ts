import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { connect, createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import dns2 from 'dns2';
import { DEAD_AAAA, dnsRecordsFor, hasIpv6Loopback, startDns, startNameservers, WRONG_A, type DnsHandle } from '../stack/dns/index.ts';
import { caaPermits, ipv6Kind, resolveA, resolveCaa, resolveHost } from '../helpers/dns.ts';
import type { FaultId } from '../stack/faults.ts';

const { Packet } = dns2;
const HOSTS = { app: 'gadgetbot.stack.test', auth: 'gadgetbot-auth.stack.test', deployer: 'gadgetbot-coolify.stack.test' };

function resolverFor(h: DnsHandle | string): Resolver {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([typeof h === 'string' ? h : h.server]);
  return r;
}

const portOf = (server: string) => Number(server.split(':')[1]);

function query(name: string, type: number): Buffer {
  const q = new Packet();
  q.header.id = Math.floor(Math.random() * 65535);
  q.header.rd = 1;
  q.questions.push({ name, type, class: Packet.CLASS.IN } as never);
  return q.toBuffer();
}

/** One query over TCP (RFC 1035 §4.2.2 length prefix), answered on the same port as UDP. */
function tcpQuery(port: number, name: string, type: number): Promise<InstanceType<typeof Packet>> {
  return new Promise((resolve, reject) => {
    const msg = query(name, type);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    const sock = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    sock.setTimeout(2000, () => sock.destroy(new Error('tcp dns timeout')));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.end();
        resolve(Packet.parse(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    sock.once('error', reject);
    sock.write(Buffer.concat([len, msg]));
  });
}

function udpQuery(port: number, name: string, type: number): Promise<InstanceType<typeof Packet>> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('udp dns timeout'));
    }, 2000);
    s.once('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(Packet.parse(m));
    });
    s.send(query(name, type), port, '127.0.0.1');
  });
}

async function withDns(faults: FaultId[], fn: (h: DnsHandle) => Promise<void>): Promise<void> {
  const h = await startNameservers({ hosts: HOSTS, faults });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

test('healthy: the three names resolve to 127.0.0.1 over UDP (node resolver) and TCP, on one port', async () => {
  await withDns([], async (h) => {
    assert.equal(h.host, '127.0.0.1');
    assert.equal(h.server, `127.0.0.1:${h.port}`);
    const r = resolverFor(h);
    for (const name of Object.values(HOSTS)) {
      assert.deepEqual(await r.resolve4(name), ['127.0.0.1'], name);
      assert.deepEqual(await r.resolve4(name.toUpperCase()), ['127.0.0.1'], 'names are case-insensitive');
      const viaTcp = await tcpQuery(h.port, name, Packet.TYPE.A);
      assert.equal(viaTcp.header.rcode, 0);
      assert.equal(viaTcp.header.aa, 1, 'authoritative');
      assert.deepEqual(viaTcp.answers.map((a) => (a as { address?: string }).address), ['127.0.0.1']);
    }
    const ttl = await r.resolve4(HOSTS.app, { ttl: true });
    assert.equal(ttl[0].ttl, 60);
  });
});

test('AAAA: ::1 for every name with an A record when the machine has IPv6 loopback (else NODATA); other names NXDOMAIN, names outside stack.test REFUSED', async () => {
  await withDns([], async (h) => {
    const r = resolverFor(h);
    if (hasIpv6Loopback()) assert.deepEqual(await r.resolve6(HOSTS.app), ['::1']);
    else await assert.rejects(r.resolve6(HOSTS.app), { code: 'ENODATA' });
    await assert.rejects(r.resolve6('nope.stack.test'), { code: 'ENOTFOUND' });
    // A type the zone does not hold for an existing name: NOERROR, no answer, SOA for negative caching.
    const mx = await udpQuery(h.port, HOSTS.app, Packet.TYPE.MX);
    assert.equal(mx.header.rcode, 0);
    assert.equal(mx.answers.length, 0);
    assert.equal(mx.authorities.length, 1, 'SOA for negative caching');
    await assert.rejects(r.resolve4('nope.stack.test'), { code: 'ENOTFOUND' });
    assert.equal((await tcpQuery(h.port, 'nope.stack.test', Packet.TYPE.A)).header.rcode, 3);
    await assert.rejects(r.resolve4('example.com'), { code: 'EREFUSED' });
    assert.equal((await udpQuery(h.port, 'gadgetbot.vellandi.net', Packet.TYPE.A)).header.rcode, 5);
    assert.equal((await tcpQuery(h.port, 'example.com', Packet.TYPE.A)).header.rcode, 5);
  });
});

test('CAA at the zone apex allows letsencrypt.org; fault dns-caa-forbids-le allows only another CA', async () => {
  await withDns([], async (h) => {
    const caa = await resolverFor(h).resolveCaa('stack.test');
    assert.ok(caa.some((c) => (c as { issue?: string }).issue === 'letsencrypt.org'), JSON.stringify(caa));
    assert.deepEqual(await resolveCaa(HOSTS.app, [h.server]), { name: 'stack.test', records: [{ critical: 0, tag: 'issue', value: 'letsencrypt.org' }, { critical: 0, tag: 'iodef', value: 'mailto:hostmaster@stack.test' }] });
  });
  await withDns(['dns-caa-forbids-le'], async (h) => {
    const set = await resolveCaa(HOSTS.auth, [h.server]);
    assert.deepEqual(caaPermits(set, 'letsencrypt.org'), { ok: false, why: 'CAA at stack.test allows only pki.goog, not letsencrypt.org' });
  });
});

test('fault dns-aaaa-dead: the auth host AAAA is 100::1 on both nameservers, its A stays right', async () => {
  await withDns(['dns-aaaa-dead'], async (h) => {
    for (const server of h.servers) {
      const r = await resolveHost(HOSTS.auth, server);
      assert.deepEqual(r.aaaa.map((x) => x.address), [DEAD_AAAA]);
      assert.deepEqual(r.a.map((x) => x.address), ['127.0.0.1']);
    }
    assert.equal(typeof ipv6Kind(DEAD_AAAA), 'object');
  });
});

test('fault dns-wrong-a: the app host resolves to 127.0.0.3, the others stay right', async () => {
  await withDns(['dns-wrong-a'], async (h) => {
    const r = resolverFor(h);
    assert.equal(WRONG_A, '127.0.0.3');
    assert.deepEqual(await r.resolve4(HOSTS.app), ['127.0.0.3']);
    assert.deepEqual(await r.resolve4(HOSTS.auth), ['127.0.0.1']);
    assert.deepEqual(await r.resolve4(HOSTS.deployer), ['127.0.0.1']);
    const viaTcp = await tcpQuery(h.port, HOSTS.app, Packet.TYPE.A);
    assert.deepEqual(viaTcp.answers.map((a) => (a as { address?: string }).address), ['127.0.0.3']);
  });
});

test('fault dns-missing-auth: the auth host is NXDOMAIN over UDP and TCP, on both nameservers', async () => {
  await withDns(['dns-missing-auth'], async (h) => {
    for (const server of h.servers) {
      const r = resolverFor(server);
      await assert.rejects(r.resolve4(HOSTS.auth), { code: 'ENOTFOUND' });
      assert.equal((await tcpQuery(portOf(server), HOSTS.auth, Packet.TYPE.A)).header.rcode, 3);
      assert.deepEqual(await r.resolve4(HOSTS.app), ['127.0.0.1']);
    }
  });
});

test('two nameservers (ns1 = server, ns2 on its own port) give the same answers over UDP and TCP', async () => {
  await withDns([], async (h) => {
    assert.equal(h.servers.length, 2);
    assert.equal(h.servers[0], h.server, 'ns1 is the server the stack itself uses');
    assert.notEqual(h.servers[1], h.servers[0]);
    assert.deepEqual(h.nameservers.map((n) => n.server), h.servers);
    for (const server of h.servers) {
      assert.match(server, /^127\.0\.0\.1:\d+$/);
      const r = resolverFor(server);
      for (const name of Object.values(HOSTS)) {
        assert.deepEqual(await r.resolve4(name), ['127.0.0.1'], `${name} via ${server}`);
        const viaTcp = await tcpQuery(portOf(server), name, Packet.TYPE.A);
        assert.equal(viaTcp.header.aa, 1);
        assert.deepEqual(viaTcp.answers.map((a) => (a as { address?: string }).address), ['127.0.0.1'], `${name} via ${server}/tcp`);
      }
      await assert.rejects(r.resolve4('nope.stack.test'), { code: 'ENOTFOUND' });
    }
    // The suite's own resolver, asking both as DNS_SERVERS does.
    assert.deepEqual(await resolveA(HOSTS.app, h.servers), ['127.0.0.1']);
  });
});

test('fault dns-secondary-stale: ns2 answers the app host with 127.0.0.3, ns1 with 127.0.0.1; the rest agree', async () => {
  await withDns(['dns-secondary-stale'], async (h) => {
    const [ns1, ns2] = h.servers;
    assert.deepEqual(await resolveA(HOSTS.app, [ns1]), ['127.0.0.1']);
    assert.deepEqual(await resolveA(HOSTS.app, [ns2]), [WRONG_A]);
    assert.deepEqual(await resolverFor(ns2).resolve4(HOSTS.app), ['127.0.0.3']);
    const viaTcp = await tcpQuery(portOf(ns2), HOSTS.app, Packet.TYPE.A);
    assert.deepEqual(viaTcp.answers.map((a) => (a as { address?: string }).address), ['127.0.0.3'], 'stale over TCP too');
    assert.equal(viaTcp.header.aa, 1, 'still authoritative: a stale secondary does not know it is stale');
    for (const name of [HOSTS.auth, HOSTS.deployer]) {
      for (const server of h.servers) assert.deepEqual(await resolveA(name, [server]), ['127.0.0.1'], `${name} via ${server}`);
    }
    // ns1 (what the stack's services use) is right, so the stack itself still works.
    assert.deepEqual(await resolverFor(h).resolve4(HOSTS.app), ['127.0.0.1']);
  });
});

test('fault dns-secondary-missing: ns2 answers NXDOMAIN for the deployer host (A and AAAA), ns1 has it; the rest agree', async () => {
  await withDns(['dns-secondary-missing'], async (h) => {
    const [ns1, ns2] = h.servers;
    assert.deepEqual(await resolveA(HOSTS.deployer, [ns1]), ['127.0.0.1']);
    await assert.rejects(resolveA(HOSTS.deployer, [ns2]), { code: 'ENOTFOUND', message: /NXDOMAIN/ });
    await assert.rejects(resolverFor(ns2).resolve6(HOSTS.deployer), { code: 'ENOTFOUND' }, 'no AAAA either: the name is missing there');
    const tcp = await tcpQuery(portOf(ns2), HOSTS.deployer, Packet.TYPE.A);
    assert.equal(tcp.header.rcode, 3);
    for (const name of [HOSTS.app, HOSTS.auth]) {
      for (const server of h.servers) assert.deepEqual(await resolveA(name, [server]), ['127.0.0.1'], `${name} via ${server}`);
    }
  });
});

test('fault dns-missing-deployer: the deployer host is NXDOMAIN on both nameservers, over UDP and TCP', async () => {
  await withDns(['dns-missing-deployer'], async (h) => {
    for (const server of h.servers) {
      await assert.rejects(resolverFor(server).resolve4(HOSTS.deployer), { code: 'ENOTFOUND' });
      await assert.rejects(resolveA(HOSTS.deployer, [server]), { code: 'ENOTFOUND', message: /NXDOMAIN/ });
      const tcp = await tcpQuery(portOf(server), HOSTS.deployer, Packet.TYPE.A);
      assert.equal(tcp.header.rcode, 3);
      assert.equal(tcp.authorities.length, 1, 'SOA for negative caching');
      assert.equal((await udpQuery(portOf(server), HOSTS.deployer, Packet.TYPE.A)).header.rcode, 3);
      assert.deepEqual(await resolveA(HOSTS.app, [server]), ['127.0.0.1']);
      assert.deepEqual(await resolveA(HOSTS.auth, [server]), ['127.0.0.1']);
    }
  });
});

test('startDns without secondary records: ns2 serves the same records as ns1', async () => {
  const h = await startDns({ records: dnsRecordsFor(HOSTS, ['dns-wrong-a']) });
  try {
    for (const server of h.servers) assert.deepEqual(await resolveA(HOSTS.app, [server]), [WRONG_A]);
  } finally {
    await h.close();
  }
});

/** Binds UDP and TCP on `port` (127.0.0.1) and releases them: proof that nothing holds the port. */
async function assertFree(port: number): Promise<void> {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((r) => udp.close(() => r()));
  const tcp = createServer();
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  await new Promise<void>((r) => tcp.close(() => r()));
}

test('close() frees the UDP and the TCP port of both nameservers; fixed ports are honoured', async () => {
  const h = await startNameservers({ hosts: HOSTS });
  const ports = h.nameservers.map((n) => n.port);
  await h.close();
  await h.close(); // idempotent
  for (const port of ports) await assertFree(port);
  const again = await startDns({ port: ports[0], secondaryPort: ports[1], records: dnsRecordsFor(HOSTS) });
  assert.deepEqual(again.servers, ports.map((p) => `127.0.0.1:${p}`));
  await again.close();
  for (const port of ports) await assertFree(port);
});
