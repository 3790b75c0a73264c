// The fault catalogue: each fault breaks exactly one promise of the deployment, so that the suite can prove
// it notices that breakage (the fault matrix in selftest/ runs the suite once per fault).

/** The product faults (the bot list, create, update, the router's checks): the app reads each per request. */
const PRODUCT_FAULTS = [
  'list-skips-newest',
  'list-omits-type',
  'list-keeps-deleted',
  'create-wrong-type',
  'create-wrong-specs',
  'create-takes-specs',
  'update-wrong-field',
  'update-not-saved',
  'update-writes-any-field',
  'admin-check-create-only',
  'anon-list-answers',
] as const;

export const FAULT_IDS = [
  'cert-expired',
  'cert-wrong-host',
  'cert-expiring-soon',
  'dns-wrong-a',
  'dns-missing-auth',
  'app-health-failing',
  'no-https-redirect',
  'login-v1',
  'issuer-mismatch',
  'db-missing-table',
  'db-unapplied-migration',
  'redeploy-loses-sessions',
  'redeploy-stop-start',
  'no-admin-check',
  'delete-keeps-row',
  'signout-keeps-session',
  'session-cookie-not-persistent',
  'db-port-exposed',
  'missing-security-headers',
  'open-redirect',
  'callback-replay',
  'app-404-path-prefix',
  'redirect-uri-unregistered',
  'auth-method-basic',
  'auth-not-ready',
  'db-url-postgres-scheme',
  'no-session-check',
  'list-snapshot',
  'wrong-password-accepted',
  'auth-healthz-failing',
  'auth-upgrade-changes-issuer',
  'dns-secondary-stale',
  'dns-secondary-missing',
  'dns-missing-deployer',
  'cert-default-deployer',
  'deployer-health-failing',
  'http-port-closed',
  'auth-missing-security-headers',
  'db-column-drift',
  'db-wrong-major',
  'no-pkce',
  'no-csrf-check',
  'cookie-no-secure-prefix',
  'session-short-lived',
  'signout-ends-all-sessions',
  'wrong-password-accepted-viewer',
  'id-token-nonce-dropped',
  'id-token-extra-audience',
  'id-token-foreign-key',
  'id-token-expired',
  'login-skips-password',
  'dns-aaaa-dead',
  'dns-caa-forbids-le',
  'cert-weak-key',
  'cert-sha1-signature',
  'cert-chain-incomplete',
  'tls-legacy-versions',
  'hsts-short-max-age',
  'hsts-missing-deployer',
  'redirect-drops-path',
  'redirect-drops-query',
  'redirect-other-host',
  'redirect-loop',
  'db-default-dropped',
  'db-index-missing',
  'deployer-health-misrouted',
  'redeploy-noop',
  'auth-upgrade-no-restart',
  'rollback-loses-sessions',
  'rollback-no-switch',
  'backup-stale',
  'backup-failing',
  'backup-disabled',
  'backup-retention-short',
  'backup-weekly',
  ...PRODUCT_FAULTS,
  'origin-check-prefix',
  'cookie-samesite-none',
  'trusted-origin-wildcard',
  'cors-reflects-origin',
  'cors-allows-null',
] as const;

export type FaultId = (typeof FAULT_IDS)[number];

export type FaultOwner = 'ca/edge' | 'dns' | 'app' | 'edge' | 'auth' | 'postgres' | 'deployer' | 'app/edge' | 'orchestrator';

export interface Fault {
  id: FaultId;
  owner: FaultOwner;
  /** What is broken in the embedded stack while the fault is on. */
  breaks: string;
  /** The promise of the deployment that this fault violates (what the suite must catch). */
  promise: string;
}

