// helpers/ports.ts against real local sockets, and the embedded stack's network layout: internal services
// bind 127.0.0.2 only, and fault db-port-exposed really makes Postgres answer on the public 127.0.0.1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { exposureRisk, probePort, probePorts } from '../helpers/ports.ts';
import { startStack, type StackHandle } from '../stack/index.ts';

const servers: Server[] = [];
let stack: StackHandle | undefined;
after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await stack?.stop();
});

function listen(host: string): Promise<number> {
  const s = createServer((c) => c.destroy());
  servers.push(s);
  return new Promise((r) => s.listen(0, host, () => r((s.address() as { port: number }).port)));
}

/** A port that was free a moment ago: bound, then released. */
async function freedPort(host: string): Promise<number> {
  const s = createServer();
  const port: number = await new Promise((r) => s.listen(0, host, () => r((s.address() as { port: number }).port)));
  await new Promise((r) => s.close(r));
  return port;
}

test('probePort: open, refused, and bound to another address', async () => {
  const internal = await listen('127.0.0.2');
  const closed = await freedPort('127.0.0.1');
  const open = await probePort('127.0.0.2', internal, 2000);
  assert.equal(open.state, 'open');
  assert.equal((await probePort('127.0.0.1', closed, 2000)).state, 'closed');
  // Bound to the internal address only: the public address refuses.
  const other = await probePort('127.0.0.1', internal, 2000);
  assert.equal(other.state, 'closed');
  assert.equal(other.code, 'ECONNREFUSED');
});

test('probePorts: keeps the order, deduplicates, limits concurrency', async () => {
  const a = await listen('127.0.0.1');
  const b = await freedPort('127.0.0.1');
  const r = await probePorts('127.0.0.1', [a, b, a], 2000, 1);
  assert.deepEqual(r.map((x) => [x.port, x.state]), [[a, 'open'], [b, 'closed']]);
  assert.match(exposureRisk(5432), /database/);
  assert.match(exposureRisk(3000), /app container/);
  assert.match(exposureRisk(4711), /internal network/);
});

test('stack: internal services on 127.0.0.2 only; db-port-exposed opens Postgres on 127.0.0.1', async () => {
  stack = await startStack({ faults: ['db-port-exposed'] });
  const [pg, app, auth] = stack.env.FORBIDDEN_PORTS.split(',').map(Number);
  assert.equal(stack.env.SERVER_ADDRESS, '127.0.0.1');
  for (const port of [pg, app, auth]) assert.equal((await probePort('127.0.0.2', port!, 2000)).state, 'open', `127.0.0.2:${port}`);
  assert.equal((await probePort('127.0.0.1', pg!, 2000)).state, 'open', 'Postgres must answer on 127.0.0.1 under db-port-exposed');
  for (const port of [app, auth]) assert.equal((await probePort('127.0.0.1', port!, 2000)).state, 'closed', `127.0.0.1:${port}`);
  for (const port of stack.env.EXPECTED_OPEN_PORTS.split(',').map(Number)) assert.equal((await probePort('127.0.0.1', port, 2000)).state, 'open');
  await stack.stop();
  assert.equal((await probePort('127.0.0.1', pg!, 2000)).state, 'closed', 'nothing left listening after stop');
});
