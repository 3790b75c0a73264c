// `npm run monitor -- [--every 5m] [--rounds N] [--browser-every 6] [--maintenance 30m] [--serve PORT]`: keeps
// watching the configured target (or the embedded deployment, started here, when none is configured) with the
// suite's own @smoke checks; alerts on change through MONITOR_WEBHOOKS; history and status page in reports/monitor/.
import { ConfigError, loadConfig, loadDotenv, ROOT } from '../helpers/config.ts';
import { Monitor } from '../helpers/monitor/monitor.ts';
import { MonitorOptionsError, parseOptions, USAGE, type MonitorOptions } from '../helpers/monitor/options.ts';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Stack { env: Record<string, string>; dir: string; stop(): Promise<void> }

function options(): MonitorOptions {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  try {
    return parseOptions(argv);
  } catch (e) {
    if (!(e instanceof MonitorOptionsError)) throw e;
    console.error(`monitor: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

/** The configured target as the suite's variables, or undefined when none is configured (APP_URL unset). */
function configuredTarget(): Record<string, string> | undefined {
  if (!process.env.APP_URL?.trim()) return undefined;
  try {
    loadConfig(process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`monitor: ${e.message}\n\nFix the variables above (see .env.example). Nothing was started.`);
    process.exit(2);
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

async function embedded(): Promise<Stack> {
  const faults = (process.env.STACK_FAULTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  console.log(`monitor: no APP_URL configured: starting the embedded deployment${faults.length ? ` with faults ${faults.join(',')}` : ''}`);
  // Loaded only here, so a monitor of a real deployment never loads the stack's code.
  const mod = (await import(pathToFileURL(join(ROOT, 'stack', 'index.ts')).href)) as { startStack(o: object): Promise<Stack> };
  const stack = await mod.startStack({ faults, signInRateLimit: process.env.STACK_SIGNIN_RATE_LIMIT !== 'off' });
  console.log(`monitor: embedded deployment up: ${stack.env.APP_URL} (run folder ${stack.dir})`);
  return stack;
}

async function main(): Promise<void> {
  loadDotenv(join(ROOT, '.env'));
  const opts = options();
  let stack: Stack | undefined;
  const env = configuredTarget() ?? (stack = await embedded()).env;
  const monitor = new Monitor(opts, env);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    console.log(`\nmonitor: ${sig}: stopping after the deliveries under way (again to quit at once)`);
    monitor.interrupt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const every = opts.everyMs >= 60_000 ? `${opts.everyMs / 60_000} min` : `${opts.everyMs / 1000} s`;
  console.log(`monitor: ${monitor.target.name} every ${every}${opts.rounds ? `, ${opts.rounds} round(s)` : ''}; browser sign-in ${opts.browserEvery ? `every ${opts.browserEvery} round(s)` : 'never'}; down after ${opts.downAfter} failing round(s); ${opts.webhooks.length} alert channel(s); status page ${monitor.paths.page}`);
  let code = 0;
  try {
    await monitor.start();
    await monitor.loop();
  } catch (e) {
    console.error(`monitor: ${(e as Error).message}`);
    code = 1;
  } finally {
    await monitor.close();
    await stack?.stop().catch((e: Error) => console.error(`monitor: stopping the embedded deployment failed: ${e.message}`));
  }
  process.exit(code);
}

void main();