export const FAULTS: readonly Fault[] = [
  {
    id: 'cert-expired',
    owner: 'ca/edge',
    breaks: 'app host cert expired yesterday',
    promise: 'every host serves a currently valid certificate',
  },
  {
    id: 'cert-wrong-host',
    owner: 'ca/edge',
    breaks: 'app host serves a cert for other.stack.test only',
    promise: "every host's certificate names that host",
  },
  {
    id: 'cert-expiring-soon',
    owner: 'ca/edge',
    breaks: 'app host cert has 10 days left',
    promise: 'certificates are renewed well before they expire (more than CERT_WARN_DAYS left)',
  },
  {
    id: 'dns-wrong-a',
    owner: 'dns',
    breaks: 'app host A -> 127.0.0.3 (nothing listens)',
    promise: 'all three host names resolve to the server address',
  },
  {
    id: 'dns-missing-auth',
    owner: 'dns',
    breaks: 'auth host NXDOMAIN',
    promise: 'all three host names resolve to the server address',
  },
  {
    id: 'app-health-failing',
    owner: 'app',
    breaks: 'GET / answers 500',
    promise: 'the app is up and its healthcheck (GET / 2xx) passes',
  },
  {
    id: 'no-https-redirect',
    owner: 'edge',
    breaks: 'plain HTTP serves the site (200) instead of redirecting',
    promise: 'port 80 redirects to HTTPS',
  },
  {
    id: 'login-v1',
    owner: 'auth',
    breaks: 'Login V2 not required: authorize lands on the old UI /ui/login/login?authRequestID=...',
    promise: 'sign-in goes through Zitadel Login V2',
  },
  {
    id: 'issuer-mismatch',
    owner: 'auth',
    breaks: 'discovery issuer differs from the auth URL',
    promise: "the issuer in OIDC discovery is the auth host's URL",
  },
  {
    id: 'db-missing-table',
    owner: 'postgres',
    breaks: 'table verifications absent',
    promise: 'the app database has every table the app needs',
  },
  {
    id: 'db-unapplied-migration',
    owner: 'postgres',
    breaks: 'second migration not applied (and not recorded)',
    promise: 'every migration is applied',
  },
  {
    id: 'redeploy-loses-sessions',
    owner: 'deployer',
    breaks: 'a redeploy rotates BETTER_AUTH_SECRET',
    promise: 'an app redeploy keeps users signed in',
  },
  {
    id: 'redeploy-stop-start',
    owner: 'deployer',
    breaks: 'app redeploy stops the old process first, waits redeployGapMs, then starts',
    promise: 'an app redeploy is a rolling update without downtime',
  },
  {
    id: 'no-admin-check',
    owner: 'app',
    breaks: 'any signed-in user may create/update/delete (today\'s real app)',
    promise: 'only admins may create, update or delete GadgetBots',
  },
  {
    id: 'delete-keeps-row',
    owner: 'app',
    breaks: 'deleteById answers success but keeps the row',
    promise: 'a deleted GadgetBot is gone',
  },
  {
    id: 'signout-keeps-session',
    owner: 'app',
    breaks: 'sign-out clears the cookie but leaves the server session valid',
    promise: 'sign-out ends the session on the server',
  },
  {
    id: 'session-cookie-not-persistent',
    owner: 'app',
    breaks: 'session cookie without Max-Age/Expires',
    promise: 'the session survives a browser restart (persistent cookie)',
  },
  {
    id: 'db-port-exposed',
    owner: 'postgres',
    breaks: 'Postgres also listens on 127.0.0.1',
    promise: 'only the edge ports are open on the public address',
  },
  {
    id: 'missing-security-headers',
    owner: 'app/edge',
    breaks: 'no HSTS, X-Content-Type-Options, framing protection',
    promise: 'the app sends the basic security headers',
  },
  {
    id: 'open-redirect',
    owner: 'app',
    breaks: 'sign-in accepts an external callbackURL',
    promise: 'sign-in only redirects back into the app',
  },
  {
    id: 'callback-replay',
    owner: 'app',
    breaks: 'callback ignores a state mismatch (forged/replayed callback creates a session)',
    promise: 'the OAuth callback checks state (no forged or replayed sign-in)',
  },
  {
    id: 'app-404-path-prefix',
    owner: 'edge',
    breaks: 'app host routed only under path prefix /gadgetbot.stack.test (Coolify domain without https://)',
    promise: 'the app answers at the root of its host',
  },
  {
    id: 'redirect-uri-unregistered',
    owner: 'auth',
    breaks: "client registered with a different redirect URI: authorize shows Zitadel's error page",
    promise: "the app's redirect URI is registered with the auth client",
  },
  {
    id: 'auth-method-basic',
    owner: 'auth',
    breaks: 'client requires client_secret_basic: token exchange answers 401',
    promise: 'the auth client is a public PKCE client (auth method None)',
  },
  {
    id: 'auth-not-ready',
    owner: 'auth',
    breaks: '/debug/ready answers 503',
    promise: 'the auth service reports itself ready',
  },
  {
    id: 'db-url-postgres-scheme',
    owner: 'orchestrator',
    breaks: "target's DATABASE_URL uses postgres://",
    promise: 'DATABASE_URL starts with postgresql:// (the app refuses postgres://)',
  },
  {
    id: 'no-session-check',
    owner: 'app',
    breaks: 'admin pages render for anonymous visitors and oRPC reads answer without a session',
    promise: 'admin pages and the API require a signed-in session',
  },
  {
    id: 'list-snapshot',
    owner: 'app',
    breaks: 'the products page lists only bots that existed when the app started (a stale snapshot)',
    promise: 'the products list shows every GadgetBot',
  },
  {
    id: 'wrong-password-accepted',
    owner: 'auth',
    breaks: 'the password step accepts any password for an existing login name',
    promise: 'a wrong password is refused and creates no session',
  },
  {
    id: 'auth-healthz-failing',
    owner: 'auth',
    breaks: '/debug/healthz answers 503',
    promise: 'the auth service reports itself alive',
  },
  {
    id: 'auth-upgrade-changes-issuer',
    owner: 'auth',
    breaks: 'after an auth redeploy (a start on an initialised database) discovery names another issuer',
    promise: 'a Zitadel upgrade keeps the issuer',
  },
  {
    id: 'dns-secondary-stale',
    owner: 'dns',
    breaks: 'the second nameserver still answers the app host with the old address 127.0.0.3',
    promise: 'every nameserver of the domain gives the same, current answers',
  },
  {
    id: 'dns-secondary-missing',
    owner: 'dns',
    breaks: 'the second nameserver does not have the deployer host (a record added at the primary never reached it): NXDOMAIN there',
    promise: 'every nameserver of the domain gives the same, current answers',
  },
  {
    id: 'dns-missing-deployer',
    owner: 'dns',
    breaks: 'deployer host NXDOMAIN',
    promise: 'all three host names resolve to the server address',
  },
  {
    id: 'cert-default-deployer',
    owner: 'ca/edge',
    breaks: "deployer host serves the edge's self-signed default certificate (Traefik's when ACME failed)",
    promise: 'every host serves a certificate from the expected issuer',
  },
  {
    id: 'deployer-health-failing',
    owner: 'deployer',
    breaks: '/api/health answers 503',
    promise: 'the deployer (Coolify) API is up',
  },
  {
    id: 'http-port-closed',
    owner: 'edge',
    breaks: 'nothing listens on the plain-HTTP port (the web entrypoint is missing)',
    promise: 'the expected edge ports (HTTPS and HTTP) answer',
  },
  {
    id: 'auth-missing-security-headers',
    owner: 'auth',
    breaks: 'Login V2 pages without HSTS, X-Content-Type-Options, framing protection',
    promise: 'the sign-in pages send the basic security headers',
  },
  {
    id: 'db-column-drift',
    owner: 'postgres',
    breaks: 'gadgetbots.battery_life is integer and gadgetbots.image_url missing (a hand-edited schema)',
    promise: 'the gadgetbots table matches the migrations',
  },
  {
    id: 'db-wrong-major',
    owner: 'postgres',
    breaks: "the reader's search_path shadows current_setting() so the server reports 16.4 (the embedded binaries are 17 only)",
    promise: 'the database server is PostgreSQL 17',
  },
  {
    id: 'no-pkce',
    owner: 'app',
    breaks: 'the app signs in without PKCE and the auth client does not require it',
    promise: 'sign-in uses PKCE (S256) and state',
  },
  {
    id: 'no-csrf-check',
    owner: 'app',
    breaks: 'oRPC accepts cross-site requests that carry the session cookie',
    promise: 'the API refuses cross-site requests (CSRF)',
  },
  {
    id: 'cookie-no-secure-prefix',
    owner: 'app',
    breaks: 'session cookies are set without the __Secure- prefix (useSecureCookies off)',
    promise: 'session cookies are __Secure- prefixed (HTTPS only)',
  },
  {
    id: 'session-short-lived',
    owner: 'app',
    breaks: 'sessions expire 10 minutes after sign-in (expiresIn misconfigured)',
    promise: 'a saved session stays signed in for days (at least SESSION_MIN_HOURS)',
  },
  {
    id: 'signout-ends-all-sessions',
    owner: 'app',
    breaks: 'sign-out deletes every session of every user, not only the caller\'s',
    promise: 'sign-out ends the caller\'s session and no one else\'s',
  },
  {
    id: 'wrong-password-accepted-viewer',
    owner: 'auth',
    breaks: 'the password step accepts any password for users without the admin role (the admin is still checked)',
    promise: 'a wrong password is refused for every user',
  },
  {
    id: 'id-token-nonce-dropped',
    owner: 'auth',
    breaks: 'id_tokens leave out the nonce the authorize request sent (still signed by the published key)',
    promise: 'an id_token is bound to the sign-in that asked for it (nonce), verifiable by any relying party',
  },
  {
    id: 'id-token-extra-audience',
    owner: 'auth',
    breaks: 'id_tokens name a second audience besides the client, without azp (still signed by the published key)',
    promise: 'an id_token is issued for this client only, verifiable by any relying party',
  },
  {
    id: 'id-token-foreign-key',
    owner: 'auth',
    breaks: 'id_tokens are signed by a new key under the published key\'s kid, and the JWKS still publishes the old one (a key rotation that forgot the JWKS)',
    promise: 'an id_token verifies against the published JWKS',
  },
  {
    id: 'id-token-expired',
    owner: 'auth',
    breaks: 'id_tokens are issued with a clock an hour behind: exp is already past when they arrive (signed by the published key)',
    promise: 'an id_token is unexpired when it is issued',
  },
  {
    id: 'login-skips-password',
    owner: 'auth',
    breaks: 'Login V2 finishes an app\'s sign-in after the login name alone, without the password screen',
    promise: 'signing in to the app takes the Login V2 sequence with the user\'s password',
  },
  {
    id: 'dns-aaaa-dead',
    owner: 'dns',
    breaks: "the auth host's AAAA points at 100::1 (IPv6 discard prefix) while its A record is right",
    promise: 'every address a host name resolves to (A and AAAA) reaches the server',
  },
  {
    id: 'dns-caa-forbids-le',
    owner: 'dns',
    breaks: "the zone's CAA set allows only pki.goog, so Let's Encrypt must refuse every renewal",
    promise: "Let's Encrypt may issue for every host (CAA absent or naming letsencrypt.org)",
  },
  {
    id: 'cert-weak-key',
    owner: 'ca/edge',
    breaks: 'the deployer host serves a certificate with an RSA-1024 key (the edge stays at TLS 1.2, as set-ups with such keys do)',
    promise: 'certificate keys are strong (RSA >= 2048 bits, EC >= 256 bits)',
  },
  {
    id: 'cert-sha1-signature',
    owner: 'ca/edge',
    breaks: "the auth host's certificate is signed with ECDSA-SHA1",
    promise: 'certificates are signed with SHA-256 or stronger (no SHA-1, no MD5)',
  },
  {
    id: 'cert-chain-incomplete',
    owner: 'ca/edge',
    breaks: 'the app host serves its leaf certificate without the intermediate (cert.pem instead of fullchain.pem)',
    promise: 'every host serves the chain up to a trusted root (leaf + intermediate)',
  },
  {
    id: 'tls-legacy-versions',
    owner: 'edge',
    breaks: 'the edge accepts TLS 1.0 and 1.1 handshakes on every host',
    promise: 'TLS 1.0 and 1.1 are refused; TLS 1.2 or newer is negotiated',
  },
  {
    id: 'hsts-short-max-age',
    owner: 'edge',
    breaks: 'a headers middleware on the app host rewrites HSTS to max-age=60',
    promise: 'every host sends HSTS with max-age of at least HSTS_MIN_MAX_AGE',
  },
  {
    id: 'hsts-missing-deployer',
    owner: 'edge',
    breaks: 'the deployer host has no HSTS (its router lacks the headers middleware the others have)',
    promise: 'every host sends HSTS with max-age of at least HSTS_MIN_MAX_AGE',
  },
  {
    id: 'redirect-drops-path',
    owner: 'edge',
    breaks: "the app host's plain-HTTP redirect goes to https://<host>/ whatever the path and query",
    promise: 'plain HTTP redirects to https on the same host, path and query kept',
  },
  {
    id: 'redirect-drops-query',
    owner: 'edge',
    breaks: "the deployer host's plain-HTTP redirect keeps the path but drops the query string",
    promise: 'plain HTTP redirects to https on the same host, path and query kept',
  },
  {
    id: 'redirect-other-host',
    owner: 'edge',
    breaks: "the auth host's plain-HTTP redirect goes to the app host",
    promise: 'plain HTTP redirects to https on the same host, path and query kept',
  },
  {
    id: 'redirect-loop',
    owner: 'edge',
    breaks: "the deployer host's plain-HTTP answer is a 302 to its own http:// URL (a redirect loop)",
    promise: 'plain HTTP redirects to https on the same host, path and query kept',
  },
  {
    id: 'db-default-dropped',
    owner: 'postgres',
    breaks: "gadgetbots.status lost its default 'available' (hand-edited after the migrations)",
    promise: 'the app tables match the migrations: columns, types, defaults, constraints, indexes',
  },
  {
    id: 'db-index-missing',
    owner: 'postgres',
    breaks: 'the unique index of sessions.token is gone (sessions_token_unique dropped)',
    promise: 'the app tables match the migrations: columns, types, defaults, constraints, indexes',
  },
  {
    id: 'deployer-health-misrouted',
    owner: 'edge',
    breaks: "a higher-priority router answers the deployer host's /api/health with the dashboard's HTML page (200)",
    promise: "Coolify's health endpoint answers 200 \"OK\" (status and body)",
  },
  {
    id: 'redeploy-noop',
    owner: 'deployer',
    breaks: 'an app deploy reports "finished" without building or starting anything: the old process keeps serving',
    promise: 'a redeploy puts a new app instance in service (proof the action happened)',
  },
  {
    id: 'auth-upgrade-no-restart',
    owner: 'deployer',
    breaks: 'an auth stack deploy reports "finished" without stopping or starting the stack',
    promise: 'a Zitadel upgrade restarts the auth service (proof the action happened)',
  },
  {
    id: 'rollback-loses-sessions',
    owner: 'deployer',
    breaks: 'the earlier image runs with another BETTER_AUTH_SECRET baked in (rolling forward brings the configured one back)',
    promise: 'a rollback keeps users signed in',
  },
  {
    id: 'rollback-no-switch',
    owner: 'deployer',
    breaks: 'a rollback reports "finished" but the app keeps running the image it had',
    promise: 'a rollback puts the earlier image in service',
  },
  {
    id: 'backup-stale',
    owner: 'deployer',
    breaks: "gadgetbot-db's newest backup is 74 hours old (its scheduler stopped)",
    promise: 'each database has a successful backup younger than BACKUP_MAX_AGE_HOURS',
  },
  {
    id: 'backup-failing',
    owner: 'deployer',
    breaks: "zitadel-db's backups fail (the schedule connects with a stale password; Postgres refuses it)",
    promise: "each database's newest backup succeeded",
  },
  {
    id: 'backup-disabled',
    owner: 'deployer',
    breaks: "zitadel-db's backup schedule is disabled",
    promise: 'each database has an enabled backup schedule',
  },
  {
    id: 'backup-retention-short',
    owner: 'deployer',
    breaks: "gadgetbot-db's schedule keeps 3 backups / 3 days locally, zitadel-db's 14 backups but only 5 days",
    promise: 'backups are kept at least BACKUP_MIN_RETENTION days (the plan: 7)',
  },
  {
    id: 'backup-weekly',
    owner: 'deployer',
    breaks: "gadgetbot-db's schedule runs weekly (0 2 * * 0) instead of daily",
    promise: 'each database is backed up at least daily (the plan: daily at 2 AM)',
  },
  {
    id: 'list-skips-newest',
    owner: 'app',
    breaks: 'the bot list (oRPC list and the products page) skips the newest bot (OFFSET 1: pages counted from 1)',
    promise: 'every GadgetBot is listed',
  },
  {
    id: 'list-omits-type',
    owner: 'app',
    breaks: 'the products page leaves out security bots (a leftover type filter); oRPC list is complete',
    promise: 'every GadgetBot is listed',
  },
  {
    id: 'list-keeps-deleted',
    owner: 'app',
    breaks: 'the products page keeps showing deleted bots (a cache of rows that is never invalidated); the API forgets them',
    promise: 'a deleted GadgetBot is gone',
  },
  {
    id: 'create-wrong-type',
    owner: 'app',
    breaks: 'create stores every new bot as a cleaning bot (with cleaning\'s specs), whatever type was asked',
    promise: 'a GadgetBot is created with the type asked for and that type\'s specs',
  },
  {
    id: 'create-wrong-specs',
    owner: 'app',
    breaks: 'create stores the asked type with the specs of the type before it in the list (gardening gets 8 h / 15 kg)',
    promise: 'a GadgetBot is created with the type asked for and that type\'s specs',
  },
  {
    id: 'create-takes-specs',
    owner: 'app',
    breaks: 'create takes battery life and load capacity from the caller\'s input when it sends them, instead of the type\'s specs',
    promise: 'a GadgetBot is created with the type asked for and that type\'s specs',
  },
  {
    id: 'update-wrong-field',
    owner: 'app',
    breaks: 'update writes the new battery life into max_load_capacity',
    promise: 'an update changes battery life, and nothing else',
  },
  {
    id: 'update-not-saved',
    owner: 'app',
    breaks: 'update answers the bot with the new battery life but stores nothing',
    promise: 'an update changes battery life, and nothing else',
  },
  {
    id: 'update-writes-any-field',
    owner: 'app',
    breaks: 'update writes every field the caller sends (name, type, status, load capacity), not only battery life',
    promise: 'an update changes battery life, and nothing else',
  },
  {
    id: 'admin-check-create-only',
    owner: 'app',
    breaks: 'the admin role is checked on create only: any signed-in user may update and delete',
    promise: 'only admins may create, update or delete GadgetBots',
  },
  {
    id: 'anon-list-answers',
    owner: 'app',
    breaks: 'oRPC list answers callers without a session (the other procedures still refuse)',
    promise: 'every oRPC procedure refuses callers without a session',
  },
  {
    id: 'origin-check-prefix',
    owner: 'app',
    breaks: 'oRPC\'s Origin check compares by prefix: https://<app host>.evil.example passes (the session cookie stays SameSite=Lax)',
    promise: 'the API refuses cross-site requests (CSRF)',
  },
  {
    id: 'cookie-samesite-none',
    owner: 'app',
    breaks: 'session cookies are SameSite=None (Better Auth defaultCookieAttributes), so browsers send them cross-site',
    promise: 'the session cookie is not sent with cross-site requests (SameSite=Lax or Strict)',
  },
  {
    id: 'trusted-origin-wildcard',
    owner: 'app',
    breaks: 'Better Auth\'s trustedOrigins has https://<app host>* (a wildcard meant for ports): https://<app host>.evil.example passes as callbackURL and Origin',
    promise: 'sign-in only returns to the app itself (no open redirect)',
  },
  {
    id: 'cors-reflects-origin',
    owner: 'app',
    breaks: 'oRPC answers CORS for any Origin: Access-Control-Allow-Origin echoes it, with Access-Control-Allow-Credentials: true (preflights too)',
    promise: 'no other site can read the API\'s answers in the user\'s name (CORS)',
  },
  {
    id: 'cors-allows-null',
    owner: 'app',
    breaks: 'oRPC\'s CORS allow-list holds the app and "null" (sandboxed frames, data: URLs), with credentials',
    promise: 'no other site can read the API\'s answers in the user\'s name (CORS)',
  },
];

