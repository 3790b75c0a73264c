// The availability probe against real local HTTP servers (switched off and on at known times), and the outage
// arithmetic on hand-built sample arrays.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { outages, startProbe, summarize, summarizeEndpoint, samplesBetween, markT, describeSummary, type Sample } from '../helpers/probe.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler, port = 0): Promise<Server> {
  const s = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
  return s;
}
async function shut(s: Server) {
  s.closeAllConnections();
  await new Promise<void>((r) => s.close(() => r()));
}
const portOf = (s: Server) => (s.address() as AddressInfo).port;
const until = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('probe against real servers', () => {
  test('finds an outage of a server switched off and on, boundaries within a few probe intervals', async () => {
    const ok: Handler = (_q, r) => { r.writeHead(200, { 'content-type': 'text/plain' }); r.end('up'); };
    let server = await listen(ok);
    const port = portOf(server);
    const agent = new Agent({ connect: { timeout: 1000 } });
    const probe = startProbe({
      endpoints: [{ name: 'root', url: `http://127.0.0.1:${port}/`, ok: (s, b) => s === 200 && b === 'up' }],
      intervalMs: 100, dispatcher: agent, timeoutMs: 1000,
    });
    try {
      await until(500);
      const offT = probe.mark('off');
      await shut(server);
      await until(900);
      server = await listen(ok, port); // same port: nothing else had time to take it
      const onT = probe.mark('on');
      await until(500);
      const r = await probe.stop();
      const os = outages(r.samples, 'root');
      assert.equal(os.length, 1, describeSummary(summarizeEndpoint(r.samples, 'root')));
      const o = os[0];
      // Timers run late on a loaded machine, never early: the upper bounds allow a few 100 ms intervals.
      assert.ok(o.start <= offT && offT - o.start <= 400, `outage start ${o.start} vs switch-off ${offT}`);
      assert.ok(o.end >= onT && o.end - onT <= 400, `outage end ${o.end} vs switch-on ${onT}`);
      assert.ok(o.durationMs >= onT - offT, `duration ${o.durationMs} shorter than the real ${onT - offT}`);
      assert.ok(o.failedCount >= 4, `only ${o.failedCount} failed samples in 900 ms at 100 ms`);
      assert.match(o.firstError ?? '', /refused|reset|closed/i);
      assert.equal(o.openStart, false);
      assert.equal(o.openEnd, false);
      assert.deepEqual(r.marks.map((m) => m.label), ['off', 'on']);
      assert.equal(markT(r, 'on'), onT);
      assert.equal(r.stoppedBy, 'stop');
    } finally {
      await probe.stop();
      await shut(server).catch(() => undefined);
      await agent.close();
    }
  });

  test('no outage against a healthy server; each endpoint on its own schedule; judge sees status and body', async () => {
    const server = await listen((q, r) => {
      if (q.url === '/session') {
        r.writeHead(200, { 'content-type': 'application/json' });
        r.end(q.headers.cookie === 'sid=abcdef123456' ? '{"session":{"id":"s1"}}' : 'null');
      } else { r.writeHead(200); r.end('home'); }
    });
    const agent = new Agent();
    const base = `http://127.0.0.1:${portOf(server)}`;
    const probe = startProbe({
      endpoints: [
        { name: 'home', url: `${base}/`, ok: (s) => s === 200 },
        { name: 'session', url: `${base}/session`, cookie: 'sid=abcdef123456', ok: (s, b) => s === 200 && JSON.parse(b)?.session?.id === 's1' },
        { name: 'session-anon', url: `${base}/session`, ok: (s, b) => s === 200 && JSON.parse(b)?.session?.id === 's1' },
      ],
      intervalMs: 150, dispatcher: agent,
    });
    try {
      await until(1200);
      const r = await probe.stop();
      const [home, session, anon] = summarize(r);
      for (const s of [home, session]) {
        assert.equal(s.outages.length, 0, describeSummary(s));
        // Bounds wide enough for a loaded machine (timers run late, never early): a probe that skipped ticks or
        // waited for the other endpoints would fall outside them.
        assert.ok(s.samples >= 5 && s.samples <= 10, `${s.endpoint}: ${s.samples} samples in 1.2 s at 150 ms`);
        assert.ok(s.longestGapMs < 3 * 150, `${s.endpoint}: gap ${s.longestGapMs} ms at a 150 ms interval`);
      }
      // Without the cookie the judge says no: the whole record is one outage, open at both ends.
      assert.equal(anon.failed, anon.samples);
      assert.equal(anon.outages.length, 1);
      assert.equal(anon.outages[0].openStart && anon.outages[0].openEnd, true);
      assert.equal(anon.outages[0].firstError, 'HTTP 200 judged not ok');
      assert.ok(r.samples.every((s, i) => i === 0 || r.samples[i - 1].t <= s.t), 'samples ordered by t');
    } finally {
      await probe.stop();
      await shut(server);
      await agent.close();
    }
  });

  test('never more than one request in flight per endpoint; a hanging endpoint is recorded as time-out', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const server = await listen((q, r) => {
      if (q.url === '/hang') return; // never answers; closed by shut()
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => { inFlight--; r.writeHead(200); r.end('slow'); }, 300);
    });
    const agent = new Agent();
    const base = `http://127.0.0.1:${portOf(server)}`;
    const probe = startProbe({
      endpoints: [
        { name: 'slow', url: `${base}/slow`, ok: (s) => s === 200 },
        { name: 'hang', url: `${base}/hang`, ok: (s) => s === 200 },
      ],
      // The time-out is far above the slow answer (300 ms), so a loaded machine cannot turn one into the other.
      intervalMs: 100, dispatcher: agent, timeoutMs: 1000,
    });
    try {
      await until(2600);
      const r = await probe.stop();
      assert.equal(maxInFlight, 1, 'two requests to the same endpoint overlapped');
      const slow = r.samples.filter((s) => s.endpoint === 'slow');
      assert.ok(slow.length >= 3 && slow.length <= 9, `${slow.length} slow samples in 2.6 s at 300 ms each`);
      for (let i = 1; i < slow.length; i++) assert.ok(slow[i].t - slow[i - 1].t >= 295, 'next request only after the previous answer');
      assert.ok(slow.every((s) => s.ok && s.latencyMs >= 290), `slow samples: ${JSON.stringify(slow)}`);
      const hang = r.samples.filter((s) => s.endpoint === 'hang');
      assert.ok(hang.length >= 2, `${hang.length} hang samples`);
      assert.ok(hang.every((s) => !s.ok && s.error === 'timeout after 1000 ms'), JSON.stringify(hang));
    } finally {
      await probe.stop();
      await shut(server);
      await agent.close();
    }
  });

  test('stops itself after maxDurationMs; secrets stay out of recorded errors', async () => {
    const cookie = 'better-auth.session_token=SECRETSESSIONVALUE42';
    const server = await listen((_q, r) => { r.writeHead(200); r.end('x'); });
    const agent = new Agent();
    const probe = startProbe({
      endpoints: [{
        name: 'leaky', url: `http://127.0.0.1:${portOf(server)}/`, cookie,
        ok: () => { throw new Error(`judge saw ${cookie} and tok3n-XYZ-secret`); },
      }],
      intervalMs: 100, dispatcher: agent, maxDurationMs: 350, secrets: ['tok3n-XYZ-secret'],
    });
    try {
      await until(700);
      const r = await probe.stop();
      assert.equal(r.stoppedBy, 'max-duration');
      assert.ok(r.durationMs >= 340 && r.durationMs < 700, `durationMs ${r.durationMs} (stop() came at 700 ms)`);
      assert.ok(r.samples.length >= 2 && r.samples.every((s) => s.t <= r.durationMs), `samples after the end: ${JSON.stringify(r.samples)}`);
      const text = JSON.stringify(r);
      assert.ok(!text.includes('SECRETSESSIONVALUE42') && !text.includes('tok3n-XYZ-secret'), text);
      assert.match(r.samples[0].error ?? '', /^check threw: judge saw \[redacted\]/);
      assert.equal(await probe.stop(), r, 'stop() is idempotent');
    } finally {
      await probe.stop();
      await shut(server);
      await agent.close();
    }
  });

  test('a 429 is the probe being throttled: honoured Retry-After, not counted as an outage', async () => {
    let n = 0;
    const server = await listen((_q, r) => {
      n++;
      if (n === 3) { r.writeHead(429, { 'retry-after': '1' }); r.end('{"message":"Too many requests. Please try again later."}'); return; }
      r.writeHead(200); r.end('ok');
    });
    const agent = new Agent();
    const probe = startProbe({ endpoints: [{ name: 'limited', url: `http://127.0.0.1:${portOf(server)}/`, ok: (s) => s === 200 }], intervalMs: 100, dispatcher: agent });
    try {
      await until(1700);
      const r = await probe.stop();
      const i = r.samples.findIndex((s) => s.throttled);
      assert.equal(i, 2, JSON.stringify(r.samples));
      assert.equal(r.samples[i].ok, false);
      assert.equal(r.samples[i].error, 'HTTP 429 rate limited (Retry-After 1 s)');
      assert.ok(r.samples[i + 1].t - r.samples[i].t >= 990, `next request ${r.samples[i + 1].t - r.samples[i].t} ms after the 429`);
      assert.deepEqual(outages(r.samples, 'limited'), []);
      const s = summarizeEndpoint(r.samples, 'limited');
      assert.deepEqual([s.failed, s.throttled], [0, 1]);
      assert.ok(s.longestGapMs >= 990, 'the throttled pause shows as a gap');
      assert.match(describeSummary(s), /1 throttled \(429, not counted\), no outage/);
    } finally {
      await probe.stop();
      await shut(server);
      await agent.close();
    }
  });

  test('rejects bad options', () => {
    const ep = { name: 'a', url: 'http://127.0.0.1:9/', ok: () => true };
    assert.throws(() => startProbe({ endpoints: [ep], intervalMs: 50 }), RangeError);
    assert.throws(() => startProbe({ endpoints: [ep], intervalMs: 300 }), RangeError);
    assert.throws(() => startProbe({ endpoints: [] }), RangeError);
    assert.throws(() => startProbe({ endpoints: [ep, ep] }), /used twice/);
  });
});

