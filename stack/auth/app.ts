// Everything that needs the database and oidc-provider; server.ts loads this after it is already listening.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthEnv } from './config.ts';
import { createPool, ensureSchema, generateSigningJwk, hashSeedPasswords, loadInstance, seedUsers } from './db.ts';
import type { createLoginUi } from './login-ui/index.ts';
import type { Ctx } from './types.ts';

export interface AuthApp {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** True when the database answers within a short time. */
  dbReady(): Promise<boolean>;
  close(): Promise<void>;
}

export type Log = (event: Record<string, unknown>) => void;

const DB_WAIT_MS = 30_000;

export async function createAuthApp(env: AuthEnv, log: Log, isStopping: () => boolean = () => false): Promise<AuthApp> {
  const startedAt = Date.now();
  // Start-up marks (ms since createAuthApp was called), logged as `init_timing`.
  const marks: Record<string, number> = {};
  const mark = (name: string) => (marks[name] = Date.now() - startedAt);
  const pool = createPool(env.databaseUrl);
  // The password hashes need no database: scrypt runs on the thread pool while everything else loads.
  const hashes = hashSeedPasswords(env.users).finally(() => mark('hashesMs'));
  hashes.catch(() => undefined);
  // oidc-provider's module graph loads while the database work below waits on the network.
  const modules = Promise.all([import('./provider.ts'), import('./login-ui/index.ts'), import('./id-token-faults.ts')]).finally(() => mark('modulesMs'));
  modules.catch(() => undefined);
  // A new database (every stack's cold start) needs an RS256 signing key, and generating one takes 0.1-0.5 s:
  // it runs on the thread pool from the start, while the modules load and the database comes up. A database
  // that already has a key (a restart) keeps it, and this one is dropped unused.
  const spareSigningKey = generateSigningJwk().finally(() => mark('spareKeyMs'));
  spareSigningKey.catch(() => undefined);
  try {
    // The database may still be starting (stack start, or a Zitadel redeploy racing its Postgres).
    const deadline = Date.now() + DB_WAIT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureSchema(pool);
        break;
      } catch (e) {
        if (Date.now() > deadline || isStopping()) throw e;
        if (attempt === 1) log({ event: 'waiting_for_database', reason: (e as { code?: string }).code ?? (e as Error).message });
        // A refused connection costs nothing: poll briskly while Postgres is likely still starting (the stack
        // spawns auth alongside it), then back off.
        await new Promise((r) => setTimeout(r, attempt <= 60 ? 50 : 500));
      }
    }
    mark('schemaMs');
    // Fault `auth-upgrade-changes-issuer`: a start on an initialised database (an upgrade) serves another issuer.
    if (env.faults.has('auth-upgrade-changes-issuer')) {
      const upgraded = (await pool.query("SELECT 1 FROM auth_meta WHERE key = 'instance'")).rowCount;
      if (upgraded) env.faults.add('issuer-mismatch');
    }
    const [instance] = await Promise.all([
      loadInstance(pool, spareSigningKey).finally(() => mark('instanceMs')),
      seedUsers(pool, env.users, hashes).finally(() => mark('usersMs')),
    ]);
    const orgDomain = `gadgetbot.${new URL(env.authUrl).hostname}`;

    const [{ createProvider, ROUTES }, { createLoginUi: makeLoginUi }, { idTokenFaults }] = await modules;
    let ui: ReturnType<typeof createLoginUi> | undefined;
    const provider = createProvider({
      env,
      pool,
      instance,
      orgDomain,
      endLoginSessions: (ctx: Ctx) => ui!.endLoginSessions(ctx),
      log,
    });
    ui = makeLoginUi({ env, pool, log }, provider);
    provider.use(idTokenFaults(env.faults, instance.signingJwk, ROUTES.token) as Parameters<typeof provider.use>[0]);
    provider.use(ui.middleware);
    provider.on('error', (err, ctx) =>
      log({ event: 'request_error', path: (ctx as Ctx | undefined)?.path, message: (err as Error)?.message }),
    );
    mark('providerMs');
    log({ event: 'init_timing', ...marks });

    return {
      handle: provider.callback(),
      async dbReady() {
        const c = await pool.connect().catch(() => undefined);
        if (!c) return false;
        try {
          await c.query({ text: 'SELECT 1', query_timeout: 2000 } as { text: string });
          return true;
        } catch {
          return false;
        } finally {
          c.release();
        }
      },
      close: () => pool.end(),
    };
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}
