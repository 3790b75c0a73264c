// The fault matrix: for every fault in stack/faults.ts, which part of the suite to run against a stack with that
// fault on, which tests must then fail (and with a message that names the problem), and which unrelated checks must
// still pass. selftest/fault-matrix.test.ts runs it; the coverage check there asserts that every test of the suite
// is expected to fail in at least one row, so removing or weakening a check makes the matrix fail.
import type { FaultId } from '../stack/faults.ts';

export interface Expectation {
  /** Matched against the outcome title "file › describe › test" (e.g. /tls\.spec\.ts › app host: valid certificate/). */
  title: RegExp;
  /** The failure message must match this (it must name the problem, not just "failed"). */
  message?: RegExp;
  /** Playwright project of the test; default: any. */
  project?: string;
  /** Id of the diagnosis hint (helpers/diagnosis.ts) the verdict reporter must attach to the failure. */
  hint?: string;
}

export interface MatrixRow {
  /** Unique row name (usually the fault id, or "a+b" for a documented grouping). */
  name: string;
  faults: FaultId[];
  /** Projects to run (`--project`); as few as answer the question. Of their tests, only those named in mustFail
   * and mustPass run (and the setup project's sign-ins). */
  projects: string[];
  /** `--workers` for this run (default 1; 1 is also what keeps two disruptive tests from overlapping). */
  workers?: number;
  /** `--no-deps`: the judged tests run even though the setup's sign-ins fail (checks that need no saved session). */
  noDeps?: boolean;
  /**
   * Runs on the matrix's shared stack, signed in once (selftest/lib/matrix.ts runSharedRows): the row's faults are
   * switched on for its run and off after it, so every one must be in RUNTIME_FAULTS, nothing of the row may
   * need a sign-in made with its faults on, and the row must leave the deployment as it found it.
   */
  sharedStack?: boolean;
  /** Tests that MUST fail (status "unexpected"), each matching its message. */
  mustFail: Expectation[];
  /** Unrelated checks that must still pass in the same run. */
  mustPass: Expectation[];
  /** Why faults share this row (grouping) or anything surprising. */
  note?: string;
  /** Tests that must PASS with a warning matching `message` (a missing second line of defence, helpers/findings.ts). */
  mustWarn?: Expectation[];
  /** No failure of the run may match these: causes the row's faults did not create (e.g. "instead of redirecting"). */
  mustNotMention?: RegExp[];
  /** Hints a failure may carry besides the mustFail hints (judged strictly in infra/db rows, see strictCauses). */
  allowHints?: string[];
  /** Every failure's hint must be declared by the row; default true when the row runs only infra/db. */
  strictCauses?: boolean;
}

// Title fragments (matched against "file › describe › test").
const T = {
  appGet: /app\.spec\.ts › .*GET \/ answers 2xx/,
  appAuthOk: /app\.spec\.ts › .*GET \/api\/auth\/ok/,
  healthz: /auth\.spec\.ts › .*GET \/debug\/healthz/,
  ready: /auth\.spec\.ts › .*GET \/debug\/ready/,
  discovery: /auth\.spec\.ts › .*OIDC discovery/,
  loginV2: /auth\.spec\.ts › .*sign-in requires Login V2/,
  deployerHealth: /deployer\.spec\.ts › .*GET \/api\/health/,
  dns: (role: string) => new RegExp(`dns\\.spec\\.ts › .*${role} host: A and AAAA records`),
  caa: /dns\.spec\.ts › .*CAA lets letsencrypt\.org issue/,
  hsts: (role: string) => new RegExp(`hsts\\.spec\\.ts › .*${role} host: HSTS max-age`),
  redirect: (role: string) => new RegExp(`edge\\.spec\\.ts › .*${role} host: plain HTTP redirects`),
  dnsAgree: /dns\.spec\.ts › .*all DNS servers give the same answers/,
  expectedPorts: /exposure\.spec\.ts › .*expected ports answer/,
  forbiddenPorts: /exposure\.spec\.ts › .*forbidden ports/,
  authHeaders: /security-headers\.spec\.ts › .*auth \(Login V2\) pages are protected/,
  tls: (role: string) => new RegExp(`tls\\.spec\\.ts › .*${role} host: valid certificate`),
  dbScheme: /schema\.spec\.ts › .*DATABASE_URL uses the postgresql/,
  dbVersion: /schema\.spec\.ts › .*server is PostgreSQL 17/,
  table: (name: string) => new RegExp(`schema\\.spec\\.ts › .*table ${name} matches the reference`),
  migrations: /schema\.spec\.ts › .*drizzle migrations are applied/,
  signInAdmin: /auth\.setup\.ts › .*sign in as admin/,
  signInViewer: /auth\.setup\.ts › .*sign in as viewer/,
  adminRedirect: /session\.spec\.ts › .*\/admin redirects to \/login/,
  newContext: /session\.spec\.ts › .*new browser context from the saved state/,
  browserRestart: /session\.spec\.ts › .*browser closed and launched again/,
  signIn: /sign-in\.spec\.ts › .*every role's sign-in went app \/login/,
  sessionCookie: /sign-in\.spec\.ts › .*the session cookie the callback sets is persistent/,
  wrongPassword: /login-v2\.spec\.ts › .*Login V2 refuses a wrong password for every configured user/,
  idToken: /login-v2\.spec\.ts › .*an id_token from a real sign-in verifies against the published JWKS/,
  signOut: /sign-out\.spec\.ts › .*sign-out through the user menu ends the caller's session/,
  nonAdmin: /authorization\.spec\.ts › .*non-admin user cannot create/,
  apiCrud: /products-api\.spec\.ts › .*oRPC with the signed-in cookie/,
  apiFixedFields: /products-api\.spec\.ts › .*oRPC create and update cannot set what the bot type fixes/,
  apiAnon: /products-api\.spec\.ts › .*oRPC without a session/,
  uiList: /products-ui\.spec\.ts › .*products list shows the reference columns/,
  // The gate's one bot, and the full smoke's other types (rows judge one half each: a UI journey is the costliest test).
  uiCrudGate: /products-ui\.spec\.ts › .*create, view, update and delete a \w+ GadgetBot through the UI/,
  uiCrudOthers: /products-ui\.spec\.ts › .*create, view, update and delete GadgetBots of the other types/,
  redeploy: /redeploy\.spec\.ts › .*a redeploy keeps users signed in/,
  zitadelUpgrade: /zitadel-upgrade\.spec\.ts › .*auth comes back within the maintenance window/,
  rollback: /rollback\.spec\.ts › .*a rollback to the previous image serves it/,
  backupSchedule: (db: string) => new RegExp(`backups\\.spec\\.ts › .*${db}: an enabled backup schedule runs at least daily`),
  backupRetention: (db: string) => new RegExp(`backups\\.spec\\.ts › .*${db}: backups are kept at least`),
  backupNewest: (db: string) => new RegExp(`backups\\.spec\\.ts › .*${db}: the newest backup succeeded`),
  externalCallback: /security\.spec\.ts › .*sign-in refuses an external callbackURL/,
  authorizeUrl: /security\.spec\.ts › .*the authorize URL carries state/,
  forged: /forged-callback\.spec\.ts › .*a forged or tampered callback/,
  crossSite: /security\.spec\.ts › .*a cross-site page cannot use the admin's session on the oRPC API/,
  crossSiteRead: /security\.spec\.ts › .*a cross-site page cannot read the admin's data from the oRPC API/,
  securePrefix: /security\.spec\.ts › .*session cookies are __Secure- prefixed/,
  appHeaders: /security-headers\.spec\.ts › .*app pages are protected/,
};
export const TITLES = T;

