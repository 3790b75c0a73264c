// The edge (Traefik in production): plain HTTP sends people to https on the same host and path.
// HSTS is judged with the other security headers (security-headers.spec.ts).
import { test } from '@playwright/test';
import { getConfig } from '../../helpers/config.ts';
import { header, request } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { attachJson, expectNoProblems, hostOf, note, ROLES } from './common.ts';

test.describe('HTTP edge', () => {
  for (const role of ROLES) {
    test(`${role} host: plain HTTP redirects to https with the same host and path`, { tag: '@smoke' }, async ({}, info) => {
      const t = getConfig();
      const h = hostOf(t, role)!;
      test.skip(!h, 'DEPLOYER_URL not set: the deployer host is not checked');
      await label({ epic: EPIC.infra, feature: 'Edge', story: `port ${t.httpPort} redirects to https (${h.role})`, severity: 'critical', parameters: { host: h.host } });
      const path = `/gbv-redirect-check/${t.runId}?q=1`;
      const httpUrl = `http://${h.host}:${t.httpPort}${path}`;
      const res = await test.step(`GET ${httpUrl}`, () => request(t, httpUrl));
      const location = header(res, 'location');
      await attachJson(info, `redirect-${h.host}.json`, { url: httpUrl, status: res.status, location });
      const problems: string[] = [];
      if (![301, 302, 307, 308].includes(res.status)) {
        problems.push(`${h.host}: plain HTTP on port ${t.httpPort} answered ${res.status} instead of redirecting to https`
          + (res.status === 200 ? ' (the site is served unencrypted)' : ''));
      } else if (!location) {
        problems.push(`${h.host}: ${res.status} redirect without a Location header`);
      } else {
        const to = new URL(location, httpUrl);
        const want = new URL(path, h.url);
        if (to.protocol !== 'https:') problems.push(`${h.host}: redirect goes to ${to.protocol}//, not https`);
        if (to.host !== want.host) problems.push(`${h.host}: redirect goes to host ${to.host}, expected ${want.host}`);
        if (to.pathname + to.search !== want.pathname + want.search)
          problems.push(`${h.host}: redirect drops the path: goes to ${to.pathname}${to.search}, expected ${want.pathname}${want.search}`);
        if (res.status === 302 || res.status === 307) note(info, 'note', `${h.host}: temporary redirect (${res.status}); a permanent one (301/308) lets browsers and crawlers remember it`);
      }
      expectNoProblems(problems);
    });
  }
});
