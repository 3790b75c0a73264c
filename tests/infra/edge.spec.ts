// The edge (Traefik in production): plain HTTP sends people to https on the same host, with the path and query
// they asked for, in one hop. HSTS is judged per host in hsts.spec.ts.
import { expectNone } from '../../fixtures/observed.ts';
import type { TestInfo } from '@playwright/test';
import { test } from '../../fixtures/test.ts';
import type { Target } from '../../helpers/config.ts';
import { header, request } from '../../helpers/http.ts';
import { label } from '../../helpers/labels.ts';
import { attachJson, hostOf, note, ROLES, type HostRole } from './common.ts';

const REDIRECTS = [301, 302, 303, 307, 308];
const MAX_HOPS = 5;

interface Hop { url: string; status: number; location?: string }

/** Follows plain-HTTP redirects (never https ones) until one leaves http://, repeats, or MAX_HOPS is reached. */
async function follow(t: Target, start: string): Promise<Hop[]> {
  const hops: Hop[] = [];
  let url = start;
  for (let i = 0; i < MAX_HOPS; i++) {
    const res = await request(t, url);
    const location = header(res, 'location');
    hops.push({ url, status: res.status, location });
    if (!REDIRECTS.includes(res.status) || !location) break;
    const next = new URL(location, url).toString();
    if (!next.startsWith('http:') || hops.some((h) => h.url === next)) break;
    url = next;
  }
  return hops;
}

/** One line per broken part of the promise, naming what was observed. */
function judge(t: Target, h: HostRole, start: string, want: URL, hops: Hop[], info: TestInfo): string[] {
  const first = hops[0]!;
  const where = `${h.host}: plain HTTP on port ${t.httpPort}`;
  if (!REDIRECTS.includes(first.status)) {
    return [`${where} answered ${first.status} instead of redirecting to https${first.status === 200 ? ' (the site is served unencrypted)' : ''}`];
  }
  if (!first.location) return [`${where}: ${first.status} redirect without a Location header`];
  const last = hops[hops.length - 1]!;
  const to = new URL(last.location ?? last.url, last.url);
  const problems: string[] = [];
  if (to.protocol === 'http:') {
    const loop = hops.some((x) => x.url === to.toString());
    problems.push(loop
      ? `${where}: redirect loop: ${first.status} to ${new URL(first.location, start)} and back, never reaching https (${hops.length} hop${hops.length > 1 ? 's' : ''})`
      : `${where}: after ${hops.length} redirects still on http:// (${to}), never reaching https`);
    return problems;
  }
  if (to.protocol !== 'https:') return [`${where}: redirect goes to ${to.protocol}//, not https`];
  if (to.host !== want.host) problems.push(`${where}: redirect goes to another host: ${to.host}, expected ${want.host}`);
  const gotPath = to.pathname + to.search;
  const wantPath = want.pathname + want.search;
  if (to.pathname !== want.pathname) problems.push(`${where}: redirect dropped the path: ${wantPath} became ${gotPath}`);
  else if (to.search !== want.search) problems.push(`${where}: redirect dropped the query: ${wantPath} became ${gotPath}`);
  if (hops.length > 1) problems.push(`${where}: ${hops.length} plain-HTTP hops before https (expected one redirect): ${hops.map((x) => `${x.status} ${x.url}`).join(' → ')}`);
  if (first.status === 302 || first.status === 307 || first.status === 303) note(info, 'note', `${h.host}: temporary redirect (${first.status}); a permanent one (301/308) lets browsers and crawlers remember it`);
  return problems;
}

test.describe('HTTP edge', () => {
  for (const role of ROLES) {
    test(`${role} host: plain HTTP redirects to https with the same host and path`, async ({ target: t }, info) => {
      const h = hostOf(t, role);
      test.skip(!h, 'DEPLOYER_URL not set: the deployer host is not checked');
      await label({ feature: 'Edge', story: `port ${t.httpPort} redirects to https (${role})`, severity: 'critical', parameters: { host: h!.host } });
      const path = `/gbv-redirect-check/${t.runId}?q=1&r=${role}`;
      const httpUrl = `http://${h!.host}:${t.httpPort}${path}`;
      const hops = await test.step(`GET ${httpUrl} (following plain-HTTP hops)`, () => follow(t, httpUrl));
      await attachJson(info, `redirect-${h!.host}.json`, { url: httpUrl, hops });
      const problems = judge(t, h!, httpUrl, new URL(path, h!.url), hops, info);
      await expectNone(`${h!.host}: plain HTTP redirects in one hop to https on the same host, path and query kept`, problems);
    });
  }
});