const APP = 'gadgetbot\\.stack\\.test';
const AUTH = 'gadgetbot-auth\\.stack\\.test';
const DEPLOYER = 'gadgetbot-coolify\\.stack\\.test';
const re = (s: string, flags = 'i') => new RegExp(s, flags);

/**
 * Rows. Infra/db faults are grouped three or four to a stack where each one breaks checks the others leave
 * alone (a different host, service or table), and the message regexes tell the causes apart; every group keeps
 * a few unrelated checks that must still pass.
 */
export const faultRows: MatrixRow[] = [
  {
    name: 'cert-expired+dns-missing-auth+db-unapplied-migration+deployer-health-failing+db-wrong-major+redirect-drops-query',
    faults: ['cert-expired', 'dns-missing-auth', 'db-unapplied-migration', 'deployer-health-failing', 'db-wrong-major', 'redirect-drops-query'],
    projects: ['infra', 'db'],
    note: "app host certificate vs. auth host name vs. deployer health vs. migration table vs. server version vs. the deployer's redirect",
    mustFail: [
      { title: T.redirect('deployer'), message: re(`${DEPLOYER}: plain HTTP on port \\d+: redirect dropped the query: (/gbv-redirect-check/\\S+)\\?\\S+ became \\1$`, 'm'), hint: 'redirect-drops-query' },
      { title: T.tls('app'), message: re(`${APP}.*expired`), hint: 'cert-expired' },
      { title: T.dns('auth'), message: re(`${AUTH}.*NXDOMAIN`), hint: 'dns-missing' },
      { title: T.tls('auth'), message: re(`${AUTH}.*(NXDOMAIN|resolve)`), hint: 'dns-missing' },
      { title: T.redirect('auth'), message: re(`${AUTH}.*(NXDOMAIN|resolve)`), hint: 'dns-missing' },
      { title: T.healthz, message: re(`${AUTH}.*(NXDOMAIN|resolve)`), hint: 'dns-missing' },
      { title: T.deployerHealth, message: re(`${DEPLOYER}.*/api/health answered 503`), hint: 'deployer-unhealthy' },
      { title: T.migrations, message: re('1 of 2 drizzle migrations recorded'), hint: 'db-migration' },
      // The unapplied second migration is the one that creates Better Auth's tables.
      { title: T.table('users'), message: re('table users is missing'), hint: 'db-migration' },
      { title: T.table('sessions'), message: re('table sessions is missing'), hint: 'db-migration' },
      { title: T.table('accounts'), message: re('table accounts is missing'), hint: 'db-migration' },
      { title: T.dbVersion, message: re('16\\.4') },
    ],
    mustPass: [
      { title: T.dns('app') }, { title: T.redirect('app') }, { title: T.tls('deployer') }, { title: T.dns('deployer') },
      { title: T.dbScheme }, { title: T.table('gadgetbots') },
    ],
  },
  {
    name: 'cert-wrong-host+auth-not-ready+db-url-postgres-scheme+dns-secondary-stale+db-column-drift',
    faults: ['cert-wrong-host', 'auth-not-ready', 'db-url-postgres-scheme', 'dns-secondary-stale', 'db-column-drift'],
    projects: ['infra', 'db'],
    note: 'app host certificate vs. its second nameserver vs. auth readiness vs. the DATABASE_URL spelling vs. one table\'s columns',
    mustFail: [
      { title: T.tls('app'), message: re(`${APP}.*(other\\.stack\\.test|does not (name|match|cover)|host ?name)`), hint: 'cert-wrong-host' },
      // First the fact that the servers differ (so not "points somewhere else"), then the stale server's answer.
      { title: T.dns('app'), message: re(`^Error: ${APP}: the DNS servers disagree on its A records: \\S+ → 127\\.0\\.0\\.1; \\S+ → 127\\.0\\.0\\.3\\n${APP}: A via \\S+ = 127\\.0\\.0\\.3, expected 127\\.0\\.0\\.1`), hint: 'dns-servers-disagree' },
      { title: T.dnsAgree, message: re(`${APP}: DNS servers disagree`) },
      { title: T.ready, message: re(`${AUTH}.*/debug/ready answered 503`), hint: 'auth-not-ready' },
      { title: T.dbScheme, message: re('postgres://'), hint: 'db-url-postgres-scheme' },
      { title: T.table('gadgetbots'), message: re('battery_life[\\s\\S]*(integer|real)[\\s\\S]*image_url|image_url[\\s\\S]*battery_life'), hint: 'db-schema-drift' },
    ],
    mustPass: [
      { title: T.tls('auth') }, { title: T.healthz }, { title: T.discovery }, { title: T.dns('auth') }, { title: T.dns('deployer') },
      { title: T.table('users') }, { title: T.migrations }, { title: T.dbVersion },
    ],
  },
  {
    name: 'cert-expiring-soon+app-404-path-prefix+auth-healthz-failing+db-missing-table+dns-missing-deployer+auth-missing-security-headers',
    faults: ['cert-expiring-soon', 'app-404-path-prefix', 'auth-healthz-failing', 'db-missing-table', 'dns-missing-deployer', 'auth-missing-security-headers'],
    projects: ['infra', 'db'],
    note: 'a still-valid app certificate (TLS check only) vs. app routing vs. auth liveness and page headers vs. the deployer name vs. one table',
    mustFail: [
      { title: T.tls('app'), message: re(`${APP}.*\\b10 days`), hint: 'cert-expiring-soon' },
      { title: T.appGet, message: re(`${APP}.*GET / answered 404`), hint: 'app-404-path-prefix' },
      { title: T.appAuthOk, message: re(`${APP}.*/api/auth/ok answered 404`) },
      { title: T.healthz, message: re(`${AUTH}.*/debug/healthz answered 503`), hint: 'auth-down' },
      { title: T.authHeaders, message: re(`${AUTH}.*no framing protection`), hint: 'security-headers' },
      { title: T.hsts('auth'), message: re(`${AUTH}/ui/v2/login/loginname .*no Strict-Transport-Security header`), hint: 'hsts-missing' },
      { title: T.dns('deployer'), message: re(`${DEPLOYER}.*NXDOMAIN`), hint: 'dns-missing' },
      { title: T.tls('deployer'), message: re(`${DEPLOYER}.*(NXDOMAIN|resolve)`), hint: 'dns-missing' },
      { title: T.table('verifications'), message: re('table verifications is missing'), hint: 'db-migration' },
      // Recorded is not applied: both migrations are in the journal, the second one's table is not in the database.
      { title: T.migrations, message: re('migration 2 of 2 is recorded .*verifications it creates is missing: recorded, not applied'), hint: 'db-migration' },
    ],
    mustPass: [
      { title: T.ready }, { title: T.discovery }, { title: T.tls('auth') }, { title: T.dns('app') }, { title: T.dns('auth') },
      { title: T.table('users') }, { title: T.dbScheme },
    ],
  },
  {
    name: 'dns-wrong-a+issuer-mismatch+cert-default-deployer+http-port-closed',
    sharedStack: true,
    faults: ['dns-wrong-a', 'issuer-mismatch', 'cert-default-deployer', 'http-port-closed'],
    projects: ['infra'],
    note: 'app host address vs. auth discovery vs. the deployer certificate vs. the plain-HTTP entrypoint',
    mustFail: [
      { title: T.dns('app'), message: re(`${APP}.*127\\.0\\.0\\.3`), hint: 'dns-wrong-a' },
      { title: T.tls('app'), message: re(`${APP}.*(127\\.0\\.0\\.3|refused)`) },
      { title: T.discovery, message: re('issuer'), hint: 'issuer-mismatch' },
      { title: T.tls('deployer'), message: re(`${DEPLOYER}.*(self[- ]signed|issuer|not trusted)`), hint: 'cert-untrusted' },
      { title: T.deployerHealth, message: re('(self[- ]signed|certificate)') },
      { title: T.expectedPorts, message: re('expected port \\d+ on 127\\.0\\.0\\.1: connection refused'), hint: 'connection-refused' },
      { title: T.redirect('auth'), message: re(`${AUTH}.*(refused|ECONNREFUSED)`) },
    ],
    mustPass: [
      { title: T.dns('auth') }, { title: T.dns('deployer') }, { title: T.tls('auth') }, { title: T.healthz }, { title: T.ready },
      { title: T.forbiddenPorts },
    ],
  },
  {
    name: 'app-health-failing+login-v1+no-https-redirect+dns-secondary-missing',
    sharedStack: true,
    faults: ['app-health-failing', 'login-v1', 'no-https-redirect', 'dns-secondary-missing'],
    projects: ['infra'],
    note: "the app home page vs. the login UI the authorize endpoint sends to vs. plain HTTP on port 80 vs. the deployer host on the second nameserver",
    mustFail: [
      // A name missing on one server only: the servers disagree (not "the record is missing", which ns1 disproves).
      { title: T.dns('deployer'), message: re(`^Error: ${DEPLOYER}: the DNS servers disagree on its A records: \\S+ → 127\\.0\\.0\\.1; \\S+ → NXDOMAIN\\n`), hint: 'dns-servers-disagree' },
      { title: T.dnsAgree, message: re(`${DEPLOYER}: DNS servers disagree`), hint: 'dns-servers-disagree' },
      { title: T.appGet, message: re(`${APP}.*GET / answered 500`), hint: 'app-unhealthy' },
      { title: T.loginV2, message: re('authorize lands on /ui/login/login\\?authRequestID.*not on Login V2'), hint: 'login-v1' },
      // Plain HTTP reaches the service itself, which answers the probe path (404 from the app, Zitadel, Coolify).
      { title: T.redirect('app'), message: re(`${APP}: plain HTTP on port \\d+ answered \\d+ instead of redirecting`), hint: 'no-https-redirect' },
      { title: T.redirect('auth'), message: re(`${AUTH}: plain HTTP on port \\d+ answered \\d+ instead of redirecting`) },
      { title: T.redirect('deployer'), message: re(`${DEPLOYER}: plain HTTP on port \\d+ answered \\d+ instead of redirecting`) },
    ],
    mustPass: [{ title: T.appAuthOk }, { title: T.tls('app') }, { title: T.discovery }, { title: T.healthz }],
  },
  {
    name: 'auth-method-basic',
    faults: ['auth-method-basic'],
    projects: ['setup'],
    // The token exchange answers 401; Better Auth sends the browser back with error=invalid_code.
    mustFail: [{ title: T.signInAdmin, message: re(`${APP}:\\d+/\\?error=invalid_code`), hint: 'auth-method-basic' }],
    mustPass: [],
  },
  {
    name: 'no-admin-check+delete-keeps-row+no-session-check+list-snapshot+callback-replay+session-short-lived+login-skips-password',
    faults: ['no-admin-check', 'delete-keeps-row', 'no-session-check', 'list-snapshot', 'callback-replay', 'session-short-lived', 'login-skips-password'],
    projects: ['setup', 'crud', 'auth'],
    note: 'viewer writes vs. admin deletes vs. anonymous access vs. the list page vs. the callback\'s state check vs. the session lifetime: each test trips on one of them',
    mustFail: [
      { title: T.nonAdmin, message: re('a non-admin user could (create|update|delete)'), hint: 'no-admin-check' },
      { title: T.apiCrud, message: re('delete answered success but kept the row'), hint: 'delete-keeps-row' },
      { title: T.apiAnon, message: re('(list|getById) without a session answered 200'), hint: 'no-session-check' },
      { title: T.adminRedirect, message: re('GET /admin answered 200 without a session'), hint: 'no-session-check' },
      // The bots just made are missing from the products table.
      { title: T.uiList, message: re('the products list does not show "') },
      { title: T.uiCrudGate, message: re('the products list does not show "') },
      { title: T.forged, message: re('forged callback: .* created a session'), hint: 'callback-replay' },
      { title: T.newContext, message: re('expires in \\d+ min'), hint: 'session-short-lived' },
      // The setup's recorded journeys went from the login name straight back to the app.
      { title: T.signIn, message: re('never reached "auth /ui/v2/login/password"[\\s\\S]*without the password step') },
    ],
    mustPass: [{ title: T.signInAdmin }, { title: T.signInViewer }],
  },
  {
    name: 'session-cookie-not-persistent+signout-keeps-session+wrong-password-accepted+open-redirect+no-pkce+cookie-no-secure-prefix',
    faults: ['session-cookie-not-persistent', 'signout-keeps-session', 'wrong-password-accepted', 'open-redirect', 'no-pkce', 'cookie-no-secure-prefix'],
    projects: ['setup', 'auth'],
    note: 'cookie lifetime vs. server-side sign-out vs. the password check vs. where sign-in may return to vs. how the authorize request is bound vs. how the session cookie is named',
    mustFail: [
      { title: T.browserRestart, message: re('dropped the session cookie on restart: it has no expiry'), hint: 'session-cookie-not-persistent' },
      // Judged from the setup's recording: the callback's Set-Cookie had neither Max-Age nor Expires, nor the prefix.
      { title: T.sessionCookie, message: re('(no Max-Age/Expires \\(not persistent\\)[\\s\\S]*lacks the __Secure- prefix|lacks the __Secure- prefix[\\s\\S]*no Max-Age/Expires \\(not persistent\\))'), hint: 'session-cookie-not-persistent' },
      { title: T.signOut, message: re('sign-out left the server session valid'), hint: 'signout-keeps-session' },
      // The password page moves on to the (held) callback for every user.
      { title: T.wrongPassword, message: re('admin \\S+: a wrong password was accepted[\\s\\S]*viewer \\S+: a wrong password was accepted'), hint: 'wrong-password-accepted' },
      { title: T.externalCallback, message: re('open redirect: sign-in accepted the external callbackURL'), hint: 'open-redirect' },
      { title: T.authorizeUrl, message: re('no PKCE code_challenge'), hint: 'callback-replay' },
      { title: T.securePrefix, message: re('lacks the __Secure- prefix') },
    ],
    mustPass: [{ title: T.adminRedirect }, { title: T.newContext }, { title: T.crossSite }, { title: T.signIn }],
  },
  {
    name: 'redeploy-loses-sessions',
    faults: ['redeploy-loses-sessions'],
    projects: ['disruptive'],
    mustFail: [{ title: T.redeploy, message: re('sessions lost after redeploy'), hint: 'sessions-lost-after-redeploy' }],
    mustPass: [{ title: T.signInAdmin }],
  },
  {
    name: 'redeploy-stop-start+auth-upgrade-changes-issuer+rollback-loses-sessions',
    faults: ['redeploy-stop-start', 'auth-upgrade-changes-issuer', 'rollback-loses-sessions'],
    projects: ['disruptive'],
    workers: 1,
    note: 'the app redeploy (first, one worker) vs. the rollback (its earlier image has another secret; rolling forward brings the sessions back) vs. the auth redeploy: app rollout, rollback sessions, issuer',
    mustFail: [
      { title: T.redeploy, message: re('downtime|budget'), hint: 'redeploy-stop-start' },
      { title: T.rollback, message: re('sessions lost after the rollback') },
      { title: T.zitadelUpgrade, message: re('issuer') },
    ],
    mustPass: [{ title: T.signInAdmin }],
  },
  {
    name: 'db-port-exposed+missing-security-headers+redirect-uri-unregistered',
    faults: ['db-port-exposed', 'missing-security-headers', 'redirect-uri-unregistered'],
    projects: ['infra'],
    note: "Postgres listens on 127.0.0.1 besides 127.0.0.2 vs. the app's answers without their headers vs. the auth client's redirect URIs",
    mustFail: [
      { title: T.forbiddenPorts, message: /forbidden port \d+ is open on 127\.0\.0\.1/, hint: 'port-exposed' },
      { title: T.appHeaders, message: /no framing protection \(X-Frame-Options missing, CSP frame-ancestors missing\)/, hint: 'security-headers' },
      { title: T.hsts('app'), message: /gadgetbot\.stack\.test\/ \(status 200\): no Strict-Transport-Security header/, hint: 'hsts-missing' },
      // Zitadel shows its error page at authorize instead of the Login V2 pages.
      { title: T.loginV2, message: /redirect_uri|authorize/, hint: 'redirect-uri-unregistered' },
    ],
    mustPass: [{ title: T.expectedPorts }, { title: T.authHeaders }, { title: T.appGet }],
  },
  {
    name: 'signout-ends-all-sessions+wrong-password-accepted-viewer+id-token-nonce-dropped+id-token-extra-audience',
    faults: ['signout-ends-all-sessions', 'wrong-password-accepted-viewer', 'id-token-nonce-dropped', 'id-token-extra-audience'],
    projects: ['setup', 'auth'],
    note: 'who a sign-out ends vs. whose password Login V2 checks vs. what the id_token binds (nonce) and names (audience): '
      + 'each check judges its own observation (the sign-out test makes its own two sessions; the id_token and wrong-password checks start at Zitadel with the app\'s client_id)',
    mustFail: [
      { title: T.signOut, message: re("sign-out ended other sessions than the caller's"), hint: 'signout-ends-other-sessions' },
      // Only the viewer's password check is off: the admin's refusal must not be reported.
      { title: T.wrongPassword, message: /^(?![\s\S]*admin \S+: a wrong password)[\s\S]*viewer \S+: a wrong password was accepted/, hint: 'wrong-password-accepted' },
      // Both rules, in whatever order the verifier reports them.
      { title: T.idToken, message: re('^(?=[\\s\\S]*carries no nonce although the authorize request sent one)(?=[\\s\\S]*names 2 audiences \\[[^\\]]*gbv-other-client\\] but its azp is missing)') },
    ],
    mustPass: [{ title: T.signInAdmin }, { title: T.signInViewer }, { title: T.sessionCookie }, { title: T.adminRedirect }, { title: T.signIn }],
  },
  {
    name: 'id-token-foreign-key+id-token-expired',
    faults: ['id-token-foreign-key', 'id-token-expired'],
    projects: ['setup', 'auth'],
    // Without the dependency, one worker keeps the order: the setup records the authorize URL the id_token check reads.
    noDeps: true,
    workers: 1,
    note: 'a signature by a key the JWKS does not publish, and an exp already past: Better Auth verifies the id_token too, so the app\'s sign-ins fail (as observed, no cause named); the id_token check (at Zitadel\'s own authorize, no saved session) names both',
    mustFail: [
      { title: T.signInAdmin, message: re('the sign-in ended on [^ ]+\\?error=unable_to_get_user_info') },
      { title: T.signInViewer, message: re('the sign-in ended on [^ ]+\\?error=unable_to_get_user_info') },
      { title: T.idToken, message: re('^(?=[\\s\\S]*the id_token\'s signature does not verify against the published JWKS \\(kid )(?=[\\s\\S]*the id_token expired 36\\d\\d s before it was received)') },
    ],
    mustPass: [],
    mustNotMention: [/carries no nonce|different nonce|audiences \[|which does not name the client|rate limit|Too many requests|accepted a wrong password|cross-site/i],
  },
  {
    name: 'dns-aaaa-dead+cert-chain-incomplete+cert-weak-key+hsts-missing-deployer+redirect-other-host+db-default-dropped+db-index-missing',
    faults: ['dns-aaaa-dead', 'cert-chain-incomplete', 'cert-weak-key', 'hsts-missing-deployer', 'redirect-other-host', 'db-default-dropped', 'db-index-missing'],
    projects: ['infra', 'db'],
    note: "the auth host's AAAA vs. the app host's served chain vs. the deployer's key and its HSTS vs. the auth host's plain-HTTP redirect vs. one column default vs. one unique index",
    mustFail: [
      { title: T.dns('auth'), message: re(`${AUTH}: AAAA via \\S+ → 100::1, the discard-only prefix`), hint: 'dns-aaaa-wrong' },
      { title: T.tls('app'), message: re(`${APP} \\(127\\.0\\.0\\.1\\): the server sends only the leaf certificate`), hint: 'cert-chain-incomplete' },
      { title: T.tls('deployer'), message: re(`${DEPLOYER} \\(127\\.0\\.0\\.1\\): the leaf certificate's key is RSA-1024, below the 2048-bit floor`), hint: 'cert-weak-key' },
      { title: T.hsts('deployer'), message: re(`${DEPLOYER}/api/health \\(status 200\\): no Strict-Transport-Security header`), hint: 'hsts-missing' },
      { title: T.redirect('auth'), message: re(`${AUTH}: plain HTTP on port \\d+: redirect goes to another host: ${APP}:\\d+`), hint: 'redirect-wrong-host' },
      { title: T.table('gadgetbots'), message: re("gadgetbots\\.status: default none, expected 'available'"), hint: 'db-schema-drift' },
      { title: T.table('sessions'), message: re('sessions\\.token: not unique: no unique constraint or unique index on \\(token\\)'), hint: 'db-schema-drift' },
    ],
    // The AAAA is the DNS check's finding: TLS skips that address (and passes on the A); the agreement holds.
    mustPass: [
      { title: T.tls('auth') }, { title: T.dnsAgree }, { title: T.dns('app') }, { title: T.redirect('app') }, { title: T.hsts('auth') },
      { title: T.deployerHealth }, { title: T.migrations }, { title: T.table('users') },
    ],
    mustNotMention: [/instead of redirecting|dropped the (path|query)|redirect loop/i, /NXDOMAIN|cannot resolve/i, /expired|self-signed/i, /max-age=\d+ \(/],
  },
  {
    name: 'tls-legacy-versions+cert-sha1-signature+hsts-short-max-age+redirect-drops-path+redirect-loop+dns-caa-forbids-le+deployer-health-misrouted',
    faults: ['tls-legacy-versions', 'cert-sha1-signature', 'hsts-short-max-age', 'redirect-drops-path', 'redirect-loop', 'dns-caa-forbids-le', 'deployer-health-misrouted'],
    projects: ['infra'],
    note: "the edge's TLS versions (every host) and the auth certificate's signature vs. the app's HSTS strength vs. the app's and the deployer's plain-HTTP redirects vs. the zone's CAA",
    mustFail: [
      { title: T.tls('app'), message: re(`${APP} \\(127\\.0\\.0\\.1\\): accepts a TLSv1(\\.1)? handshake`), hint: 'tls-legacy-versions' },
      { title: T.tls('deployer'), message: re(`${DEPLOYER} \\(127\\.0\\.0\\.1\\): accepts a TLSv1(\\.1)? handshake`), hint: 'tls-legacy-versions' },
      // The signature comes first (the hint goes by the first line).
      { title: T.tls('auth'), message: re(`${AUTH} \\(127\\.0\\.0\\.1\\): the leaf certificate is signed with ecdsa-with-SHA1`), hint: 'cert-weak-signature' },
      { title: T.hsts('app'), message: re(`${APP}/ \\(status 200\\): HSTS max-age=60 \\(0 days\\), below the floor of 15552000 s`), hint: 'hsts-weak' },
      { title: T.redirect('app'), message: re(`${APP}: plain HTTP on port \\d+: redirect dropped the path: /gbv-redirect-check/\\S+ became /$`, 'im'), hint: 'redirect-drops-path' },
      { title: T.redirect('deployer'), message: re(`${DEPLOYER}: plain HTTP on port \\d+: redirect loop`), hint: 'redirect-loop' },
      { title: T.caa, message: re(`${APP}: CAA at stack\\.test allows only pki\\.goog, not letsencrypt\\.org`), hint: 'caa-forbids-le' },
      // 200, but the dashboard's page instead of Coolify's "OK": the status alone would pass.
      { title: T.deployerHealth, message: re(`${DEPLOYER}:\\d+: /api/health answered 200 with "<!DOCTYPE html>.*", not Coolify's "OK"`), hint: 'health-other-service' },
    ],
    mustPass: [{ title: T.dns('app') }, { title: T.hsts('deployer') }, { title: T.redirect('auth') }, { title: T.appGet }],
    mustNotMention: [/instead of redirecting|missing redirect/i, /no Strict-Transport-Security header/i, /redirect goes to another host/i],
  },
  {
    name: 'backup-stale+backup-failing+backup-disabled+backup-retention-short+backup-weekly',
    faults: ['backup-stale', 'backup-failing', 'backup-disabled', 'backup-retention-short', 'backup-weekly'],
    projects: ['infra'],
    note: "gadgetbot-db: weekly schedule, 3 days kept, newest backup 74 h old; zitadel-db: schedule disabled, 5 days kept, runs failing (stale password): each its own check",
    mustFail: [
      { title: T.backupSchedule('gadgetbot-db'), message: /"0 2 \* \* 0"/ },
      { title: T.backupRetention('gadgetbot-db'), message: /keeps 3 days/ },
      { title: T.backupNewest('gadgetbot-db'), message: /7\d\.\d h old.*older than BACKUP_MAX_AGE_HOURS/ },
      { title: T.backupSchedule('zitadel-db'), message: /\(disabled, / },
      { title: T.backupRetention('zitadel-db'), message: /keeps 5 days/ },
      { title: T.backupNewest('zitadel-db'), message: /failed: .*password authentication failed/, hint: 'backup-failing' },
    ],
    mustPass: [{ title: T.deployerHealth }, { title: T.appGet }],
  },
  {
    name: 'redeploy-noop+auth-upgrade-no-restart+rollback-no-switch',
    // Deployments that change nothing leave the deployment as they found it: the rows after it on the shared stack
    // run on the same instances.
    sharedStack: true,
    faults: ['redeploy-noop', 'auth-upgrade-no-restart', 'rollback-no-switch'],
    projects: ['disruptive'],
    workers: 1,
    note: 'deployments that report "finished" and change nothing: the app deploy, the auth stack deploy, the rollback (each its own check)',
    mustFail: [
      { title: T.redeploy, message: re('nothing was redeployed') },
      { title: T.zitadelUpgrade, message: re('did not restart') },
      { title: T.rollback, message: re('still runs image') },
    ],
    mustPass: [],
  },
  // ---- product management, authorization and attacks: a second way to break each promise (attacks) ----------------
  {
    name: 'list-skips-newest+origin-check-prefix',
    sharedStack: true,
    faults: ['list-skips-newest', 'origin-check-prefix', 'cors-allows-null'],
    projects: ['setup', 'crud', 'auth'],
    // One worker: the list must skip one of *our* bots, so nobody else may create a newer one meanwhile.
    workers: 1,
    note: 'the bot list (API and page) vs. oRPC\'s Origin check and a CORS allow-list holding "null" (warnings: the cookie stays SameSite=Lax)',
    mustFail: [
      { title: T.apiCrud, message: re('list does not show "[^"]+" \\((cleaning|gardening|security)\\)') },
      { title: T.uiList, message: re('the products list does not show "[^"]+"') },
    ],
    mustWarn: [
      { title: T.crossSite, message: re(`oRPC accepts cross-site Origin https://${APP}\\.evil\\.example:\\d+ .*the Origin check accepts look-alikes.*SameSite=Lax`) },
      { title: T.crossSiteRead, message: re('^oRPC\'s CORS lets cross-site origin null \\(null, answered 403\\) read its answers with credentials .*SameSite=Lax session cookie cross-site') },
    ],
    mustPass: [{ title: T.nonAdmin }, { title: T.apiAnon }],
    mustNotMention: [/non-admin|without a session|kept the row|cross-site request forgery: |cross-site data theft|open redirect/i],
  },
  {
    name: 'list-omits-type+trusted-origin-wildcard+create-takes-specs',
    faults: ['list-omits-type', 'trusted-origin-wildcard', 'create-takes-specs'],
    projects: ['setup', 'crud', 'auth'],
    note: 'the products page (one type missing) vs. Better Auth\'s trusted origins (a host-suffix look-alike passes the callbackURL check) vs. a create that takes the specs the caller sends',
    mustFail: [
      { title: T.apiFixedFields, message: re('create \\(answered 200\\) stored what the caller sent instead of the (cleaning|gardening|security) specs and the default status, on "[^"]+": batteryLife [\\d.]+ → 1\\d\\d, maxLoadCapacity') },
      { title: T.uiList, message: re('the products list does not show "[^"]+" \\(security\\)') },
      { title: T.externalCallback, message: re('open redirect: Better Auth\'s callbackURL check \\(the one sign-in uses\\) accepted \\d+ of \\d+ external callbackURLs: [^\\n]*host-suffix'), hint: 'open-redirect' },
    ],
    mustPass: [{ title: T.apiCrud }, { title: T.crossSite }],
    mustNotMention: [/non-admin|without a session|kept the row|cross-site request forgery: |with type \w+, but it was created as/i],
  },
  {
    name: 'list-keeps-deleted+admin-check-create-only+update-writes-any-field',
    sharedStack: true,
    faults: ['list-keeps-deleted', 'admin-check-create-only', 'update-writes-any-field'],
    projects: ['setup', 'crud'],
    note: 'the products page after a delete (the API forgets the bot) vs. the admin check on update and delete vs. an update that writes every field sent',
    mustFail: [
      { title: T.apiFixedFields, message: re('update \\(answered 200, sent with the same battery life\\) stored the other fields the caller sent on "[^"]+": name [^,]+ → [^,]+, type \\w+ → \\w+, status available → retired, maxLoadCapacity') },
      { title: T.uiCrudGate, message: re('the products list keeps showing "[^"]+" after the delete dialog, a refetch and a reload, though getById no longer finds it') },
      { title: T.nonAdmin, message: re('a non-admin user could (update|delete) as gbv-viewer'), hint: 'no-admin-check' },
    ],
    mustPass: [{ title: T.apiCrud }, { title: T.apiAnon }],
    mustNotMention: [/without a session|kept the row|a non-admin user could create/i],
  },
  {
    name: 'create-wrong-type',
    sharedStack: true,
    faults: ['create-wrong-type'],
    projects: ['setup', 'crud'],
    note: 'blame by inference: a bot stored with the wrong type must not read as an authorization breach (the anonymous and non-admin checks compare their own before/after reads)',
    mustFail: [
      { title: T.apiCrud, message: re('with type cleaning, but it was created as (gardening|security)') },
      { title: T.uiList, message: re('the products list shows "[^"]+" with type cleaning, but it was created as (gardening|security)') },
    ],
    mustPass: [{ title: T.apiAnon }, { title: T.nonAdmin }],
    mustNotMention: [/non-admin|authoriz|anonymous|without a session|kept the row/i],
  },
  {
    name: 'create-wrong-specs+cookie-samesite-none',
    faults: ['create-wrong-specs', 'cookie-samesite-none'],
    projects: ['setup', 'crud', 'auth'],
    note: 'specs stored one type off vs. a SameSite=None session cookie behind an intact Origin check (a warning)',
    mustFail: [
      { title: T.apiCrud, message: re('with battery life \\d+ h, expected \\d+ h') },
      { title: T.securePrefix, message: re('session_token has SameSite=None \\(expected Lax or Strict\\)') },
    ],
    mustWarn: [{ title: T.crossSite, message: re('^Chromium sent the admin\'s session cookie \\(SameSite=None\\) with a cross-site request from (http://)?127\\.0\\.0\\.1:\\d+; only oRPC\'s Origin check stopped the write') }],
    mustPass: [{ title: T.apiFixedFields }, { title: T.apiAnon }, { title: T.nonAdmin }, { title: T.crossSiteRead }],
    mustNotMention: [/non-admin|without a session|kept the row|open redirect|cross-site request forgery: a page|cross-site data theft/i],
  },
  {
    name: 'cookie-samesite-none+no-csrf-check',
    faults: ['cookie-samesite-none', 'no-csrf-check', 'cors-reflects-origin'],
    projects: ['setup', 'auth'],
    note: 'every line of defence gone: a real cross-site page writes in the admin\'s name and reads the admin\'s list (failures, not warnings)',
    mustFail: [
      { title: T.crossSite, message: re('cross-site request forgery: a page on another site \\(127\\.0\\.0\\.1:\\d+\\) created "[^"]+" through the admin\'s session in Chromium') },
      { title: T.crossSiteRead, message: re('cross-site data theft: a page on another site \\(127\\.0\\.0\\.1:\\d+\\) read the admin\'s product list in Chromium \\(the admin\'s bot was in it') },
      { title: T.securePrefix, message: re('SameSite=None') },
    ],
    mustPass: [{ title: T.adminRedirect }],
    mustNotMention: [/open redirect|forged callback|non-admin|WITHOUT the admin's session cookie/i],
  },
  {
    name: 'update-wrong-field+anon-list-answers',
    sharedStack: true,
    faults: ['update-wrong-field', 'anon-list-answers'],
    projects: ['setup', 'crud'],
    note: 'an update landing in the wrong column vs. one read procedure open to anonymous callers',
    mustFail: [
      { title: T.apiCrud, message: re('update\'s answer shows "[^"]+" \\(\\w+\\) with battery life [\\d.]+ h, expected [\\d.]+ h') },
      { title: T.apiAnon, message: re('list without a session answered 200'), hint: 'no-session-check' },
    ],
    mustPass: [{ title: T.apiFixedFields }, { title: T.nonAdmin }, { title: T.uiList }],
    mustNotMention: [/non-admin|kept the row|(getById|create|update|deleteById|new) without a session answered 2/i],
  },
  {
    name: 'update-not-saved+no-csrf-check',
    sharedStack: true,
    faults: ['update-not-saved', 'no-csrf-check', 'cors-reflects-origin'],
    projects: ['setup', 'crud', 'auth'],
    note: 'an update that is answered but not stored vs. no Origin check on oRPC and CORS for any origin (warnings while the cookie is SameSite=Lax, as on today\'s real app)',
    // The session cookie stays SameSite=Lax: the browser does not send it cross-site, so the missing Origin check is a
    // missing second line of defence.
    mustWarn: [
      { title: T.crossSite, message: re('^oRPC accepts cross-site Origin https://evil\\.example .*\\(no Origin check\\); browsers do not send the SameSite=Lax session cookie cross-site, so this is a missing second line of defence') },
      { title: T.crossSiteRead, message: re('^oRPC\'s CORS lets cross-site origin https://evil\\.example \\(other-site, answered 200\\).* read its answers with credentials .*browsers do not send the SameSite=Lax session cookie cross-site \\(the test\'s page could not read the admin\'s data: read 401 not-found\\)') },
    ],
    mustFail: [
      { title: T.apiCrud, message: re('getById after update shows "[^"]+" \\(\\w+\\) with battery life [\\d.]+ h, expected [\\d.]+ h') },
      { title: T.uiCrudOthers, message: re('the detail page shows [\\d.]+ hours after the update') },
    ],
    mustPass: [{ title: T.apiAnon }, { title: T.nonAdmin }],
    mustNotMention: [/non-admin|without a session|kept the row/i],
  },
];

/**
 * Tests no fault can break, each with the reason (and `skipsOnStack` where it skips itself on the embedded stack).
 * Empty on purpose: a check nothing can fail proves nothing, so every check has a fault above.
 */
export const NOT_FAULT_GUARDED: { title: RegExp; reason: string; skipsOnStack?: boolean }[] = [];

/**
 * Diagnosis hints (helpers/diagnosis.ts) no fault of the stack produces, each with the reason. Every other hint is
 * required on its failure by some row above, so the hints QA reads are proven on real failures, not only on the
 * sample messages of selftest/verdict.test.ts.
 */
export const HINTS_OFF_STACK: { id: string; reason: string }[] = [
  { id: 'tls-warning-browser-cache', reason: "a browser's memory of an earlier failed TLS attempt: a state of the person's browser, not of the deployment" },
  { id: 'healthcheck-needs-curl', reason: "Coolify's in-container healthcheck (curl missing from the image) has no counterpart in a stack without containers" },
  { id: 'timeout', reason: 'needs a firewall that drops packets; loopback refuses or answers at once (no root-free way to black-hole a port)' },
  { id: 'database-unreachable', reason: 'the suite reads the database with the target\'s DATABASE_URL; a wrong one is a configuration error of the run, proven with samples' },
  { id: 'sign-in-failed', reason: 'wrong credentials in the run\'s config; every stack fault that breaks the sign-in has a more specific hint (redirect URI, auth method, Login V1)' },
  { id: 'config', reason: 'bad configuration stops the run before any test (exit 2, proven in selftest/config.test.ts), so no test carries the hint' },
];