// ---------------------------------------------------------------- arithmetic

/** Builds samples from a pattern such as "++--+": one char per step of `step` ms, '+' ok, '-' failed. */
function pattern(endpoint: string, p: string, step = 200, offset = 0): Sample[] {
  return [...p].map((c, i) => ({
    endpoint, t: offset + i * step, latencyMs: 5, ok: c === '+',
    ...(c === '+' ? { status: 200 } : { status: i % 2 ? 502 : 503, error: `HTTP ${i % 2 ? 502 : 503} judged not ok` }),
  }));
}

describe('outage arithmetic', () => {
  test('healthy and empty records have no outage', () => {
    assert.deepEqual(outages(pattern('a', '+++++'), 'a'), []);
    assert.deepEqual(outages([], 'a'), []);
    const s = summarizeEndpoint([], 'a');
    assert.deepEqual([s.samples, s.failed, s.totalDowntimeMs, s.longestOutageMs, s.longestGapMs], [0, 0, 0, 0, 0]);
  });

  test('outage in the middle spans last good before to first good after', () => {
    const [o, ...rest] = outages(pattern('a', '++---++'), 'a');
    assert.equal(rest.length, 0);
    assert.deepEqual(
      [o.start, o.end, o.durationMs, o.lowerBoundMs, o.failedCount, o.firstFailedT, o.lastFailedT, o.openStart, o.openEnd],
      [200, 1000, 800, 400, 3, 400, 800, false, false]);
    assert.equal(o.firstError, 'HTTP 503 judged not ok');
    assert.equal(o.lastError, 'HTTP 503 judged not ok');
  });

  test('outage at the start and at the end are open on that side', () => {
    const [atStart] = outages(pattern('a', '--+++'), 'a');
    assert.deepEqual([atStart.start, atStart.end, atStart.durationMs, atStart.openStart, atStart.openEnd], [0, 400, 400, true, false]);
    const [atEnd] = outages(pattern('a', '+++--'), 'a');
    assert.deepEqual([atEnd.start, atEnd.end, atEnd.durationMs, atEnd.openStart, atEnd.openEnd], [400, 800, 400, false, true]);
    const [all] = outages(pattern('a', '---'), 'a');
    assert.deepEqual([all.start, all.end, all.durationMs, all.failedCount, all.openStart, all.openEnd], [0, 400, 400, 3, true, true]);
  });

  test('a single failed sample is an outage of its neighbours\' gap', () => {
    const os = outages(pattern('a', '+++-+++'), 'a');
    assert.equal(os.length, 1);
    assert.deepEqual([os[0].start, os[0].end, os[0].durationMs, os[0].lowerBoundMs, os[0].failedCount], [400, 800, 400, 0, 1]);
    assert.equal(os[0].firstError, 'HTTP 502 judged not ok');
    const lone = outages(pattern('a', '-'), 'a');
    assert.deepEqual([lone[0].durationMs, lone[0].openStart, lone[0].openEnd], [0, true, true]);
  });

  test('several endpoints interleaved and unsorted are kept apart; totals and longest gap', () => {
    const a = pattern('a', '+--+-+', 200, 0);
    const b = pattern('b', '++++++', 200, 100);
    b.splice(3, 1); // a missing sample: gap 400 ms between t=500 and t=900
    const mixed = [...a, ...b].sort(() => 0.5 - Math.random());
    const oa = outages(mixed, 'a');
    assert.deepEqual(oa.map((o) => [o.start, o.end, o.failedCount]), [[0, 600, 2], [600, 1000, 1]]);
    assert.deepEqual(outages(mixed, 'b'), []);
    const [sa, sb] = summarize({ endpoints: ['a', 'b'], samples: mixed });
    assert.deepEqual([sa.samples, sa.failed, sa.outages.length, sa.totalDowntimeMs, sa.longestOutageMs, sa.longestGapMs], [6, 3, 2, 1000, 600, 200]);
    assert.deepEqual([sb.samples, sb.failed, sb.totalDowntimeMs, sb.longestGapMs], [5, 0, 0, 400]);
    assert.equal(samplesBetween(mixed, 'a', 200, 600).length, 3);
    assert.match(describeSummary(sa), /^a: 3\/6 failed, 2 outage\(s\), total 1000 ms, longest 600 ms/);
    assert.match(describeSummary(sb), /^b: 5 samples, no outage/);
  });

  test('throttled samples neither end nor split an outage', () => {
    const thr = (t: number): Sample => ({ endpoint: 'a', t, latencyMs: 1, ok: false, status: 429, throttled: true });
    const up = pattern('a', '++', 200, 0);
    assert.deepEqual(outages([...up, thr(400), ...pattern('a', '+', 200, 600)], 'a'), []);
    const [o, ...more] = outages([...pattern('a', '+-', 200, 0), thr(400), ...pattern('a', '-+', 200, 600)], 'a');
    assert.equal(more.length, 0);
    assert.deepEqual([o.start, o.end, o.failedCount], [0, 800, 2]);
  });

  test('failures without error text are described by their status or as failed', () => {
    const s: Sample[] = [
      { endpoint: 'x', t: 0, latencyMs: 1, ok: false, status: 404 },
      { endpoint: 'x', t: 100, latencyMs: 1, ok: false },
    ];
    const [o] = outages(s, 'x');
    assert.equal(o.firstError, 'HTTP 404');
    assert.equal(o.lastError, 'failed');
  });
});
