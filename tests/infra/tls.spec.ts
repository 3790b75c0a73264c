// Certificates as a browser sees them: chain to a trusted root, the host in the SAN, not expired and not
// about to, issued by the expected CA (renewal works), and a modern protocol.
import { test } from '@playwright/test';
import { getConfig } from '../../helpers/config.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { fmtDate, judgeTls, probeTlsFor } from '../../helpers/tls.ts';
import { attachJson, expectNoProblems, hostOf, note, ROLES } from './common.ts';

test.describe('TLS', () => {
  for (const role of ROLES) {
    test(`${role} host: valid certificate (chain, name, expiry, issuer, protocol)`, { tag: '@smoke' }, async ({}, info) => {
      const t = getConfig();
      const h = hostOf(t, role);
      test.skip(!h, 'DEPLOYER_URL not set: the deployer host is not checked');
      await label({ epic: EPIC.infra, feature: 'TLS', story: `certificate of the ${role} host`, severity: 'blocker', parameters: { host: h!.host } });
      const probe = await test.step(`TLS handshake with ${h!.host}`, () => probeTlsFor(t, h!.url));
      const leaf = probe.chain[0];
      await attachJson(info, `tls-${h!.host}.json`, {
        host: probe.host, port: probe.port, address: probe.address, protocol: probe.protocol, cipher: probe.cipher, alpn: probe.alpn,
        authorized: probe.authorized, authorizationError: probe.authorizationError,
        chain: probe.chain.map((c) => ({ subject: c.subject, san: c.san, issuer: c.issuer, validFrom: fmtDate(c.validFrom),
          validTo: fmtDate(c.validTo), daysLeft: c.daysLeft, fingerprint256: c.fingerprint256 })),
      });
      if (leaf) note(info, 'days-left', `${h!.host}: ${Math.round(leaf.daysLeft)} days left (notAfter ${fmtDate(leaf.validTo)}; warning window ${t.certWarnDays} days)`);
      const v = await test.step('judge chain, host name, expiry, issuer, protocol', async () =>
        judgeTls(probe, { warnDays: t.certWarnDays, expectedIssuer: t.expectedCertIssuer }));
      expectNoProblems(v.problems);
    });
  }
});
