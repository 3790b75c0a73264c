// Every host's A records, asked of each configured DNS server separately: a stale secondary or a
// resolver still caching an old address shows up here, not as a mysterious browser time-out.
import { test } from '@playwright/test';
import { getConfig } from '../../helpers/config.ts';
import { resolveA } from '../../helpers/dns.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { attachJson, expectNoProblems, hostOf, hostsOf, note, ROLES } from './common.ts';

test.describe('DNS', () => {
  for (const role of ROLES) {
    test(`${role} host: A records match EXPECTED_IPS on every DNS server`, { tag: '@smoke' }, async ({}, info) => {
      const t = getConfig();
      const h = hostOf(t, role);
      test.skip(!h, 'DEPLOYER_URL not set: the deployer host is not checked');
      await label({ epic: EPIC.infra, feature: 'DNS', story: `A records of the ${role} host`, severity: 'blocker', parameters: { host: h!.host } });
      const problems: string[] = [];
      const answers: Record<string, string[] | string> = {};
      for (const server of t.dnsServers) {
        await test.step(`ask ${server} for ${h!.host} A`, async () => {
          try {
            const got = (await resolveA(h!.host, [server], 5000)).sort();
            answers[server] = got;
            if (t.expectedIps.length) {
              const want = [...t.expectedIps].sort();
              if (got.join(',') !== want.join(','))
                problems.push(`${h!.host}: A via ${server} = ${got.join(', ') || 'none'}, expected ${want.join(', ')}`);
            } else if (!got.length) {
              problems.push(`${h!.host}: no A record via ${server}`);
            }
          } catch (e) {
            answers[server] = (e as Error).message;
            problems.push((e as Error).message); // "cannot resolve <host> via <server>: NXDOMAIN"
          }
        });
      }
      await attachJson(info, `dns-${h!.host}.json`, { host: h!.host, expected: t.expectedIps, answers });
      if (!t.expectedIps.length) note(info, 'warning', `EXPECTED_IPS not set: ${h!.host} was only checked to resolve`);
      expectNoProblems(problems);
    });
  }

  test('all DNS servers give the same answers', async ({}, info) => {
    const t = getConfig();
    await label({ epic: EPIC.infra, feature: 'DNS', story: 'DNS servers agree', severity: 'normal' });
    test.skip(t.dnsServers.length < 2, 'only one DNS server configured: nothing to compare');
    const problems: string[] = [];
    for (const h of hostsOf(t)) {
      const per = await Promise.all(t.dnsServers.map(async (s) => {
        try { return [s, (await resolveA(h.host, [s], 5000)).sort().join(',')] as const; } catch (e) { return [s, `error ${(e as Error & { code?: string }).code}`] as const; }
      }));
      if (new Set(per.map(([, a]) => a)).size > 1) problems.push(`${h.host}: DNS servers disagree: ${per.map(([s, a]) => `${s} → ${a}`).join('; ')}`);
    }
    await attachJson(info, 'dns-agreement.json', problems);
    expectNoProblems(problems);
  });
});
