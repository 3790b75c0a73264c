// Draws a probe record as a picture for the report: one lane per endpoint (green = ok, red = failed, grey = the
// probe was throttled with 429), outage windows shaded with their duration, vertical lines for marks (deploy
// triggered/finished), a time axis in seconds.
// One scene is built and then written either as SVG or as PNG (own rasteriser + 5x7 bitmap font: no native deps).
import { deflateSync } from 'node:zlib';
import { outages, summarizeEndpoint, type ProbeResult, type Sample } from './probe.ts';

export interface TimelineOptions {
  title?: string;
  /** Logical width in px. Default 1000. */
  width?: number;
}

type Prim =
  | { k: 'rect'; x: number; y: number; w: number; h: number; fill: string; opacity?: number; cls?: string; data?: Record<string, string | number>; title?: string }
  | { k: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; width: number; dash?: number; cls?: string; data?: Record<string, string | number> }
  | { k: 'text'; x: number; y: number; text: string; size: number; fill: string; anchor?: 'start' | 'middle' | 'end'; bold?: boolean; cls?: string };

interface Scene { width: number; height: number; prims: Prim[] }

const GREEN = '#2e7d32';
const RED = '#c62828';
const GREY = '#555555';
const LIGHT = '#dddddd';
const MARK = '#1565c0';
const GREY_RUN = '#9e9e9e';

const stateOf = (s: Sample): 'ok' | 'fail' | 'throttled' => (s.throttled ? 'throttled' : s.ok ? 'ok' : 'fail');

/** A tick step in ms giving roughly 8–15 ticks. */
function tickStep(totalMs: number): number {
  const steps = [250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];
  for (const s of steps) if (totalMs / s <= 15) return s;
  return 1_200_000;
}

const secs = (ms: number) => (ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2)).replace(/\.?0+$/, '') + ' s';

