// Browser-side protections the server asks for in its answers, judged by strength, not presence:
// - framing protection (X-Frame-Options DENY/SAMEORIGIN, or CSP frame-ancestors without a wildcard): without it
//   another site can frame the admin and login pages and steer clicks (clickjacking) — exploitable: a failure;
// - X-Content-Type-Options exactly "nosniff": without it a browser may sniff data as script, which needs content
//   an attacker controls on the site (GadgetBot serves none) — a missing second line of defence: a warning;
// - CSP itself is recorded as advice. HSTS is judged per host in hsts.spec.ts.
import { expectNone } from '../../fixtures/observed.ts';
import type { TestInfo } from '@playwright/test';
import { test } from '../../fixtures/test.ts';
import type { Target } from '../../helpers/config.ts';
import { warn } from '../../helpers/findings.ts';
import { header, request, type Response } from '../../helpers/http.ts';
import { label } from '../../helpers/labels.ts';
import { attachJson, note } from './common.ts';

const RISK = {
  nosniff: 'browsers may sniff a response as script or HTML, so content served as data could run in the site\'s origin (MIME confusion)',
  framing: 'another site can load this page in an invisible frame and trick a signed-in user into clicking its buttons (clickjacking)',
} as const;

export interface HeaderFacts { nosniff?: string; frameOptions?: string; csp?: string }

export function headerFacts(res: Pick<Response, 'headers'>): HeaderFacts {
  return {
    nosniff: header(res, 'x-content-type-options'),
    frameOptions: header(res, 'x-frame-options'),
    csp: header(res, 'content-security-policy'),
  };
}

/** Why framing is not prevented, or undefined when it is. */
export function framingProblem(f: HeaderFacts): string | undefined {
  const xfo = (f.frameOptions ?? '').trim().toUpperCase();
  const ancestors = /(?:^|;)\s*frame-ancestors\s+([^;]*)/i.exec(f.csp ?? '')?.[1]?.trim();
  const wildcard = ancestors !== undefined && /(^|\s)(\*|https?:|https?:\/\/\*)(\s|$)/i.test(ancestors);
  if (ancestors && !wildcard) return undefined; // CSP wins over X-Frame-Options in every current browser
  if (!ancestors && (xfo === 'DENY' || xfo === 'SAMEORIGIN')) return undefined;
  const csp = ancestors ? `CSP frame-ancestors "${ancestors}" allows any site` : 'CSP frame-ancestors missing';
  if (wildcard && (xfo === 'DENY' || xfo === 'SAMEORIGIN')) return `${csp}, and browsers obey it over X-Frame-Options ${xfo}`;
  const x = !f.frameOptions ? 'X-Frame-Options missing'
    : /^ALLOW-FROM/.test(xfo) ? `X-Frame-Options "${f.frameOptions}" (obsolete: browsers ignore ALLOW-FROM)`
      : `X-Frame-Options "${f.frameOptions}" (not DENY or SAMEORIGIN)`;
  return `no framing protection (${x}, ${csp})`;
}

/** Failures (exploitable) and warnings (second line of defence) for one answer. */
export function headerFindings(where: string, f: HeaderFacts): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const framing = framingProblem(f);
  if (framing) problems.push(`${where}: ${framing}: ${RISK.framing}`);
  if ((f.nosniff ?? '').trim().toLowerCase() !== 'nosniff')
    warnings.push(`${where}: X-Content-Type-Options is ${f.nosniff ? `"${f.nosniff}"` : 'missing'} (expected exactly nosniff): ${RISK.nosniff}`);
  return { problems, warnings };
}

async function pages(t: Target, base: string, paths: string[]): Promise<{ path: string; res: Response }[]> {
  const out: { path: string; res: Response }[] = [];
  for (const path of paths) out.push({ path, res: await test.step(`GET ${base}${path}`, () => request(t, `${base}${path}`, { headers: { accept: 'text/html' } })) });
  return out;
}

async function judgePages(info: TestInfo, host: string, got: { path: string; res: Response }[]): Promise<string[]> {
  const problems: string[] = [];
  for (const { path, res } of got) {
    const where = `${host}${path.split('?')[0]} (status ${res.status})`;
    if (res.status >= 500 || res.status === 404) { problems.push(`${where}: the page did not render, its headers cannot be judged`); continue; }
    const f = headerFacts(res);
    note(info, 'csp', f.csp ? `${where}: ${f.csp.slice(0, 300)}` : `${where}: no Content-Security-Policy (advice: a CSP limits what injected script could do)`);
    const r = headerFindings(where, f);
    problems.push(...r.problems);
    for (const w of r.warnings) warn(w);
  }
  return problems;
}

test.describe('Security headers', () => {
  test('app pages are protected against framing and MIME sniffing', async ({ target: t }, info) => {
    const host = new URL(t.appUrl).host;
    await label({ feature: 'Security headers', story: 'app pages', severity: 'critical', parameters: { host } });
    const got = await pages(t, t.appUrl, ['/', '/login?redirect=%2Fadmin']);
    await attachJson(info, 'app-security-headers.json', got.map(({ path, res }) => ({ path, status: res.status, ...headerFacts(res) })));
    await expectNone(`${host} pages forbid framing by other sites (X-Frame-Options or CSP frame-ancestors)`, await judgePages(info, host, got));
  });

  test('auth (Login V2) pages are protected against framing and MIME sniffing', async ({ target: t }, info) => {
    const host = new URL(t.authUrl).host;
    await label({ feature: 'Security headers', story: 'auth pages', severity: 'critical', parameters: { host } });
    // The username page is where people type their login.
    const got = await pages(t, t.authUrl, ['/ui/v2/login/loginname']);
    await attachJson(info, 'auth-security-headers.json', got.map(({ path, res }) => ({ path, status: res.status, ...headerFacts(res) })));
    await expectNone(`${host} Login V2 pages forbid framing by other sites (X-Frame-Options or CSP frame-ancestors)`, await judgePages(info, host, got));
  });
});
