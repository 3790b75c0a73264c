// The timeline picture: the SVG is parsed (a strict little XML reader, below) and its lanes, runs, outages and
// marks compared with the probe record; the PNG is decoded (chunks, CRCs, pixels) and checked where it must be red/green.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { timelinePng, timelineSvg } from '../helpers/timeline.ts';
import { outages, type ProbeResult, type Sample } from '../helpers/probe.ts';

interface El { name: string; attrs: Record<string, string>; children: El[]; text: string }

/** Strict enough for generated SVG: one root, balanced tags, quoted attributes, only the five XML entities. */
function parseXml(src: string): El {
  let i = 0;
  const fail = (why: string): never => { throw new Error(`XML: ${why} at ${i}: ${JSON.stringify(src.slice(i, i + 40))}`); };
  const decode = (s: string) => {
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(s)) fail(`bad entity in ${JSON.stringify(s)}`);
    if (/</.test(s)) fail('raw < in text');
    return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  };
  const ws = () => { while (/\s/.test(src[i] ?? '')) i++; };
  if (src.startsWith('<?xml')) { i = src.indexOf('?>') + 2; if (i < 2) fail('unterminated declaration'); }
  ws();
  function element(): El {
    if (src[i] !== '<') fail('expected <');
    i++;
    const name = /^[A-Za-z_][\w:.-]*/.exec(src.slice(i))?.[0] ?? fail('bad tag name');
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      ws();
      if (src.startsWith('/>', i)) { i += 2; return { name, attrs, children: [], text: '' }; }
      if (src[i] === '>') { i++; break; }
      const an = /^[A-Za-z_][\w:.-]*/.exec(src.slice(i))?.[0] ?? fail('bad attribute name');
      i += an.length;
      if (src[i] !== '=' || src[i + 1] !== '"') fail('attribute without ="');
      const end = src.indexOf('"', i + 2);
      if (end < 0) fail('unterminated attribute');
      if (an in attrs) fail(`duplicate attribute ${an}`);
      attrs[an] = decode(src.slice(i + 2, end));
      i = end + 1;
    }
    const children: El[] = [];
    let text = '';
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${name}>`);
      text += decode(src.slice(i, lt));
      i = lt;
      if (src.startsWith('</', i)) {
        const close = `</${name}>`;
        if (!src.startsWith(close, i)) fail(`expected ${close}`);
        i += close.length;
        return { name, attrs, children, text };
      }
      children.push(element());
    }
  }
  const root = element();
  ws();
  if (i !== src.length) fail('content after the root element');
  return root;
}

function all(el: El, pred: (e: El) => boolean, out: El[] = []): El[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) all(c, pred, out);
  return out;
}
const hasClass = (c: string) => (e: El) => (e.attrs.class ?? '').split(' ').includes(c);

function record(): ProbeResult {
  const samples: Sample[] = [];
  for (let t = 0; t <= 12_000; t += 200) {
    const appDown = t >= 4000 && t <= 6000;
    samples.push({ endpoint: 'app <GET />', t, latencyMs: 12, ok: !appDown, status: appDown ? 502 : 200, ...(appDown ? { error: 'HTTP 502 judged not ok' } : {}) });
    const sessDown = (t >= 4200 && t <= 6400) || t === 9000 || t >= 11_800;
    samples.push({ endpoint: 'get-session & co', t: t + 40, latencyMs: 20, ok: !sessDown, ...(sessDown ? { error: 'connection refused to 127.0.0.1:1' } : { status: 200 }) });
  }
  return {
    startedAt: '2025-01-01T00:00:00.000Z', intervalMs: 200, timeoutMs: 2000,
    endpoints: ['app <GET />', 'get-session & co'], samples,
    marks: [{ label: 'deploy triggered', t: 3500 }, { label: 'deploy finished', t: 7000 }],
    durationMs: 12_100, stoppedBy: 'stop',
  };
}

describe('timeline', () => {
  test('SVG is well-formed with one lane per endpoint, runs covering every sample, outages and marks', () => {
    const r = record();
    const svg = timelineSvg(r, { title: 'Redeploy of gadgetbot-app' });
    const root = parseXml(svg);
    assert.equal(root.name, 'svg');
    assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
    assert.ok(Number(root.attrs.width) > 0 && Number(root.attrs.height) > 0);

    const lanes = all(root, hasClass('lane'));
    assert.deepEqual(lanes.map((l) => l.attrs['data-endpoint']), r.endpoints);
    const labels = all(root, hasClass('lane-label')).map((e) => e.text);
    assert.deepEqual(labels, r.endpoints, 'names are escaped and come back intact');

    for (const ep of r.endpoints) {
      const runs = all(root, (e) => e.attrs['data-endpoint'] === ep && hasClass('run')(e));
      const counted = runs.reduce((a, e) => a + Number(e.attrs['data-count']), 0);
      assert.equal(counted, r.samples.filter((s) => s.endpoint === ep).length, `${ep}: runs cover every sample once`);
      const mine = r.samples.filter((s) => s.endpoint === ep);
      const failedInRuns = runs.filter(hasClass('fail')).reduce((a, e) => a + Number(e.attrs['data-count']), 0);
      assert.equal(failedInRuns, mine.filter((s) => !s.ok).length);
      for (const run of runs) assert.equal(run.attrs.fill, hasClass('ok')(run) ? '#2e7d32' : '#c62828');

      const shaded = all(root, (e) => e.attrs['data-endpoint'] === ep && hasClass('outage')(e));
      const expected = outages(r.samples, ep);
      assert.deepEqual(shaded.map((e) => Number(e.attrs['data-duration-ms'])), expected.map((o) => o.durationMs));
      assert.ok(shaded.every((e) => e.children.some((c) => c.name === 'title' && /^outage /.test(c.text))));
    }
    assert.deepEqual(all(root, hasClass('outage-label')).map((e) => e.text), ['2.4 s', '2.6 s', '0.4 s', '0.4 s']);

    const marks = all(root, hasClass('mark'));
    assert.deepEqual(marks.map((m) => [m.attrs['data-label'], Number(m.attrs['data-t'])]), [['deploy triggered', 3500], ['deploy finished', 7000]]);
    const markX = marks.map((m) => Number(m.attrs.x1));
    assert.ok(markX[0] < markX[1], 'later mark further right');
    assert.deepEqual(all(root, hasClass('mark-label')).map((e) => e.text), ['deploy triggered (3.5 s)', 'deploy finished (7 s)']);

    const ticks = all(root, hasClass('tick-label')).map((e) => e.text);
    assert.equal(ticks[0], '0 s');
    assert.ok(ticks.includes('12 s'), ticks.join(','));
    const legend = all(root, hasClass('legend')).map((e) => e.text);
    assert.match(legend[0], /^app <GET \/>: 1 outage\(s\), longest 2.4 s/);
    assert.match(legend[1], /^get-session & co: 3 outage\(s\)/);
    assert.equal(all(root, hasClass('title'))[0].text, 'Redeploy of gadgetbot-app');
  });

  test('throttled samples are drawn grey and still counted in the runs', () => {
    const r = record();
    for (const s of r.samples) if (s.endpoint === 'app <GET />' && s.t >= 8000 && s.t <= 9000) Object.assign(s, { ok: false, status: 429, throttled: true, error: 'HTTP 429 rate limited' });
    const root = parseXml(timelineSvg(r));
    const grey = all(root, (e) => e.attrs['data-endpoint'] === 'app <GET />' && hasClass('throttled')(e));
    assert.equal(grey.length, 1);
    assert.equal(Number(grey[0].attrs['data-count']), 6);
    assert.equal(grey[0].attrs.fill, '#9e9e9e');
    const runs = all(root, (e) => e.attrs['data-endpoint'] === 'app <GET />' && hasClass('run')(e));
    assert.equal(runs.reduce((a, e) => a + Number(e.attrs['data-count']), 0), r.samples.filter((s) => s.endpoint === 'app <GET />').length);
    assert.equal(all(root, (e) => e.attrs['data-endpoint'] === 'app <GET />' && hasClass('outage')(e)).length, 1, 'no outage for the throttled stretch');
  });

  test('a record without samples or marks still draws', () => {
    const r: ProbeResult = { startedAt: '2025-01-01T00:00:00.000Z', intervalMs: 100, timeoutMs: 1000, endpoints: ['a'], samples: [], marks: [], durationMs: 0, stoppedBy: 'stop' };
    const root = parseXml(timelineSvg(r));
    assert.equal(all(root, hasClass('lane')).length, 1);
    assert.equal(all(root, hasClass('run')).length, 0);
    assert.equal(all(root, hasClass('legend'))[0].text, 'a: no outage in 0 samples (longest gap 0 ms)');
  });

  test('close marks get separate label rows; distant ones share a row', () => {
    const r = { ...record(), marks: [{ label: 'deploy triggered', t: 3500 }, { label: 'in progress', t: 3700 }, { label: 'deploy finished', t: 11_000 }] };
    const labels = all(parseXml(timelineSvg(r)), hasClass('mark-label'));
    const y = labels.map((e) => Number(e.attrs.y));
    assert.notEqual(y[0], y[1], 'overlapping labels on one row');
    assert.equal(y[2], y[0], 'a far-away mark reuses the first row');
    assert.equal(labels[2].attrs['text-anchor'], 'end', 'a label near the right edge is drawn leftwards');
  });

  test('PNG decodes: valid chunks and CRCs, 2x size, red where a run failed and green where it was ok', () => {
    const r = record();
    const png = timelinePng(r);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const chunks: { type: string; data: Buffer }[] = [];
    for (let o = 8; o < png.length;) {
      const len = png.readUInt32BE(o);
      const type = png.toString('ascii', o + 4, o + 8);
      const data = png.subarray(o + 8, o + 8 + len);
      const crc = png.readUInt32BE(o + 8 + len);
      assert.equal(crc, crc32(png.subarray(o + 4, o + 8 + len)), `CRC of ${type}`);
      chunks.push({ type, data });
      o += 12 + len;
    }
    assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
    const w = chunks[0].data.readUInt32BE(0);
    const h = chunks[0].data.readUInt32BE(4);
    const root = parseXml(timelineSvg(r));
    assert.equal(w, Number(root.attrs.width) * 2);
    assert.equal(h, Math.round(Number(root.attrs.height) * 2));
    assert.deepEqual([chunks[0].data[8], chunks[0].data[9]], [8, 2]);
    const raw = inflateSync(chunks[1].data);
    assert.equal(raw.length, (w * 3 + 1) * h);
    const pixel = (x: number, y: number) => {
      const i = y * (w * 3 + 1) + 1 + x * 3;
      return [raw[i], raw[i + 1], raw[i + 2]];
    };
    const centre = (e: El) => [Math.round((Number(e.attrs.x) + Number(e.attrs.width) / 2) * 2), Math.round((Number(e.attrs.y) + Number(e.attrs.height) / 2) * 2)];
    const runs = all(root, hasClass('run'));
    for (const run of runs.filter((e) => Number(e.attrs.width) >= 3)) {
      const [px, py] = pixel(centre(run)[0], centre(run)[1]);
      if (hasClass('fail')(run)) assert.ok(px > 150 && py < 90, `failed run drawn red, got ${px},${py}`);
      else assert.ok(py > 100 && px < 90, `ok run drawn green, got ${px},${py}`);
    }
    assert.deepEqual(pixel(2, h - 2), [255, 255, 255], 'background white');
  });
});

function crc32(buf: Uint8Array): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
