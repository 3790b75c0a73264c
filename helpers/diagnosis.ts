// Known failure signatures → likely cause and fix, in the words of the deployment plan's "Troubleshooting"
// and the interface's Coolify notes. First match wins, so the table runs from specific to general.
// Messages come from the specs, from helpers (tls/dns/http/oidc/db/coolify/probe) and from Node/undici/Chromium
// error codes; the patterns accept all three spellings where they differ.

export type DiagnosisCategory = 'certificate' | 'DNS' | 'availability' | 'authentication' | 'data' | 'authorization' | 'redeploy';

export interface Diagnosis { id: string; cause: string; fix: string }
export interface DiagnosisRule extends Diagnosis { category: DiagnosisCategory; match: RegExp[] }

/** Allure category names, in report order. */
export const CATEGORIES: DiagnosisCategory[] = ['certificate', 'DNS', 'availability', 'authentication', 'data', 'authorization', 'redeploy'];

export const RULES: DiagnosisRule[] = [
  // ---- certificate ----------------------------------------------------------------------------------------
  // The served chain, key and signature first: their messages also carry chain codes the rules below match.
  {
    id: 'cert-chain-incomplete',
    category: 'certificate',
    match: [/sends only the leaf certificate|intermediate \([^)]*\) is missing from the chain/i],
    cause: 'The host serves its leaf certificate without the intermediate: a custom certificate in Traefik\'s dynamic configuration points at cert.pem instead of fullchain.pem (ACME certificates always come with the chain).',
    fix: 'Point the certificate file of that Traefik TLS store entry at fullchain.pem (leaf + intermediate), or drop the custom certificate so Let\'s Encrypt serves the host; reload the proxy.',
  },
  {
    id: 'cert-weak-key',
    category: 'certificate',
    match: [/key is (RSA-\d+|EC [^\n]*\d+ bits), below the \d+-bit floor/i],
    cause: "The certificate's key is below the floor (RSA under 2048 bits, EC under 256): it is not one Traefik's Let's Encrypt resolver made (those are 2048+ RSA or P-256), but a custom or legacy certificate configured for the host.",
    fix: 'Replace it: remove the custom certificate from the proxy\'s dynamic configuration so ACME issues one, or issue a new one with an RSA-2048+/P-256 key.',
  },
  {
    id: 'cert-weak-signature',
    category: 'certificate',
    match: [/is signed with (md2|md5|sha1|ecdsa-with-SHA1)\w*/i],
    cause: "A certificate in the served chain is signed with SHA-1 or MD5, which browsers refuse: it is a custom or legacy certificate, not one Let's Encrypt issues (SHA-256).",
    fix: 'Replace the certificate (and an old intermediate, if that is the one) with one signed with SHA-256, or let Traefik\'s ACME resolver issue it; reload the proxy.',
  },
  {
    id: 'tls-legacy-versions',
    category: 'certificate',
    match: [/accepts a TLSv1(\.1)? handshake/i],
    cause: "The edge accepts TLS 1.0/1.1: Traefik's TLS options lower minVersion (a tls.options entry in the dynamic configuration, often copied for old clients).",
    fix: 'Set minVersion: VersionTLS12 in the default TLS options of the proxy\'s dynamic configuration (Coolify → Servers → Proxy), then reload.',
  },
  {
    id: 'caa-forbids-le',
    category: 'certificate',
    match: [/CAA at \S+ allows only|critical CAA property|CAA lookup failed/i],
    cause: "The domain's CAA records do not allow Let's Encrypt, so every ACME order for these hosts is refused: the certificates stop renewing and expire within 90 days.",
    fix: 'At the DNS provider add a CAA record `0 issue "letsencrypt.org"` to the zone (keep any other CA you use), or remove the restrictive set; then check the Traefik logs for a successful renewal.',
  },
  {
    id: 'cert-expired',
    category: 'certificate',
    match: [/certificate (has )?expired|CERT_HAS_EXPIRED|ERR_CERT_DATE_INVALID|expired \d+ days? ago|not ?valid yet|CERT_NOT_YET_VALID/i],
    cause: "The certificate served for this host has expired: Traefik's Let's Encrypt renewal stopped (the ACME challenge fails, e.g. port 80 does not reach Traefik or the A record moved).",
    fix: 'Check the Coolify proxy (Traefik) logs for ACME errors, make sure port 80 reaches the server and the A record points at it, then restart the proxy so it renews.',
  },
  // Before cert-wrong-host: Traefik's self-signed default certificate fails the name check as well.
  {
    id: 'cert-untrusted',
    category: 'certificate',
    match: [/self[- ]signed|SELF_SIGNED|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER|ERR_CERT_AUTHORITY_INVALID|chain (not trusted|incomplete|not valid)|issuer "[^"]*" does not contain|TRAEFIK DEFAULT CERT/i],
    cause: "The chain is not a Let's Encrypt chain the client trusts: Traefik serves its self-signed default certificate because issuing one failed, or the intermediate is missing.",
    fix: "Check Traefik's ACME logs in Coolify and the resource's https:// domain; after a fix, the issuer must read Let's Encrypt (R10/R11) and the intermediate must be sent.",
  },
  {
    id: 'cert-wrong-host',
    category: 'certificate',
    match: [/does not (cover|name|match) (this host|the host|\S+\.\S+)|ERR_TLS_CERT_ALTNAME_INVALID|ERR_CERT_COMMON_NAME_INVALID|Hostname\/IP does not match|altnames?\b.*\bnot\b/i],
    cause: "The certificate served does not name this host: Traefik has no router with this Host() rule holding a certificate (domain field without https://, or the domain is not set on the resource), so it serves another or its default certificate.",
    fix: "In Coolify set the resource's domain to https://<host> (with the protocol), redeploy, and confirm Traefik obtained a Let's Encrypt certificate for exactly that name.",
  },
  {
    id: 'cert-expiring-soon',
    category: 'certificate',
    match: [/expires in \d+ days?|warning window|renewal is not happening|certificate.*(expir(es|ing) soon|days? left)/i],
    cause: "The certificate is inside the renewal window and has not been renewed: Let's Encrypt renews 30 days before expiry, so renewal is failing quietly.",
    fix: "Look at the Traefik logs in Coolify for ACME/Let's Encrypt errors (port 80 reachable? A record right? rate limit?) before the certificate expires.",
  },
  {
    id: 'tls-warning-browser-cache',
    category: 'certificate',
    match: [/not secure|(browser|chrom\w*)\b[^\n]*\b(warning|interstitial)\b[^\n]*\b(valid|trusted)\b|\bvalid (chain|certificate)\b[^\n]*\b(browser|chrom\w*)\b[^\n]*\b(warning|interstitial)/i],
    cause: 'The browser warns although the certificate chain is valid: it still has state from an earlier failed TLS attempt (plan, issue 5: cache from previous failed SSL attempts).',
    fix: 'Hard refresh (Cmd+Shift+R / Ctrl+Shift+R) or open the site in a private window; nothing to change on the server if the TLS checks pass.',
  },
  // ---- DNS ------------------------------------------------------------------------------------------------
  {
    id: 'dns-aaaa-wrong',
    category: 'DNS',
    match: [/AAAA via \S+ → [^\n]*(cannot connect|refuses connections|does not answer|loopback address)/i],
    cause: "The host's AAAA record points where the server does not answer (an old server's IPv6, a typo, or IPv6 not set up on the server), while its A record is right: IPv6 clients, most mobile networks among them, cannot connect.",
    fix: "Fix the AAAA record at the DNS provider to the server's IPv6 address (Hetzner console), or delete it if the server has no IPv6; then make sure Traefik listens on IPv6.",
  },
  {
    id: 'dns-servers-disagree',
    category: 'DNS',
    match: [/\bDNS servers disagree\b/i],
    // Two causes fit; which is likelier depends on what DNS_SERVERS names (public resolvers by default, or the domain's nameservers).
    cause: "The DNS servers asked give different answers for the host, so a visitor's result depends on which one their resolver reaches. Public resolvers (the default DNS_SERVERS): one still caches the answer from before a recent change, until its TTL runs out. The domain's nameservers: one serves an out-of-date copy of the zone (a secondary whose zone transfer stopped, or a record changed at one provider only).",
    fix: 'If the record changed within its TTL, wait that out and re-run. If it persists, ask each nameserver (dig @<ns> <host> A) and make the stale one transfer the zone again (raise the SOA serial, check NOTIFY/AXFR) or correct the record at the other provider.',
  },
  {
    id: 'dns-wrong-a',
    category: 'DNS',
    // "= none" is a record missing on one server (a secondary out of sync), not one pointing elsewhere: no hint.
    match: [/\bA via \S+ = (?!none\b)[^\n]*\bexpected\b|resolves? to [\d.,\s]+(,|;|\(|but|while|instead)?.*expected|expected (A|IP|address(es)?)\b.*\bgot|A record.*(wrong|mismatch|points)|unexpected (A record|address)/i],
    cause: "The host's A record points somewhere else than the server (a typo, an old server, or a record left over after a move).",
    fix: 'Fix the A record at the DNS provider to the server address (production: 65.21.154.182) and wait for the TTL; Let\'s Encrypt also needs it right to renew.',
  },
  {
    id: 'dns-missing',
    category: 'DNS',
    match: [/ENOTFOUND|NXDOMAIN|ERR_NAME_NOT_RESOLVED|EAI_AGAIN|no A record|does not resolve|cannot resolve|name resolution/i],
    cause: 'The host name does not resolve: the A record is missing (or the name is misspelt in the configuration).',
    fix: 'Create the A record for the host at the DNS provider pointing at the server, then re-run; check APP_URL/AUTH_URL spelling.',
  },
  // ---- authentication (Zitadel) before availability: their messages also carry status codes ---------------
  {
    id: 'redirect-uri-unregistered',
    category: 'authentication',
    match: [
      /redirect[_ ]?uri\b[^\n]*\b(not (registered|allowed|valid)|(does|did) not match|unregistered|mismatch|invalid|missing)|redirect_uri_mismatch|invalid_redirect_uri|(not registered|unregistered)[^\n]*redirect/i,
      // The probe's wording when authorize stops at Zitadel's own error page instead of reaching a login page.
      /lands on \/oauth\/v2\/authorize\b[^\n]*status 400/i,
    ],
    cause: "The app's callback is not a registered redirect URI of the Zitadel application, so Zitadel shows its error page instead of the login.",
    fix: 'In the Zitadel Console (Projects → GadgetBot → Applications → GadgetBot Web) add <app>/api/auth/callback/zitadel to Redirect URIs (and <app> to Post Logout URIs).',
  },
  {
    id: 'login-v1',
    category: 'authentication',
    match: [/\/ui\/login\/|authRequestID|not on Login V2|Login V2 (is )?not (required|used|shown)|old login (UI|page)/i],
    cause: 'Login V2 is not required: Zitadel sends the authorize request to the old login UI (/ui/login/…) instead of /ui/v2/login.',
    fix: 'Set ZITADEL_DEFAULTINSTANCE_FEATURES_LOGINV2_REQUIRED=true (and the Login V2 URLs) in the Zitadel compose file, then redeploy the Zitadel stack.',
  },
  {
    id: 'auth-method-basic',
    category: 'authentication',
    match: [/invalid_client|\binvalid_code\b|client_secret_basic|auth(entication)? method|token (exchange|endpoint|request)\b[^\n]*\b401\b|\b401\b[^\n]*\btoken (exchange|endpoint)|\/oauth\/v2\/token\b[^\n]*\b401\b/i],
    cause: 'The token exchange is refused (401): the OIDC application uses authentication method "Basic", which an import sets, while the app is a public PKCE client without a secret.',
    fix: 'In the Zitadel Console change the application\'s OIDC Authentication Method from "Basic" to "None" (PKCE) after every import.',
  },
  {
    id: 'issuer-mismatch',
    category: 'authentication',
    match: [/issuer\b.*\b(mismatch|differs?|does not match|expected)|unexpected "?iss"?|iss mismatch/i],
    cause: "Zitadel's discovery names another issuer than the auth URL: ZITADEL_EXTERNALDOMAIN / EXTERNALPORT / EXTERNALSECURE do not match the public https URL, or the app's ZITADEL_ISSUER is wrong.",
    fix: 'Set ZITADEL_EXTERNALDOMAIN=<auth host>, ZITADEL_EXTERNALPORT=443, ZITADEL_EXTERNALSECURE=true, and ZITADEL_ISSUER in the app to the same https URL; redeploy both.',
  },
  {
    id: 'health-other-service',
    category: 'availability',
    match: [/answered 200 with "[^\n]*", not (Zitadel's|Coolify's)|answered 200 with another page/i],
    cause: 'The health path answers 200, but with another body than the service\'s own: the router sends this host or path to another container (a Host rule or service port mixed up in Coolify).',
    fix: "Check the resource's domain and port in Coolify (the Traefik router's Host rule and the service's loadbalancer port) and redeploy.",
  },
  {
    id: 'auth-not-ready',
    category: 'authentication',
    match: [/\/debug\/ready|zitadel\b.*\bnot ready|not ready\b.*\bzitadel|readiness/i],
    cause: 'Zitadel answers but is not ready (/debug/ready fails): it is still starting, running migrations, or cannot reach its database.',
    fix: 'Check zitadel-db is running and healthy and the Zitadel logs for init/migration errors (ZITADEL_MASTERKEY must be 32 characters); wait for /debug/ready before sign-in.',
  },
  {
    id: 'auth-down',
    category: 'authentication',
    match: [/\/debug\/healthz\b[^\n]*\b(answered|status) [45]\d\d|zitadel\b[^\n]*\b(down|not running|unreachable)/i],
    cause: 'Zitadel itself does not answer healthy (/debug/healthz): the container is down, restarting, or cannot reach zitadel-db.',
    fix: 'Check the zitadel-stack in Coolify: zitadel-db running and healthy, Zitadel logs for start-up errors, ZITADEL_MASTERKEY 32 characters.',
  },
  // ---- redeploy -------------------------------------------------------------------------------------------
  {
    id: 'sessions-lost-after-redeploy',
    category: 'redeploy',
    match: [/BETTER_AUTH_SECRET|sessions? (were |was |are )?(lost|invalidated|gone)|lost (the |all |their )?sessions?|(signed|logged) out (by|after) (a |an |the )?(app )?(re)?deploy/i],
    cause: 'Users are signed out by an app redeploy: sessions live in the database and survive restarts unless BETTER_AUTH_SECRET changes, which invalidates every signed cookie.',
    fix: "Keep BETTER_AUTH_SECRET fixed in the app's Coolify environment variables (do not generate it per deploy); rotate it only on purpose.",
  },
  {
    id: 'redeploy-stop-start',
    category: 'redeploy',
    match: [/downtime|no available server|stop(s|ped)?[- ]then[- ]start|stops? the old\b|rolling update|during (the )?(re)?deploy/i],
    cause: 'The redeploy stops the old container before the new one is healthy, so Traefik answers 404 / "No available server" meanwhile. Coolify does that instead of a rolling update when ports are mapped to the host, a consistent container name or custom internal name is set, or the resource is Docker Compose.',
    fix: 'For the app: remove host port mappings ("Ports Mappings"), clear the consistent container name / custom internal name, and deploy as a Dockerfile/Nixpacks application so Coolify can roll; for the Zitadel compose stack plan a maintenance window.',
  },
  // ---- availability / routing -----------------------------------------------------------------------------
  {
    id: 'db-url-postgres-scheme',
    category: 'availability',
    match: [/startsWith\("?postgresql:\/\/"?\)|postgres:\/\/(?!\S*postgresql)|expected postgresql:\/\//i],
    cause: 'DATABASE_URL starts with postgres:// (what Coolify hands out) but the app requires postgresql://, so it refuses to start.',
    fix: "Change the protocol of DATABASE_URL in the app's environment variables from postgres:// to postgresql:// and redeploy.",
  },
  {
    id: 'app-404-path-prefix',
    category: 'availability',
    match: [/PathPrefix|path prefix/i, /\b(GET|HEAD) (https?:\/\/[^\s/]+)?\/?(\s|$)[^\n]*\b404\b/i, /\b404\b[^\n]*\b(home|root|front) page\b/i, /answered 404\b(?![^\n]*(\/api\/rpc|instead of redirecting))/i, /Expected: 200\s+Received: 404/],
    cause: 'The app host answers 404 at the edge although the container is healthy: the Coolify domain field lacks https://, so Traefik\'s rule becomes Host(``) && PathPrefix(`<host>`) and nothing routes the host itself.',
    fix: 'In Coolify set the domain to https://<app host> (with the protocol, not just the name), save and redeploy; Traefik\'s router rule must read Host(`<app host>`).',
  },
  {
    id: 'deployer-unhealthy',
    category: 'availability',
    match: [/\/api\/(v1\/)?health\b[^\n]*\banswered [45]\d\d/i],
    cause: "Coolify itself answers its health endpoint with an error: its own database or Redis is down, or the coolify container is restarting.",
    fix: 'On the server: docker ps for coolify, coolify-db, coolify-redis; read their logs; restart Coolify (its upgrade script re-creates missing containers).',
  },
  {
    id: 'app-unhealthy',
    category: 'availability',
    match: [/\b(GET|HEAD) (https?:\/\/[^\s/]+)?\/?(\s|$)[^\n]*\b5\d\d\b/i, /health\w*\b[^\n]*\b5\d\d\b|\b5\d\d\b[^\n]*\bhealth/i, /Expected: 200\s+Received: 5\d\d/],
    cause: "The app answers 5xx on / — Coolify's healthcheck (curl -f http://localhost:3000) fails, so the container is marked unhealthy and the deployment rolls back.",
    fix: 'Read the app logs in Coolify: usually DATABASE_URL (postgresql://), missing migrations (npm run db:migrate) or env parsing (numbers from strings, e.g. DATABASE_POOL_MIN).',
  },
  {
    id: 'healthcheck-needs-curl',
    category: 'availability',
    match: [/unhealthy|healthcheck|health check|curl: not found|rolling back/i],
    cause: 'Coolify marks the container unhealthy although the app answers: the healthcheck runs curl inside the container, and the image has no curl (a Node http healthcheck does not count).',
    fix: 'Install curl in the Dockerfile and use HEALTHCHECK CMD curl -f http://localhost:3000 || exit 1.',
  },
  {
    id: 'redirect-drops-path',
    category: 'availability',
    match: [/redirect dropped the path/i],
    cause: 'The HTTP→HTTPS redirect loses the path: a custom redirect middleware (redirectregex) whose replacement lacks the captured path (${1}), so every plain-HTTP link lands on the home page.',
    fix: "Use Coolify's own https redirect (the domain as https://<host>) or fix the middleware's replacement to https://<host>/${1}; Traefik's redirectscheme keeps path and query by itself.",
  },
  {
    id: 'redirect-drops-query',
    category: 'availability',
    match: [/redirect dropped the query/i],
    cause: 'The HTTP→HTTPS redirect keeps the path but loses the query string: a custom redirect middleware (redirectregex) whose pattern captures only the path, so plain-HTTP links with parameters (a sign-in redirect target, a search) arrive without them.',
    fix: "Use Coolify's own https redirect (the domain as https://<host>) or make the middleware's regex capture everything after the host (^http://[^/]+/(.*)) into the replacement; Traefik's redirectscheme keeps the query by itself.",
  },
  {
    id: 'redirect-wrong-host',
    category: 'availability',
    match: [/redirect goes to another host/i],
    cause: "The plain-HTTP redirect sends this host's visitors to another host: the redirect middleware's replacement names the wrong domain (copied from another resource).",
    fix: 'Correct the redirect middleware of this resource to its own https://<host> (or use Coolify\'s https redirect for the domain) and redeploy.',
  },
  {
    id: 'redirect-loop',
    category: 'availability',
    match: [/redirect loop|never reaching https|plain-HTTP hops before https/i],
    cause: "Plain HTTP redirects back to http:// instead of https: most likely a redirect middleware on Traefik's web entrypoint pointing at http://; or the service itself redirects to its http URL because it does not trust X-Forwarded-Proto.",
    fix: 'Make the web entrypoint redirect to https (redirectscheme scheme=https, permanent); if the service answers the loop itself, configure it to trust the proxy\'s X-Forwarded-Proto.',
  },
  {
    id: 'no-https-redirect',
    category: 'availability',
    // Only "it did not redirect at all": a redirect that goes wrong has its own rules above.
    match: [/answered \d+ instead of redirecting|served unencrypted|http:\/\/[^\s]+[^\n]*\bnot redirect/i],
    cause: 'Plain HTTP serves the site instead of redirecting to HTTPS: the resource is not configured to force https in Traefik.',
    fix: 'Enable "Force HTTPS" / the redirect-to-https middleware for the domain in Coolify (the domain must be https://<host>), redeploy.',
  },
  {
    id: 'port-exposed',
    category: 'availability',
    match: [/forbidden port|port \d+\b[^\n]*\b(open|exposed|reachable|listening)|(5432|3000|8080)\b[^\n]*\b(open|exposed|reachable)/i],
    cause: 'A port that should stay on the Docker network answers from outside (e.g. Postgres 5432 or the app/Zitadel port mapped to the host or made public).',
    fix: 'Remove the host port mapping / "Make it publicly available" in Coolify for that resource and keep only 22, 80, 443 (and Coolify\'s 6001, 6002, 8000) open in the firewall.',
  },
  {
    id: 'hsts-weak',
    category: 'availability',
    match: [/HSTS max-age=\d+ \([^)]*\), below the floor|Strict-Transport-Security "[^"]*" has no valid max-age/i],
    cause: "HSTS is sent, but with a max-age below the floor (or none browsers accept): a headers middleware's stsSeconds is set low (a test value left in), so browsers forget the policy between visits.",
    fix: 'Set stsSeconds to at least 15552000 (180 days; 31536000 is usual) with stsIncludeSubdomains in the Traefik headers middleware of that router (or the app\'s own header) and redeploy.',
  },
  {
    id: 'hsts-missing',
    category: 'availability',
    match: [/no Strict-Transport-Security header/i],
    cause: "This host's answers carry no HSTS header: neither the service sets it nor a Traefik headers middleware (stsSeconds) on its router.",
    fix: 'Add a Traefik headers middleware with stsSeconds=31536000 and stsIncludeSubdomains to the resource in Coolify (custom labels), or set the header in the service; redeploy.',
  },
  {
    id: 'security-headers',
    category: 'availability',
    match: [/no framing protection|X-Frame-Options|frame-ancestors|X-Content-Type-Options/i],
    cause: "The pages can be framed by other sites: neither the service nor a Traefik headers middleware sends X-Frame-Options (DENY/SAMEORIGIN) or a CSP frame-ancestors.",
    fix: 'Add a Traefik headers middleware for the resource in Coolify (frameDeny, contentTypeNosniff) or set the headers in the service, and redeploy.',
  },
  {
    id: 'connection-refused',
    category: 'availability',
    match: [/ECONNREFUSED|ERR_CONNECTION_REFUSED|connection refused|ECONNRESET|ERR_CONNECTION_(RESET|CLOSED)|socket hang up/i],
    cause: 'Nothing accepts connections at the address the host resolves to: the proxy (Traefik) or the container is down, or the A record points at the wrong server.',
    fix: 'Check in Coolify that the proxy and the resource are running, then the A record; after a redeploy wait for the healthcheck.',
  },
  {
    id: 'timeout',
    category: 'availability',
    match: [/ETIMEDOUT|ERR_TIMED_OUT|UND_ERR_CONNECT_TIMEOUT|no answer within|timed out|Timeout \d+ ?ms exceeded/i],
    cause: 'The target did not answer in time: a firewall dropping packets, the server overloaded, or a service hanging while it starts.',
    fix: 'Check the server (load, firewall for 80/443) and the resource logs in Coolify; re-run to see whether it is persistent.',
  },
  // ---- data -----------------------------------------------------------------------------------------------
  {
    id: 'db-migration',
    category: 'data',
    match: [/relation "[^"]+" does not exist|\b\d+ of \d+ (drizzle )?migrations\b|migrations were never run|missing table|table "?\w+"? (is )?(absent|missing)|__drizzle_migrations|migrations?\b[^\n]*\b(not applied|unapplied|pending|missing|not recorded)/i],
    cause: 'The database schema is behind the app: a migration was not applied (tables or columns missing).',
    fix: "Run the migrations in the app container (Coolify → gadgetbot-app → Terminal: npm run db:migrate) and check drizzle.__drizzle_migrations lists both.",
  },
  {
    id: 'db-schema-drift',
    category: 'data',
    match: [/\.\w+: (default \S+.*, expected|type [^\n]*, expected|column missing)|not unique: no unique constraint|is INVALID \(a failed concurrent build\)/i],
    cause: 'A table no longer matches the migrations although they are recorded: it was changed by hand afterwards (psql, a database GUI) or by another version of the app\'s migrations.',
    fix: "Compare the table with the app's migration SQL and restore the definition with a new drizzle migration (never by hand in production); rebuild an INVALID index with REINDEX.",
  },
  {
    id: 'delete-keeps-row',
    category: 'data',
    match: [/still (exists|present|listed|finds|shows)|not (really )?deleted|delete\w*\b[^\n]*\b(kept|keeps|remains)/i],
    cause: 'A delete reports success but the record stays: the delete procedure does not remove the row (or removes it from another database).',
    fix: "Check the app's deleteById implementation and that DATABASE_URL points at the gadgetbot database the list reads.",
  },
  {
    // Before database-unreachable: a backup's own log often names a password or a missing database, but what was
    // observed is the scheduled backup failing, not the app's DATABASE_URL.
    id: 'backup-failing',
    category: 'data',
    match: [/newest backup\b[^\n]*\bfailed|backup execution/i],
    cause: "Coolify's scheduled backup of that database fails; its execution log says why (credentials, disk space, the database being down).",
    fix: 'In Coolify open the database → Backups → the failed execution; fix what its log names (backup credentials, free disk, the S3 target), then run a backup by hand.',
  },
  {
    id: 'database-unreachable',
    category: 'data',
    match: [/database\b[^\n]*\b(unreachable|refused|password authentication failed|does not exist)|password authentication failed|\b(28P01|3D000|57P03)\b/i],
    cause: 'The app database cannot be reached with the configured URL (wrong host, password or database name, or gadgetbot-db is down).',
    fix: "Verify DATABASE_URL in the app settings and that gadgetbot-db runs; test from the app container: psql $DATABASE_URL -c 'SELECT 1'.",
  },
  // ---- authorization / session security -------------------------------------------------------------------
  {
    id: 'no-admin-check',
    category: 'authorization',
    match: [/non-admin|without (the )?admin role|viewer\b[^\n]*\b(could|was able|allowed|succeeded|created|updated|deleted)|admin only|admin-only/i],
    cause: 'A signed-in user without the admin role can change products: the app treats every signed-in user as admin (a TODO in the app), while the plan says creating GadgetBots is admin only.',
    fix: "Check the project role from the Zitadel roles claim (urn:zitadel:iam:org:project:roles) in the app's oRPC procedures and answer 403 otherwise.",
  },
  {
    id: 'no-session-check',
    category: 'authorization',
    match: [/without a session answered 2\d\d|answered 200 without a session/i],
    cause: 'Admin pages or the API answer without a signed-in session: the session check is missing from the route or the oRPC procedure.',
    fix: 'Require a session in the /admin route (redirect to /login?redirect=…) and in every oRPC procedure (401 without one), then redeploy.',
  },
  {
    id: 'wrong-password-accepted',
    category: 'authentication',
    match: [/wrong password was accepted/i],
    cause: 'Zitadel let a sign-in through with a wrong password: the password check is bypassed (a login policy, an identity provider or an action that skips it).',
    fix: "Treat it as a security incident: check the instance's and organisation's login policy, external IdPs and Actions in the Zitadel console, and the user's authentication methods.",
  },
  {
    id: 'open-redirect',
    category: 'authorization',
    match: [/open redirect|external callback|callbackURL|INVALID_CALLBACKURL/i],
    cause: 'Sign-in accepts a callbackURL on another site (open redirect).',
    fix: "Restrict Better Auth's trustedOrigins to the app URL and reject external callbackURLs.",
  },
  {
    id: 'callback-replay',
    category: 'authorization',
    // Also a sign-in that cannot bind its callback at all: no state, no state cookie, no PKCE S256.
    match: [/state (mismatch|check|not checked)|replay(ed)?|forged callback|code_challenge|\bPKCE\b|authorize URL has no state|authorize state is only|no better-auth\.state cookie/i],
    cause: 'The OAuth callback accepts a forged or replayed state, so a session can be created without the matching sign-in.',
    fix: "Keep Better Auth's state verification (the better-auth.state cookie) and PKCE enabled; do not override the callback handler.",
  },
  {
    id: 'signout-ends-other-sessions',
    category: 'authorization',
    // Before signout-keeps-session: both name sign-out and sessions, the observation tells them apart.
    match: [/ended other sessions than the caller'?s|other users?'? sessions? (ended|gone)/i],
    cause: "Sign-out ends more than the caller's session (every session of every user): one user signing out signs everybody out.",
    fix: 'Sign out with Better Auth\'s own POST /api/auth/sign-out (it deletes the current session only); remove any hook that revokes all sessions on sign-out.',
  },
  {
    id: 'signout-keeps-session',
    category: 'authorization',
    // The server's own answer only: a browser let in after sign-out (cookies kept) is another failure.
    match: [/sign[- ]?out left the server session valid|session\b[^\n]*\bstill valid on the server/i],
    cause: 'Sign-out clears the cookie but the server-side session stays valid, so a copied cookie keeps working.',
    fix: 'Sign out through Better Auth (POST /api/auth/sign-out) so the session row is deleted, not just the cookie.',
  },
  {
    id: 'session-short-lived',
    category: 'authorization',
    // Hours and minutes only: "expires in N days" is a certificate's (cert-expiring-soon).
    match: [/session\.expiresIn|signed out after (minutes|hours)|session\w*\b[^\n]*\bexpires in \d+ (s|min|h)\b/i],
    cause: 'Sessions end after minutes or hours instead of days: Better Auth\'s session.expiresIn is set too short (it is in seconds; the default is 7 days).',
    fix: "Remove the session.expiresIn override from the app's Better Auth config (or give it seconds: 60 * 60 * 24 * 7) and redeploy.",
  },
  {
    id: 'session-cookie-not-persistent',
    category: 'authorization',
    match: [/Max-Age|no expiry|Expires\b[^\n]*cookie|cookie\b[^\n]*\b(not persistent|persistent|Expires)/i],
    cause: 'The session cookie has no Max-Age/Expires, so users are signed out when the browser closes.',
    fix: "Keep Better Auth's default session cookie options (expiresIn) and do not override the cookie attributes.",
  },
  {
    id: 'sign-in-failed',
    category: 'authentication',
    match: [/Failed to authenticate|reports no session|no session after|no [\w.-]*session_token cookie|sign[- ]?in\b[^\n]*\b(failed|did not)|not signed in|get-session\b[^\n]*\bnull/i],
    cause: 'Signing in through Zitadel did not end in an app session (wrong credentials, the callback failed, or the cookie was not stored).',
    fix: 'Verify ADMIN_USER/ADMIN_PASSWORD, ZITADEL_CLIENT_ID and ZITADEL_ISSUER in the app, the redirect URI in Zitadel, and BETTER_AUTH_URL = the https app URL.',
  },
  {
    id: 'config',
    category: 'availability',
    match: [/ConfigError|configuration problem|missing (required )?(variable|env)/i],
    cause: 'The suite is not configured for this target.',
    fix: 'Fill .env from .env.example (APP_URL, AUTH_URL, ADMIN_USER, ADMIN_PASSWORD …) or run without a target to use the embedded stack.',
  },
];

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

const find = (text: string) => RULES.find((r) => r.match.some((re) => re.test(text)));

/** The headline (first line) decides when it matches; otherwise the whole message (expect details, causes). */
function ruleFor(message: string): DiagnosisRule | undefined {
  const text = message.replace(ANSI, '');
  const first = text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  return find(first) ?? find(text);
}

/**
 * Likely cause and fix for a failure message, or undefined when no known signature matches. The message only, never
 * the check's title: a check fails for reasons its title does not name (a refused admin under "a non-admin user
 * cannot write"), and a title-made hint would name a cause nobody saw.
 */
export function diagnose(message: string): Diagnosis | undefined {
  if (!message) return undefined;
  const r = ruleFor(message);
  return r && { id: r.id, cause: r.cause, fix: r.fix };
}

/** Allure category of a failure message (one of CATEGORIES), or undefined. */
export function categorize(message: string | undefined): DiagnosisCategory | undefined {
  return message ? ruleFor(message)?.category : undefined;
}

/** One-line hint for the verdict: "<cause> Fix: <fix>". */
export function hintLine(d: Diagnosis): string {
  return `${d.cause} Fix: ${d.fix}`;
}
