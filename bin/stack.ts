// `npm run stack`: runs the embedded reference deployment until Ctrl-C, and writes what a person (or the
// suite) needs to reach it: .stack/target.env (mode 0600, holds the generated passwords) and .stack/ca.pem.
// `npm run stack -- faults` lists the faults of a running stack (this command's or one started in-process);
// `npm run stack -- fault <id> on|off` switches one while it runs (stack/orchestrator/control.ts).
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FaultError, parseFaults, RUNTIME_FAULTS } from '../stack/faults.ts';
import { controlRequest, runningStacks } from '../stack/orchestrator/control.ts';
import { HOSTS, STACK_ROOT, USERS, startStack, toDotenv, type StackHandle } from '../stack/index.ts';
import { PortInUseError } from '../stack/process.ts';

function portFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
    console.error(`${name}="${raw}" is not a port (1..65535).`);
    process.exit(2);
  }
  return Number(raw);
}

const USAGE = `Usage: npm run stack                              start the embedded deployment (Ctrl-C stops it)
       npm run stack -- faults [--run <dir>]         the faults on in a running stack
       npm run stack -- fault <id> on|off [--run <dir>]   switch one while it runs
Switchable faults: ${RUNTIME_FAULTS.join(', ')}`;

/** The running stack to talk to: the --run folder, or the only one under .stack/; exits 1 or 2 with the reason. */
function pickRun(given: string | undefined): string {
  if (given) return given;
  const runs = runningStacks(STACK_ROOT);
  if (runs.length === 1) return runs[0];
  if (runs.length === 0) {
    console.error(`No running stack under ${relative(process.cwd(), STACK_ROOT) || STACK_ROOT}/ (start one with npm run stack).`);
    process.exit(1);
  }
  console.error(`${runs.length} stacks are running; pick one with --run <dir>:\n${runs.map((r) => `  ${r}`).join('\n')}`);
  process.exit(2);
}

