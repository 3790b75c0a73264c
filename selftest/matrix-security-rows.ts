// Fault-matrix rows for the security posture checks (exposure, security headers, sign-in hardening).
// The four faults touch different promises and do not mask each other, so each row can be run alone or merged.
import type { MatrixRow } from './fault-matrix.ts';

export const SECURITY_ROWS: MatrixRow[] = [
  {
    name: 'db-port-exposed',
    faults: ['db-port-exposed'],
    projects: ['infra'],
    grep: 'Exposure|App health',
    mustFail: [{ project: 'infra', title: /exposure\.spec\.ts › Exposure › forbidden ports/, message: /forbidden port \d+ is open on 127\.0\.0\.1/ }],
    mustPass: [
      { project: 'infra', title: /exposure\.spec\.ts › Exposure › expected ports answer/ },
      { project: 'infra', title: /app\.spec\.ts › App health › GET \/ answers 2xx/ },
    ],
    note: 'Postgres listens on 127.0.0.1 besides 127.0.0.2; the app and auth ports stay internal.',
  },
  {
    name: 'missing-security-headers',
    faults: ['missing-security-headers'],
    projects: ['infra'],
    grep: 'Security headers|App health',
    mustFail: [{ project: 'infra', title: /security-headers\.spec\.ts › Security headers › app pages send HSTS/, message: /no Strict-Transport-Security[\s\S]*X-Content-Type-Options is missing[\s\S]*no framing protection/ }],
    mustPass: [
      { project: 'infra', title: /security-headers\.spec\.ts › Security headers › auth \(Login V2\) pages/ },
      { project: 'infra', title: /app\.spec\.ts › App health › GET \/ answers 2xx/ },
    ],
  },
  {
    name: 'open-redirect',
    faults: ['open-redirect'],
    projects: ['setup', 'auth'],
    grep: 'sign-in hardening|sign in as',
    mustFail: [{ project: 'auth', title: /security\.spec\.ts › sign-in hardening › sign-in refuses an external callbackURL/, message: /open redirect: sign-in accepted the external callbackURL/ }],
    mustPass: [
      { project: 'auth', title: /security\.spec\.ts › sign-in hardening › the authorize URL carries state/ },
      { project: 'auth', title: /security\.spec\.ts › sign-in hardening › a forged or tampered callback/ },
      { project: 'auth', title: /security\.spec\.ts › sign-in hardening › the oRPC API refuses a cross-site request/ },
    ],
  },
  {
    name: 'callback-replay',
    faults: ['callback-replay'],
    projects: ['setup', 'auth'],
    grep: 'sign-in hardening|sign in as',
    mustFail: [{ project: 'auth', title: /security\.spec\.ts › sign-in hardening › a forged or tampered callback creates no session/, message: /forged callback: .* created a session/ }],
    mustPass: [
      { project: 'auth', title: /security\.spec\.ts › sign-in hardening › sign-in refuses an external callbackURL/ },
      { project: 'auth', title: /security\.spec\.ts › sign-in hardening › the authorize URL carries state/ },
      { project: 'auth', title: /security\.spec\.ts › sign-in hardening › session cookies are __Secure- prefixed/ },
    ],
  },
];