export class FaultError extends Error {
  constructor(
    message: string,
    readonly unknown: string[],
  ) {
    super(message);
    this.name = 'FaultError';
  }
}

const KNOWN = new Set<string>(FAULT_IDS);

export function isFaultId(id: string): id is FaultId {
  return KNOWN.has(id);
}

/**
 * Parses `STACK_FAULTS` (a comma list; blanks and duplicates ignored) or an array of ids.
 * Unknown ids are rejected with one message that lists every valid id.
 */
export function parseFaults(input: string | readonly string[] | undefined | null): FaultId[] {
  const raw = input == null ? [] : typeof input === 'string' ? input.split(',') : [...input];
  const ids = raw.map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = ids.filter((id) => !isFaultId(id));
  if (unknown.length > 0) {
    throw new FaultError(
      `Unknown fault id${unknown.length > 1 ? 's' : ''} in STACK_FAULTS: ${unknown.join(', ')}. ` +
        `Valid ids: ${FAULT_IDS.join(', ')}`,
      unknown,
    );
  }
  return [...new Set(ids as FaultId[])];
}

export function has(faults: readonly string[] | ReadonlySet<string> | undefined, id: FaultId): boolean {
  if (!faults) return false;
  return 'has' in faults ? faults.has(id) : faults.includes(id);
}