function buildScene(r: ProbeResult, opts: TimelineOptions): Scene {
  const width = opts.width ?? 1000;
  // Room for the longest lane label (12 px text, about 0.62 em per character).
  const left = Math.min(360, Math.max(170, Math.ceil(Math.max(0, ...r.endpoints.map((e) => e.length)) * 7.5) + 16));
  const right = 30;
  const plotW = width - left - right;
  const total = Math.max(r.durationMs, ...r.samples.map((s) => s.t + s.latencyMs), ...r.marks.map((m) => m.t), 1);
  const x = (t: number) => left + (Math.min(Math.max(t, 0), total) / total) * plotW;
  const prims: Prim[] = [];

  const title = opts.title ?? 'Availability during deployment';
  prims.push({ k: 'text', x: 10, y: 20, text: title, size: 15, fill: '#000000', bold: true, cls: 'title' });
  prims.push({ k: 'text', x: 10, y: 38, text: `started ${r.startedAt}, probe every ${r.intervalMs} ms, time-out ${r.timeoutMs} ms, ${secs(r.durationMs)} recorded`, size: 11, fill: GREY, cls: 'subtitle' });

  // Mark labels stagger over up to three rows so close marks stay readable.
  // Mark labels go into the first row where they do not overlap an earlier label (text width estimated at
  // 0.6 em per character), so close marks stay readable; at most 4 rows, then the least crowded one.
  const markLabels = r.marks
    .map((m) => ({ m, text: `${m.label} (${secs(m.t)})`, x: x(m.t) }))
    .sort((a, b) => a.x - b.x)
    .map((l) => {
      const w = l.text.length * 6 + 6;
      const anchor: 'start' | 'end' = l.x + w > left + plotW + right ? 'end' : 'start';
      return { ...l, anchor, from: anchor === 'end' ? l.x - w : l.x, to: anchor === 'end' ? l.x : l.x + w, row: 0 };
    });
  const rowEnds: number[] = [];
  for (const l of markLabels) {
    let row = rowEnds.findIndex((end) => end <= l.from);
    if (row < 0) row = rowEnds.length < 4 ? rowEnds.length : rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = Math.max(rowEnds[row] ?? 0, l.to);
    l.row = row;
  }
  const markRows = Math.max(1, rowEnds.length);
  const marksTop = 52;
  const lanesTop = marksTop + markRows * 14 + 8;
  const laneH = 34;
  const laneGap = 26;

  const lanesBottom = lanesTop + r.endpoints.length * (laneH + laneGap) - laneGap + 18;

  // Lane backgrounds, then axis and grid, then the samples over them.
  r.endpoints.forEach((ep, i) => {
    const y = lanesTop + i * (laneH + laneGap);
    prims.push({ k: 'rect', x: left, y, w: plotW, h: laneH, fill: '#f5f5f5', cls: 'lane', data: { endpoint: ep } });
  });
  const axisY = lanesBottom + 6;
  prims.push({ k: 'line', x1: left, y1: axisY, x2: left + plotW, y2: axisY, stroke: GREY, width: 1, cls: 'axis' });
  const step = tickStep(total);
  for (let t = 0; t <= total + 1; t += step) {
    const tx = x(t);
    prims.push({ k: 'line', x1: tx, y1: axisY, x2: tx, y2: axisY + 5, stroke: GREY, width: 1, cls: 'tick' });
    prims.push({ k: 'line', x1: tx, y1: lanesTop - 4, x2: tx, y2: lanesBottom - 18, stroke: LIGHT, width: 0.5, cls: 'grid' });
    prims.push({ k: 'text', x: tx, y: axisY + 17, text: secs(t), size: 10, fill: GREY, anchor: 'middle', cls: 'tick-label' });
  }
  prims.push({ k: 'text', x: left - 22, y: axisY + 17, text: 'time since start', size: 10, fill: GREY, anchor: 'end', cls: 'axis-label' });

  r.endpoints.forEach((ep, i) => {
    const y = lanesTop + i * (laneH + laneGap);
    prims.push({ k: 'text', x: left - 8, y: y + laneH / 2 + 4, text: ep, size: 12, fill: '#000000', anchor: 'end', cls: 'lane-label' });

    // Runs of equal state, each drawn from its first sample to the next sample after it (the state we know held
    // at least until then), so the lane is continuous and the file stays small on long records.
    const mine = r.samples.filter((s) => s.endpoint === ep).sort((a, b) => a.t - b.t);
    let j = 0;
    while (j < mine.length) {
      const state = stateOf(mine[j]);
      const first = j;
      while (j < mine.length && stateOf(mine[j]) === state) j++;
      const startT = mine[first].t;
      const endT = j < mine.length ? mine[j].t : mine[j - 1].t + Math.max(r.intervalMs, mine[j - 1].latencyMs);
      const x1 = x(startT);
      const x2 = Math.max(x(endT), x1 + 1);
      const count = j - first;
      const word = state === 'ok' ? 'ok' : state === 'fail' ? 'failed' : 'throttled (429)';
      prims.push({
        k: 'rect', x: x1, y: y + 6, w: x2 - x1, h: laneH - 12, fill: state === 'ok' ? GREEN : state === 'fail' ? RED : GREY_RUN,
        cls: `run ${state}`, data: { endpoint: ep, count, from: startT },
        title: `${ep}: ${count} ${word} sample${count === 1 ? '' : 's'} from ${secs(startT)}${state === 'ok' ? '' : ` (${mine[first].error ?? `HTTP ${mine[first].status}`})`}`,
      });
    }

    for (const o of outages(mine, ep)) {
      const x1 = x(o.start);
      const x2 = Math.max(x(o.end), x1 + 2);
      prims.push({
        k: 'rect', x: x1, y: y - 2, w: x2 - x1, h: laneH + 4, fill: RED, opacity: 0.18, cls: 'outage',
        data: { endpoint: ep, start: o.start, end: o.end, 'duration-ms': o.durationMs },
        title: `outage ${secs(o.durationMs)} (${o.failedCount} failed; ${o.firstError})`,
      });
      prims.push({ k: 'text', x: (x1 + x2) / 2, y: y + laneH + 14, text: secs(o.durationMs), size: 11, fill: RED, anchor: 'middle', bold: true, cls: 'outage-label' });
    }

    const s = summarizeEndpoint(mine, ep);
    prims.push({ k: 'text', x: left - 8, y: y + laneH / 2 + 17, text: `${s.failed}/${s.samples} failed`, size: 9, fill: s.failed ? RED : GREY, anchor: 'end', cls: 'lane-stats' });
  });

  for (const { m, text, x: mx, anchor, row } of markLabels) {
    prims.push({ k: 'line', x1: mx, y1: marksTop + row * 14 + 3, x2: mx, y2: lanesBottom, stroke: MARK, width: 1.5, dash: 4, cls: 'mark', data: { label: m.label, t: m.t } });
    prims.push({ k: 'text', x: anchor === 'end' ? mx - 3 : mx + 3, y: marksTop + row * 14 + 10, text, size: 10, fill: MARK, anchor, cls: 'mark-label' });
  }

  // Legend lines: one per endpoint with its downtime, so the picture alone answers "how long was it down".
  let ly = lanesBottom + 6 + 38;
  for (const ep of r.endpoints) {
    const s = summarizeEndpoint(r.samples, ep);
    const text = s.outages.length === 0
      ? `${ep}: no outage in ${s.samples} samples (longest gap ${s.longestGapMs} ms)`
      : `${ep}: ${s.outages.length} outage(s), longest ${secs(s.longestOutageMs)}, total ${secs(s.totalDowntimeMs)}, ${s.failed}/${s.samples} samples failed`;
    prims.push({ k: 'text', x: 10, y: ly, text, size: 11, fill: s.outages.length ? RED : GREEN, cls: 'legend' });
    ly += 16;
  }
  return { width, height: ly + 4, prims };
}

