// HSTS on every host that serves HTTPS, judged by strength: a browser that saw it refuses plain HTTP to the host
// for max-age seconds, which closes the SSL-stripping window on public networks. A header with a tiny max-age
// (or none) leaves that window open, so below HSTS_MIN_MAX_AGE it fails with the value found and the floor.
import { expectNone } from '../../fixtures/observed.ts';
import { test } from '../../fixtures/test.ts';
import type { Target } from '../../helpers/config.ts';
import { header, request } from '../../helpers/http.ts';
import { label } from '../../helpers/labels.ts';
import { attachJson, hostOf, note, ROLES, type HostRole } from './common.ts';

const RISK = 'an attacker on the network path (public Wi-Fi) can downgrade a visit to plain HTTP and read or change it, session cookie included (SSL stripping)';

/** Pages of each host a person opens by typing or bookmarking (where stripping happens). */
function pathsOf(role: HostRole['role']): string[] {
  if (role === 'app') return ['/', '/login?redirect=%2Fadmin'];
  if (role === 'auth') return ['/ui/v2/login/loginname', '/ui/console'];
  return ['/api/health'];
}

export interface HstsFacts { value?: string; maxAge?: number; includeSubDomains: boolean; preload: boolean }

export function parseHsts(value: string | undefined): HstsFacts {
  if (!value) return { includeSubDomains: false, preload: false };
  const dirs = value.split(';').map((d) => d.trim().toLowerCase());
  const m = dirs.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)).find(Boolean);
  return { value, maxAge: m ? Number(m[1]) : undefined, includeSubDomains: dirs.includes('includesubdomains'), preload: dirs.includes('preload') };
}

const days = (s: number) => `${Math.round((s / 86400) * 10) / 10} days`;

export function hstsProblem(where: string, f: HstsFacts, floor: number): string | undefined {
  if (!f.value) return `${where}: no Strict-Transport-Security header: ${RISK}`;
  if (f.maxAge === undefined) return `${where}: Strict-Transport-Security "${f.value}" has no valid max-age, so browsers ignore it: ${RISK}`;
  if (f.maxAge < floor) return `${where}: HSTS max-age=${f.maxAge} (${days(f.maxAge)}), below the floor of ${floor} s (${days(floor)}): browsers forget it between visits, and ${RISK}`;
  return undefined;
}

async function check(t: Target, h: HostRole) {
  const out: { path: string; status: number; hsts: HstsFacts }[] = [];
  for (const path of pathsOf(h.role)) {
    const res = await test.step(`GET ${h.url}${path}`, () => request(t, `${h.url}${path}`, { headers: { accept: 'text/html' } }));
    out.push({ path, status: res.status, hsts: parseHsts(header(res, 'strict-transport-security')) });
  }
  return out;
}

test.describe('HSTS', () => {
  for (const role of ROLES) {
    test(`${role} host: HSTS max-age at or above HSTS_MIN_MAX_AGE`, async ({ target: t }, info) => {
      const h = hostOf(t, role);
      test.skip(!h, 'DEPLOYER_URL not set: the deployer host is not checked');
      await label({ feature: 'HSTS', story: `HSTS of the ${role} host`, severity: 'critical', parameters: { host: h!.host } });
      const got = await check(t, h!);
      await attachJson(info, `hsts-${h!.host}.json`, got);
      const problems: string[] = [];
      for (const g of got) {
        const where = `${h!.host}${g.path.split('?')[0]} (status ${g.status})`;
        const p = hstsProblem(where, g.hsts, t.hstsMinMaxAge);
        if (p) problems.push(p);
        else note(info, 'hsts', `${where}: max-age=${g.hsts.maxAge}${g.hsts.includeSubDomains ? '; includeSubDomains' : ' (no includeSubDomains: subdomains may still be stripped)'}${g.hsts.preload ? '; preload' : ''}`);
      }
      await expectNone(`${h!.host} sends Strict-Transport-Security with max-age >= ${t.hstsMinMaxAge} s on every page`, problems);
    });
  }
});
