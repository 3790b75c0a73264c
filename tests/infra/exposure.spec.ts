// Exposure from outside: on the server's public address only the edge (and the operator's own ports) may
// answer; the database, the app container and Zitadel must stay on the Docker network. Only the configured
// ports are tried, each with one bounded connect.
import { expectNone } from '../../fixtures/observed.ts';
import { test } from '../../fixtures/test.ts';
import { label } from '../../helpers/labels.ts';
import { exposureRisk, probePorts } from '../../helpers/ports.ts';
import { attachJson, note } from './common.ts';

const TIMEOUT_MS = 2500;

test.describe('Exposure', () => {
  test('forbidden ports (database, app, Zitadel) do not answer on the server address', async ({ target: t }, info) => {
    const host = t.exposure.serverAddress;
    test.skip(!host, 'SERVER_ADDRESS not set: the exposure check needs the server address');
    test.skip(t.exposure.forbiddenPorts.length === 0, 'FORBIDDEN_PORTS is empty');
    await label({ feature: 'Exposure', story: 'internal ports closed from outside', severity: 'critical', parameters: { host: host! } });
    const probes = await test.step(`TCP connect to ${host} ports ${t.exposure.forbiddenPorts.join(', ')}`, () => probePorts(host!, t.exposure.forbiddenPorts, TIMEOUT_MS));
    await attachJson(info, 'forbidden-ports.json', probes);
    const problems: string[] = [];
    for (const p of probes) {
      if (p.state === 'open') problems.push(`forbidden port ${p.port} is open on ${host} (it accepted a TCP connection): ${exposureRisk(p.port)}`);
      else note(info, 'closed', `${host}:${p.port} ${p.state === 'closed' ? 'refused' : `no answer within ${TIMEOUT_MS} ms (filtered)`}`);
    }
    await expectNone(`no forbidden port (${t.exposure.forbiddenPorts.join(', ')}) accepts connections on ${host}`, problems);
  });

  test('expected ports answer on the server address', async ({ target: t }, info) => {
    const host = t.exposure.serverAddress;
    test.skip(!host, 'SERVER_ADDRESS not set: the exposure check needs the server address');
    test.skip(t.exposure.expectedOpenPorts.length === 0, 'EXPECTED_OPEN_PORTS not set');
    await label({ feature: 'Exposure', story: 'expected ports open', severity: 'normal', parameters: { host: host! } });
    const probes = await test.step(`TCP connect to ${host} ports ${t.exposure.expectedOpenPorts.join(', ')}`, () => probePorts(host!, t.exposure.expectedOpenPorts, TIMEOUT_MS));
    await attachJson(info, 'expected-ports.json', probes);
    const problems = probes.filter((p) => p.state !== 'open').map((p) => p.state === 'closed'
      ? `expected port ${p.port} on ${host}: connection refused (nothing listens there)`
      : `expected port ${p.port} on ${host}: no answer within ${TIMEOUT_MS} ms (a firewall drops it, or the host is unreachable: ${p.code ?? 'timed out'})`);
    await expectNone(`every expected port (${t.exposure.expectedOpenPorts.join(', ')}) accepts connections on ${host}`, problems);
  });
});
