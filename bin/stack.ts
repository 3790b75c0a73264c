// `npm run stack`: runs the embedded reference deployment until Ctrl-C, and writes what a person (or the
// suite) needs to reach it: .stack/target.env (mode 0600, holds the generated passwords) and .stack/ca.pem.
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FaultError, parseFaults } from '../stack/faults.ts';
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

async function main(): Promise<void> {
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

  const targetFile = join(STACK_ROOT, 'target.env');
  const caFile = join(STACK_ROOT, 'ca.pem');
  copyFileSync(stack.env.CA_FILE, caFile);
  const caText = readFileSync(caFile, 'utf8');
  const env: Record<string, string> = { ...stack.env, CA_FILE: caFile };
  const dotenv = toDotenv(env);
  writeFileSync(targetFile, dotenv, { mode: 0o600 });
  chmodSync(targetFile, 0o600);
  const rel = (p: string) => relative(process.cwd(), p) || p;

  const rules = Object.values(HOSTS).map((h) => `MAP ${h} 127.0.0.1`).join(', ');
  const lines = [
    '',
    `Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s.`,
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
    '',
    'Run the suite against it:',
    `  set -a && . ${rel(targetFile)} && set +a && npm run smoke`,
    'curl:',
    `  curl --cacert ${rel(caFile)} --resolve ${HOSTS.app}:${ports.https}:127.0.0.1 ${env.APP_URL}/`,
    'Chromium (map the names, then trust the CA in its NSS database):',
    `  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n gadgetbot-stack -i ${rel(caFile)}`,
    `  chromium --host-resolver-rules="${rules}" ${env.APP_URL}/`,
    '',
    'Ctrl-C stops everything (processes, database, run folder).',
  ];
  console.log(lines.join('\n'));

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
        for (const [f, mine] of [
          [targetFile, dotenv],
          [caFile, caText],
        ] as const) {
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
