// Fault-matrix rows for the security posture checks (exposure, security headers, sign-in hardening, session
// cookies). Faults share a run where each breaks a different promise and none masks another's check.
import type { MatrixRow } from './fault-matrix.ts';

const EXPOSURE = /exposure\.spec\.ts › Exposure › /;
const t = (file: RegExp, rest: string) => new RegExp(`${file.source}${rest}`);
const HARDENING = /security\.spec\.ts › sign-in hardening › /;
const S = {
  forbiddenPorts: t(EXPOSURE, 'forbidden ports'),
  expectedPorts: t(EXPOSURE, 'expected ports answer'),
  appHeaders: /security-headers\.spec\.ts › Security headers › app pages send HSTS/,
  authHeaders: /security-headers\.spec\.ts › Security headers › auth \(Login V2\) pages/,
  appGet: /app\.spec\.ts › App health › GET \/ answers 2xx/,
  loginV2: /auth\.spec\.ts › .*sign-in requires Login V2/,
  externalCallback: t(HARDENING, 'sign-in refuses an external callbackURL'),
  authorizeUrl: t(HARDENING, 'the authorize URL carries state'),
  forged: t(HARDENING, 'a forged or tampered callback'),
  crossSite: t(HARDENING, 'the oRPC API refuses a cross-site request'),
  securePrefix: t(HARDENING, 'session cookies are __Secure- prefixed'),
  newContext: /session\.spec\.ts › .*new browser context from the saved state/,
};

export const SECURITY_ROWS: MatrixRow[] = [
  {
    name: 'db-port-exposed+missing-security-headers+redirect-uri-unregistered',
    faults: ['db-port-exposed', 'missing-security-headers', 'redirect-uri-unregistered'],
    projects: ['infra'],
    grep: 'Exposure|Security headers|App health|requires Login V2',
    note: 'Postgres listens on 127.0.0.1 besides 127.0.0.2 vs. the app\'s answers without their headers vs. the auth client\'s redirect URIs',
    mustFail: [
      { project: 'infra', title: S.forbiddenPorts, message: /forbidden port \d+ is open on 127\.0\.0\.1/, hint: 'port-exposed' },
      { project: 'infra', title: S.appHeaders, message: /no Strict-Transport-Security[\s\S]*X-Content-Type-Options is missing[\s\S]*no framing protection/, hint: 'security-headers' },
      // Zitadel shows its error page at authorize instead of the Login V2 pages.
      { project: 'infra', title: S.loginV2, message: /redirect_uri|authorize/, hint: 'redirect-uri-unregistered' },
    ],
    mustPass: [{ project: 'infra', title: S.expectedPorts }, { project: 'infra', title: S.authHeaders }, { project: 'infra', title: S.appGet }],
  },
  {
    name: 'open-redirect+no-pkce+cookie-no-secure-prefix',
    faults: ['open-redirect', 'no-pkce', 'cookie-no-secure-prefix'],
    projects: ['setup', 'auth'],
    grep: 'sign-in hardening|sign in as',
    note: 'where sign-in may return to vs. how the authorize request is bound vs. how the session cookie is named',
    mustFail: [
      { project: 'auth', title: S.externalCallback, message: /open redirect: sign-in accepted the external callbackURL/, hint: 'open-redirect' },
      { project: 'auth', title: S.authorizeUrl, message: /no PKCE code_challenge/, hint: 'callback-replay' },
      { project: 'auth', title: S.securePrefix, message: /lacks the __Secure- prefix/ },
    ],
    mustPass: [{ project: 'auth', title: S.forged }, { project: 'auth', title: S.crossSite }],
  },
  {
    name: 'callback-replay+no-csrf-check+session-short-lived',
    faults: ['callback-replay', 'no-csrf-check', 'session-short-lived'],
    projects: ['setup', 'auth'],
    grep: 'sign-in hardening|sign in as|new browser context',
    note: 'the callback\'s state check vs. the API\'s cross-site check vs. the session lifetime',
    mustFail: [
      { project: 'auth', title: S.forged, message: /forged callback: .* created a session/, hint: 'callback-replay' },
      { project: 'auth', title: S.crossSite, message: /answered a cross-site request/ },
      { project: 'auth', title: S.newContext, message: /expires in \d+ min/, hint: 'session-short-lived' },
    ],
    mustPass: [{ project: 'auth', title: S.externalCallback }, { project: 'auth', title: S.authorizeUrl }, { project: 'auth', title: S.securePrefix }],
  },
];