export function describeFault(id: FaultId): Fault {
  const f = FAULTS.find((x) => x.id === id);
  if (!f) throw new FaultError(`Unknown fault id: ${id}`, [id]);
  return f;
}

/**
 * Faults that a running stack can switch on and off (StackHandle.setFault, `npm run stack -- fault <id> on|off`),
 * each taking effect from the next request, and applied to every new app or auth instance (a redeploy keeps the
 * set). The others shape how a service is built or started (a client registration, a database schema, a
 * Better Auth option, the target's variables) and need a new stack. Add a fault here only when every place
 * that reads it reads it per request (or the orchestrator re-applies it; see stack/orchestrator/runtime.ts).
 */
export const RUNTIME_FAULTS: readonly FaultId[] = [
  // edge
  'no-https-redirect',
  'app-404-path-prefix',
  'http-port-closed',
  'redirect-drops-path',
  'redirect-drops-query',
  'redirect-other-host',
  'redirect-loop',
  'hsts-short-max-age',
  'hsts-missing-deployer',
  'deployer-health-misrouted',
  // certificates (the edge swaps them; the CA issues new ones)
  'cert-expired',
  'cert-wrong-host',
  'cert-expiring-soon',
  'cert-default-deployer',
  // dns
  'dns-wrong-a',
  'dns-missing-auth',
  'dns-missing-deployer',
  'dns-secondary-stale',
  'dns-secondary-missing',
  // app (read per request)
  'app-health-failing',
  'missing-security-headers',
  'no-admin-check',
  'delete-keeps-row',
  'no-session-check',
  'list-snapshot',
  'no-csrf-check',
  'origin-check-prefix',
  'cors-reflects-origin',
  'cors-allows-null',
  'session-cookie-not-persistent',
  ...PRODUCT_FAULTS,
  // deployer (read at every deploy, rollback and auth upgrade)
  'redeploy-noop',
  'rollback-no-switch',
  'auth-upgrade-no-restart',
  // auth (read per request)
  'auth-healthz-failing',
  'auth-not-ready',
  'login-v1',
  'issuer-mismatch',
  'wrong-password-accepted',
  'auth-missing-security-headers',
];

export function isRuntimeFault(id: FaultId): boolean {
  return RUNTIME_FAULTS.includes(id);
}
