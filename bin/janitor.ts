// npm run janitor [-- --dry-run] [--grace-minutes N]
//
// Removes GadgetBots that earlier suite runs left behind: only records named
// `<TEST_DATA_PREFIX><runId>-<6 hex>` whose run id starts with a UTC stamp older than the current run's
// (run ids are `YYYYMMDDTHHMMSS-xxxxxx`, so they sort by time). Anything else is never touched.
// Signs in as admin through Login V2, or reuses the setup project's saved admin session when it is
// fresh and still valid. Prints what it removed; no secret is printed.
import { pathToFileURL } from 'node:url';
import { chromium } from '@playwright/test';
import { ConfigError, loadConfig, loadDotenv, type Target } from '../helpers/config.ts';
import { launchOptionsFor } from '../helpers/browser.ts';
import { closeDispatcher } from '../helpers/http.ts';
import { AppApi, type Bot } from '../fixtures/api.ts';
import { cookieHeaderFor, readStorageState, storageStateAgeMs, storageStatePath } from '../fixtures/auth-state.ts';
import { runIdOfName, runStampOf, stampOf } from '../fixtures/data.ts';
import { signInWithZitadel } from '../fixtures/pages/flows.ts';

/** A saved session older than this is not trusted even if it still works: sign in afresh. */
export const SAVED_STATE_MAX_AGE_MS = 60 * 60 * 1000;

export interface Plan {
  remove: Array<{ bot: Bot; runId: string }>;
  keep: Array<{ bot: Bot; why: string }>;
  /** Bots not made by the suite (no prefix): counted, never listed one by one. */
  foreign: number;
}

/**
 * Which bots to remove: ours (prefix + run id + suffix) from a run whose stamp is older than the current
 * run's stamp minus `graceMs`. A current run id without a stamp (a hand-set RUN_ID) counts as "now".
 */
export function planCleanup(bots: Bot[], t: Pick<Target, 'testDataPrefix' | 'runId'>, now = new Date(), graceMs = 0): Plan {
  const base = runStampOf(t.runId) ?? stampOf(now);
  const cutoff = graceMs > 0 ? stampOf(new Date(stampToMs(base) - graceMs)) : base;
  const plan: Plan = { remove: [], keep: [], foreign: 0 };
  for (const bot of bots) {
    if (!bot.name.startsWith(t.testDataPrefix)) { plan.foreign++; continue; }
    const runId = runIdOfName(bot.name, t.testDataPrefix);
    const stamp = runId ? runStampOf(runId) : undefined;
    if (!runId || !stamp) plan.keep.push({ bot, why: 'no sortable run id in the name' });
    else if (runId === t.runId) plan.keep.push({ bot, why: 'current run' });
    else if (stamp < cutoff) plan.remove.push({ bot, runId });
    else plan.keep.push({ bot, why: stamp >= base ? 'same time or newer run' : `within the ${Math.round(graceMs / 60000)} min grace` });
  }
  return plan;
}

function stampToMs(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(stamp)!;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/** An admin Cookie header: the saved setup state when fresh and accepted, else a Login V2 sign-in. */
export async function adminCookie(t: Target, log: (s: string) => void = () => undefined): Promise<string> {
  const age = storageStateAgeMs('admin', t);
  if (age < SAVED_STATE_MAX_AGE_MS) {
    const saved = readStorageState('admin', t);
    const cookie = saved ? cookieHeaderFor(saved.cookies, t.appUrl) : '';
    if (cookie && (await new AppApi(t, cookie).session({ disableCookieCache: true })).value) {
      log(`admin session: saved state ${storageStatePath('admin', t)} (${Math.round(age / 60000)} min old)`);
      return cookie;
    }
  }
  log(`admin session: signing in as ${t.users.admin.username} through Login V2`);
  const browser = await chromium.launch(await launchOptionsFor(t));
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInWithZitadel(page, t, t.users.admin);
    return cookieHeaderFor((await context.storageState()).cookies, t.appUrl);
  } finally {
    await browser.close();
  }
}

export interface JanitorResult { removed: string[]; kept: string[]; failed: string[]; foreign: number }

export async function runJanitor(
  t: Target, opts: { dryRun?: boolean; graceMinutes?: number; log?: (s: string) => void; cookie?: string } = {},
): Promise<JanitorResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  log(`janitor: target ${t.name} (${t.appUrl}), current run ${t.runId}, prefix "${t.testDataPrefix}"${opts.dryRun ? ' — dry run' : ''}`);
  const api = new AppApi(t, opts.cookie ?? (await adminCookie(t, (s) => log(`janitor: ${s}`))));
  const bots = await api.list();
  const plan = planCleanup(bots, t, new Date(), (opts.graceMinutes ?? 0) * 60_000);
  log(`janitor: ${bots.length} bots listed, ${bots.length - plan.foreign} carry the prefix`);
  const out: JanitorResult = { removed: [], kept: [], failed: [], foreign: plan.foreign };
  for (const { bot, runId } of plan.remove) {
    if (opts.dryRun) { log(`would remove  ${bot.name}  (run ${runId}, id ${bot.id})`); out.removed.push(bot.name); continue; }
    try {
      await api.deleteById(bot.id);
      log(`removed       ${bot.name}  (run ${runId}, id ${bot.id})`);
      out.removed.push(bot.name);
    } catch (e) {
      log(`FAILED        ${bot.name}  (id ${bot.id}): ${(e as Error).message}`);
      out.failed.push(bot.name);
    }
  }
  for (const { bot, why } of plan.keep) { log(`kept          ${bot.name}  (${why})`); out.kept.push(bot.name); }
  log(`janitor: ${opts.dryRun ? 'would remove' : 'removed'} ${out.removed.length}, kept ${out.kept.length}, failed ${out.failed.length}; ${plan.foreign} bots without the prefix untouched`);
  return out;
}

function parseArgs(argv: string[]): { dryRun: boolean; graceMinutes: number } {
  const out = { dryRun: false, graceMinutes: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dry-run') out.dryRun = true;
    else if (a === '--grace-minutes' || a.startsWith('--grace-minutes=')) {
      const v = a.includes('=') ? a.split('=')[1] : argv[++i];
      if (!/^\d+$/.test(v ?? '')) throw new Error(`--grace-minutes needs a whole number, got "${v ?? ''}"`);
      out.graceMinutes = Number(v);
    } else if (a === '--help' || a === '-h') {
      console.log('usage: npm run janitor -- [--dry-run] [--grace-minutes N]');
      process.exit(0);
    } else throw new Error(`unknown argument "${a}" (try --help)`);
  }
  return out;
}

async function main(): Promise<number> {
  loadDotenv();
  let args;
  try { args = parseArgs(process.argv.slice(2)); } catch (e) { console.error(`janitor: ${(e as Error).message}`); return 2; }
  let t: Target;
  try {
    t = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) { console.error(`janitor: ${e.message}`); return 2; }
    throw e;
  }
  try {
    const r = await runJanitor(t, args);
    return r.failed.length ? 1 : 0;
  } catch (e) {
    console.error(`janitor: ${(e as Error).message}`);
    return 1;
  } finally {
    await closeDispatcher(t);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then((code) => process.exit(code), (e) => { console.error(`janitor: ${(e as Error).message}`); process.exit(1); });
}