// ---------------------------------------------------------------- SVG

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number) => (Math.round(v * 100) / 100).toString();

function dataAttrs(d?: Record<string, string | number>): string {
  return d ? Object.entries(d).map(([k, v]) => ` data-${k}="${esc(String(v))}"`).join('') : '';
}

export function timelineSvg(r: ProbeResult, opts: TimelineOptions = {}): string {
  const sc = buildScene(r, opts);
  const out: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${sc.width}" height="${n(sc.height)}" viewBox="0 0 ${sc.width} ${n(sc.height)}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">`,
    `<rect x="0" y="0" width="${sc.width}" height="${n(sc.height)}" fill="#ffffff"/>`,
  ];
  for (const p of sc.prims) {
    const cls = 'cls' in p && p.cls ? ` class="${esc(p.cls)}"` : '';
    if (p.k === 'rect') {
      const body = `x="${n(p.x)}" y="${n(p.y)}" width="${n(p.w)}" height="${n(p.h)}" fill="${p.fill}"${p.opacity !== undefined ? ` fill-opacity="${p.opacity}"` : ''}${cls}${dataAttrs(p.data)}`;
      out.push(p.title ? `<rect ${body}><title>${esc(p.title)}</title></rect>` : `<rect ${body}/>`);
    } else if (p.k === 'line') {
      out.push(`<line x1="${n(p.x1)}" y1="${n(p.y1)}" x2="${n(p.x2)}" y2="${n(p.y2)}" stroke="${p.stroke}" stroke-width="${p.width}"${p.dash ? ` stroke-dasharray="${p.dash} ${p.dash}"` : ''}${cls}${dataAttrs(p.data)}/>`);
    } else {
      out.push(`<text x="${n(p.x)}" y="${n(p.y)}" font-size="${p.size}" fill="${p.fill}"${p.anchor && p.anchor !== 'start' ? ` text-anchor="${p.anchor}"` : ''}${p.bold ? ' font-weight="bold"' : ''}${cls}>${esc(p.text)}</text>`);
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- PNG

// 5x7 glyphs, one string of 7 rows per character, '#' = ink. Lower case is drawn with the upper-case glyphs.
const FONT: Record<string, string> = {
  ' ': '.....|.....|.....|.....|.....|.....|.....',
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#', B: '####.|#...#|#...#|####.|#...#|#...#|####.',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.', D: '####.|#...#|#...#|#...#|#...#|#...#|####.',
  E: '#####|#....|#....|####.|#....|#....|#####', F: '#####|#....|#....|####.|#....|#....|#....',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####', H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  I: '.###.|..#..|..#..|..#..|..#..|..#..|.###.', J: '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#', L: '#....|#....|#....|#....|#....|#....|#####',
  M: '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#', N: '#...#|#...#|##..#|#.#.#|#..##|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.', P: '####.|#...#|#...#|####.|#....|#....|#....',
  Q: '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#', R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.', T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  U: '#...#|#...#|#...#|#...#|#...#|#...#|.###.', V: '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  W: '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.', X: '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  Y: '#...#|#...#|.#.#.|..#..|..#..|..#..|..#..', Z: '#####|....#|...#.|..#..|.#...|#....|#####',
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.', '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####', '3': '#####|...#.|..#..|...#.|....#|#...#|.###.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.', '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.', '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.', '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  '.': '.....|.....|.....|.....|.....|.##..|.##..', ',': '.....|.....|.....|.....|.##..|..#..|.#...',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....', ';': '.....|.##..|.##..|.....|.##..|..#..|.#...',
  '-': '.....|.....|.....|#####|.....|.....|.....', '–': '.....|.....|.....|#####|.....|.....|.....',
  '_': '.....|.....|.....|.....|.....|.....|#####', '+': '.....|..#..|..#..|#####|..#..|..#..|.....',
  '/': '.....|....#|...#.|..#..|.#...|#....|.....', '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...', '[': '.###.|.#...|.#...|.#...|.#...|.#...|.###.',
  ']': '.###.|...#.|...#.|...#.|...#.|...#.|.###.', '%': '##...|##..#|...#.|..#..|.#...|#..##|...##',
  "'": '..#..|..#..|.#...|.....|.....|.....|.....', '"': '.#.#.|.#.#.|.....|.....|.....|.....|.....',
  '=': '.....|.....|#####|.....|#####|.....|.....', '<': '...#.|..#..|.#...|#....|.#...|..#..|...#.',
  '>': '.#...|..#..|...#.|....#|...#.|..#..|.#...', '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
  '!': '..#..|..#..|..#..|..#..|..#..|.....|..#..', '#': '.#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.',
  '…': '.....|.....|.....|.....|.....|.....|#.#.#', '@': '.###.|#...#|#.###|#.#.#|#.###|#....|.###.',
  '&': '.##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#', '*': '.....|..#..|#.#.#|.###.|#.#.#|..#..|.....',
};
const glyphs = new Map<string, boolean[][]>();
for (const [ch, rows] of Object.entries(FONT)) glyphs.set(ch, rows.split('|').map((r) => [...r].map((c) => c === '#')));

function hex(c: string): [number, number, number] {
  const v = parseInt(c.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

class Canvas {
  readonly px: Uint8Array;
  constructor(readonly w: number, readonly h: number) {
    this.px = new Uint8Array(w * h * 3).fill(255);
  }
  fill(x0: number, y0: number, x1: number, y1: number, color: string, alpha = 1) {
    const [r, g, b] = hex(color);
    const xa = Math.max(0, Math.floor(x0)), xb = Math.min(this.w, Math.ceil(x1));
    const ya = Math.max(0, Math.floor(y0)), yb = Math.min(this.h, Math.ceil(y1));
    for (let y = ya; y < yb; y++) {
      for (let x = xa; x < xb; x++) {
        const i = (y * this.w + x) * 3;
        this.px[i] = Math.round(this.px[i] * (1 - alpha) + r * alpha);
        this.px[i + 1] = Math.round(this.px[i + 1] * (1 - alpha) + g * alpha);
        this.px[i + 2] = Math.round(this.px[i + 2] * (1 - alpha) + b * alpha);
      }
    }
  }
  text(x: number, y: number, s: string, scale: number, color: string, anchor: 'start' | 'middle' | 'end', bold: boolean) {
    const adv = 6 * scale;
    const width = s.length * adv - scale;
    let cx = anchor === 'end' ? x - width : anchor === 'middle' ? x - width / 2 : x;
    const top = y - 7 * scale; // y is the baseline, as in SVG
    for (const ch of s) {
      const g = glyphs.get(ch) ?? glyphs.get(ch.toUpperCase()) ?? glyphs.get('?')!;
      g.forEach((row, ry) => row.forEach((on, rx) => {
        if (on) this.fill(cx + rx * scale, top + ry * scale, cx + (rx + 1) * scale + (bold ? 1 : 0), top + (ry + 1) * scale, color);
      }));
      cx += adv;
    }
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** The same picture as PNG (RGB, drawn at `scale`× the SVG's size; default 2 so the bitmap font stays legible). */
export function timelinePng(r: ProbeResult, opts: TimelineOptions & { scale?: number } = {}): Buffer {
  const sc = buildScene(r, opts);
  const k = opts.scale ?? 2;
  const c = new Canvas(Math.round(sc.width * k), Math.round(sc.height * k));
  for (const p of sc.prims) {
    if (p.k === 'rect') c.fill(p.x * k, p.y * k, (p.x + p.w) * k, (p.y + p.h) * k, p.fill, p.opacity ?? 1);
    else if (p.k === 'line') {
      const w = Math.max(1, p.width * k);
      if (p.x1 === p.x2) {
        const ya = Math.min(p.y1, p.y2) * k, yb = Math.max(p.y1, p.y2) * k;
        const dash = (p.dash ?? 0) * k;
        for (let y = ya; y < yb; y += dash ? dash * 2 : yb - ya) {
          c.fill(p.x1 * k - w / 2, y, p.x1 * k + w / 2, Math.min(yb, dash ? y + dash : yb), p.stroke);
        }
      } else {
        // Only axis-parallel lines are ever drawn.
        c.fill(Math.min(p.x1, p.x2) * k, p.y1 * k - w / 2, Math.max(p.x1, p.x2) * k, p.y1 * k + w / 2, p.stroke);
      }
    } else {
      const scale = Math.max(1, Math.round((p.size * k) / 10));
      c.text(p.x * k, p.y * k, p.text, scale, p.fill, p.anchor ?? 'start', p.bold ?? false);
    }
  }
  const raw = Buffer.alloc((c.w * 3 + 1) * c.h);
  for (let y = 0; y < c.h; y++) {
    raw[y * (c.w * 3 + 1)] = 0; // filter: none
    Buffer.from(c.px.buffer, y * c.w * 3, c.w * 3).copy(raw, y * (c.w * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(c.w, 0);
  ihdr.writeUInt32BE(c.h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
