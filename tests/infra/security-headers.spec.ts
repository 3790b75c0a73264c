// Browser-side protections the server asks for in its answers: HSTS (no downgrade to plain HTTP),
// X-Content-Type-Options (no MIME sniffing), framing protection (no clickjacking). CSP is recorded, not judged:
// a missing CSP is advice, a missing frame/sniff/HSTS header is a finding.
import { test, type TestInfo } from '@playwright/test';
import type { Target } from '../../helpers/config.ts';
import { getConfig } from '../../helpers/config.ts';
import { header, request, type Response } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { attachJson, expectNoProblems, note } from './common.ts';

/** HSTS below this (180 days) is noted: browsers forget it between visits of occasional users. */
const HSTS_MIN_SECONDS = 15_552_000;

const RISK = {
  hsts: 'an attacker on the network path (public Wi-Fi) can downgrade a visit to plain HTTP and read or change it, session cookie included (SSL stripping)',
  nosniff: 'browsers may sniff a response as script or HTML, so content served as data can run in the site\'s origin (MIME confusion)',
  framing: 'another site can load this page in an invisible frame and trick a signed-in user into clicking its buttons (clickjacking)',
} as const;

export interface HeaderFacts { hsts?: string; nosniff?: string; frameOptions?: string; csp?: string }

export function headerFacts(res: Pick<Response, 'headers'>): HeaderFacts {
  return {
    hsts: header(res, 'strict-transport-security'),
    nosniff: header(res, 'x-content-type-options'),
    frameOptions: header(res, 'x-frame-options'),
    csp: header(res, 'content-security-policy'),
  };
}

/** One line per missing or weak protection; `what` decides which protections are required. */
export function headerProblems(where: string, f: HeaderFacts, what: { hsts: boolean }): string[] {
  const out: string[] = [];
  if (what.hsts) {
    const maxAge = Number(/max-age\s*=\s*"?(\d+)/i.exec(f.hsts ?? '')?.[1] ?? NaN);
    if (!f.hsts) out.push(`${where}: no Strict-Transport-Security (HSTS) header: ${RISK.hsts}`);
    else if (!(maxAge > 0)) out.push(`${where}: Strict-Transport-Security "${f.hsts}" has no positive max-age (HSTS is off): ${RISK.hsts}`);
  }
  if ((f.nosniff ?? '').trim().toLowerCase() !== 'nosniff')
    out.push(`${where}: X-Content-Type-Options is ${f.nosniff ? `"${f.nosniff}"` : 'missing'} (expected nosniff): ${RISK.nosniff}`);
  const xfo = (f.frameOptions ?? '').trim().toUpperCase();
  const ancestors = /(?:^|;)\s*frame-ancestors\s+([^;]*)/i.exec(f.csp ?? '')?.[1]?.trim();
  const framingOk = xfo === 'DENY' || xfo === 'SAMEORIGIN' || (!!ancestors && !/(^|\s)(\*|https?:|http:\/\/\*|https:\/\/\*)(\s|$)/i.test(ancestors));
  if (!framingOk)
    out.push(`${where}: no framing protection (X-Frame-Options ${f.frameOptions ? `"${f.frameOptions}"` : 'missing'}, CSP frame-ancestors ${ancestors ? `"${ancestors}"` : 'missing'}): ${RISK.framing}`);
  return out;
}

function noteCsp(info: TestInfo, where: string, f: HeaderFacts, hsts: boolean): void {
  note(info, 'csp', f.csp ? `${where}: ${f.csp.slice(0, 300)}` : `${where}: no Content-Security-Policy (advice: a CSP limits what injected script could do)`);
  if (hsts) {
    const maxAge = Number(/max-age\s*=\s*"?(\d+)/i.exec(f.hsts ?? '')?.[1] ?? NaN);
    if (maxAge > 0 && maxAge < HSTS_MIN_SECONDS) note(info, 'warning', `${where}: HSTS max-age=${maxAge} s is below 180 days`);
  }
}

async function pages(t: Target, base: string, paths: string[]): Promise<{ path: string; res: Response }[]> {
  const out: { path: string; res: Response }[] = [];
  for (const path of paths) out.push({ path, res: await test.step(`GET ${base}${path}`, () => request(t, `${base}${path}`, { headers: { accept: 'text/html' } })) });
  return out;
}

test.describe('Security headers', () => {
  test('app pages send HSTS, X-Content-Type-Options and framing protection', { tag: '@smoke' }, async ({}, info) => {
    const t = getConfig();
    const host = new URL(t.appUrl).host;
    await label({ epic: EPIC.infra, feature: 'Security headers', story: 'app pages', severity: 'critical', parameters: { host } });
    const got = await pages(t, t.appUrl, ['/', '/login?redirect=%2Fadmin']);
    await attachJson(info, 'app-security-headers.json', got.map(({ path, res }) => ({ path, status: res.status, ...headerFacts(res) })));
    const problems: string[] = [];
    for (const { path, res } of got) {
      const where = `${host}${path.split('?')[0]} (status ${res.status})`;
      const f = headerFacts(res);
      noteCsp(info, where, f, true);
      problems.push(...headerProblems(where, f, { hsts: true }));
    }
    expectNoProblems(problems);
  });

  test('auth (Login V2) pages send X-Content-Type-Options and framing protection', { tag: '@smoke' }, async ({}, info) => {
    const t = getConfig();
    const host = new URL(t.authUrl).host;
    await label({ epic: EPIC.infra, feature: 'Security headers', story: 'auth pages', severity: 'normal', parameters: { host } });
    // The username page is where people type; HSTS there is the edge's job: noted, not required.
    const got = await pages(t, t.authUrl, ['/ui/v2/login/loginname']);
    await attachJson(info, 'auth-security-headers.json', got.map(({ path, res }) => ({ path, status: res.status, ...headerFacts(res) })));
    const problems: string[] = [];
    for (const { path, res } of got) {
      const where = `${host}${path} (status ${res.status})`;
      if (res.status >= 500 || res.status === 404) problems.push(`${where}: the Login V2 page did not render, its headers cannot be judged`);
      const f = headerFacts(res);
      noteCsp(info, where, f, true);
      if (!f.hsts) note(info, 'warning', `${where}: no Strict-Transport-Security (add a Traefik headers middleware with stsSeconds)`);
      problems.push(...headerProblems(where, f, { hsts: false }));
    }
    expectNoProblems(problems);
  });
});