/** `faults` and `fault <id> on|off`: talk to a running stack over its control socket. */
async function control(argv: string[]): Promise<void> {
  const args = [...argv];
  const at = args.indexOf('--run');
  const runDir = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const [cmd, id, state] = args;
  const ok =
    (at < 0 || runDir !== undefined) &&
    ((cmd === 'faults' && args.length === 1) || (cmd === 'fault' && args.length === 3 && (state === 'on' || state === 'off')));
  if (!ok) {
    console.error(USAGE);
    process.exit(2);
  }
  const dir = pickRun(runDir);
  try {
    const r = cmd === 'faults' ? await controlRequest(dir, 'GET', '/faults') : await controlRequest(dir, 'PUT', `/faults/${id}`, state);
    if (r.status !== 200) {
      console.error(String(r.json.error ?? `the stack answered ${r.status}`));
      process.exit(r.status === 400 ? 2 : 1);
    }
    const on = (r.json.faults as string[]).join(', ') || 'none';
    console.log(cmd === 'faults' ? `Faults on: ${on}\nSwitchable: ${(r.json.switchable as string[]).join(', ')}` : `${id} ${state}. Faults on: ${on}`);
  } catch (e) {
    console.error(`Could not reach the stack in ${dir}: ${(e as Error).message}`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length) return control(args);
  let faults: string[];
  try {
    faults = parseFaults(process.env.STACK_FAULTS);
  } catch (e) {
    if (e instanceof FaultError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const ports = { https: portFrom('STACK_HTTPS_PORT', 8443), http: portFrom('STACK_HTTP_PORT', 8080) };
  if (ports.https === ports.http) {
    console.error('STACK_HTTPS_PORT and STACK_HTTP_PORT must differ.');
    process.exit(2);
  }

  console.log(`Starting the embedded GadgetBot stack${faults.length ? ` with faults: ${faults.join(', ')}` : ''} ...`);
  const t0 = Date.now();
  let stack: StackHandle;
  try {
    stack = await startStack({ faults, ports, signInRateLimit: process.env.STACK_SIGNIN_RATE_LIMIT !== 'off', log: (l) => (process.env.STACK_VERBOSE ? console.log(l) : undefined) });
  } catch (e) {
    if (e instanceof PortInUseError) {
      console.error(e.message);
      process.exit(1);
    }
    console.error(`The stack did not start: ${(e as Error).message}`);
    process.exit(1);
  }

  const files = writeTargetFiles(stack);
  console.log(banner(stack, files, ports.https, Date.now() - t0));
  stopOnSignal(stack, files);
}

interface TargetFiles {
  targetFile: string;
  caFile: string;
  /** What this run wrote into each, so that stop removes only its own. */
  written: [string, string][];
  env: Record<string, string>;
}

/** .stack/target.env (0600: it holds the generated passwords) and .stack/ca.pem, for people and the suite. */
function writeTargetFiles(stack: StackHandle): TargetFiles {
  const targetFile = join(STACK_ROOT, 'target.env');
  const caFile = join(STACK_ROOT, 'ca.pem');
  copyFileSync(stack.env.CA_FILE, caFile);
  const caText = readFileSync(caFile, 'utf8');
  const env: Record<string, string> = { ...stack.env, CA_FILE: caFile };
  const dotenv = toDotenv(env);
  writeFileSync(targetFile, dotenv, { mode: 0o600 });
  chmodSync(targetFile, 0o600);
  return { targetFile, caFile, env, written: [[targetFile, dotenv], [caFile, caText]] };
}

function banner(stack: StackHandle, { targetFile, caFile, env }: TargetFiles, httpsPort: number, readyMs: number): string {
  const rel = (p: string) => relative(process.cwd(), p) || p;
  const rules = Object.values(HOSTS).map((h) => `MAP ${h} 127.0.0.1`).join(', ');
  return [
    '',
    `Ready in ${(readyMs / 1000).toFixed(1)} s.`,
    '',
    `  App       ${env.APP_URL}`,
    `  Auth      ${env.AUTH_URL}   (Zitadel stand-in, Login V2 under /ui/v2/login)`,
    `  Deployer  ${env.DEPLOYER_URL}/api/health   (Coolify-compatible API)`,
    `  HTTP      http://${HOSTS.app}:${env.HTTP_PORT}/   (redirects to HTTPS)`,
    `  DNS       ${env.DNS_SERVERS} (UDP and TCP; the names resolve only there)`,
    '',
    `  Users     ${USERS.admin} (admin), ${USERS.viewer} (no role); passwords: ADMIN_PASSWORD / VIEWER_PASSWORD in ${rel(targetFile)}`,
    `  Target    ${rel(targetFile)}  (all config variables for the suite, mode 0600)`,
    `  CA        ${rel(caFile)}  (the run's root CA; trust only this)`,
    `  Logs      ${rel(join(stack.dir, 'logs'))}/`,
    `  Faults    npm run stack -- faults | fault <id> on|off   (switch while it runs; control socket in ${rel(stack.dir)}/control/)`,
    '',
    'Run the suite against it:',
    `  set -a && . ${rel(targetFile)} && set +a && npm run smoke`,
    'curl:',
    `  curl --cacert ${rel(caFile)} --resolve ${HOSTS.app}:${httpsPort}:127.0.0.1 ${env.APP_URL}/`,
    'Chromium (map the names, then trust the CA in its NSS database):',
    `  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n gadgetbot-stack -i ${rel(caFile)}`,
    `  chromium --host-resolver-rules="${rules}" ${env.APP_URL}/`,
    '',
    'Ctrl-C stops everything (processes, database, run folder).',
  ].join('\n');
}

function stopOnSignal(stack: StackHandle, files: TargetFiles): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${sig}: stopping the stack ...`);
    const hard = setTimeout(() => {
      console.error('Stop took longer than 20 s; exiting anyway (the next start sweeps what is left).');
      process.exit(1);
    }, 20_000);
    hard.unref();
    void stack
      .stop()
      .then(() => {
        // Only remove our own files: another stack may have written newer ones since.
        for (const [f, mine] of files.written) {
          try {
            if (readFileSync(f, 'utf8') === mine) rmSync(f);
          } catch {
            /* already gone */
          }
        }
        console.log('Stopped.');
        process.exit(0);
      })
      .catch((e: Error) => {
        console.error(`Stop failed: ${e.message}`);
        process.exit(1);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

void main();
