// One long-running child service (the app or the auth stand-in) and its generations: each start gets a
// fresh free port on the internal address and its own log file, as a new container would.
//
// A TypeScript entry is not run through tsx: its loader hooks sit on every module resolution (node_modules
// included), which cost each child ~1-1.5 s of CPU at start (measured: importing oidc-provider through tsx
// 1.8 s CPU vs 0.7 s plain; Better Auth + oRPC 2.7 s vs 1.2 s). Instead the entry, its modules and the
// packages they use are bundled with esbuild (the compiler tsx itself uses; dynamic imports stay lazy
// chunks) into `<repo>/.stack/build/<key>/` and run with plain node: one file per chunk instead of
// hundreds of package files saves another ~0.2 s (auth) and ~0.4 s (app) of CPU per start. The key covers
// the exact bytes of every local source compiled (and size + mtime of every package file), so an edited
// source is picked up by the next launch, as with tsx. Should bundling ever fail, the launch falls back
// to `node --import tsx` and says so at the top of the service's log. What this asks of a service's code:
// no file reads relative to its own module (`import.meta.url`/`dirname`), no computed `import()` paths.
// The services' self-tests start the same bundle (bundledNodeArgs); `node --import tsx <file>` still works.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { freePort, probeHttp, spawnService, tail, waitFor, type ServiceProcess } from '../process.ts';
import type { Upstream } from '../edge/index.ts';

export interface Instance {
  generation: number;
  port: number;
  upstream: Upstream;
  proc: ServiceProcess;
  logFile: string;
  env: Record<string, string>;
  startedAt: number;
}

export interface SupervisorOptions {
  /** Short name, used for log files (`<name>-<generation>.log`). */
  name: string;
  /** The service's entry file: plain JavaScript runs as it is, TypeScript as its cached bundle (see top). */
  script: string;
  cwd: string;
  logDir: string;
  /** Internal address the service listens on. */
  host: string;
  /** A new port must also be free here (so the exposure check on the public address is not fooled). */
  portAlsoFreeOn?: string[];
  /** Env without HOST/PORT; read at every start, so a deploy can change it. */
  env: () => Record<string, string>;
  healthPath: string;
  /** Called with each new child's pid (for the stale-run sweep). */
  onSpawn?: (inst: Instance) => void;
  /** Extra node flags (tests). */
  nodeArgs?: string[];
}

interface WaitOptions { timeoutMs: number; require2xx: boolean; unhealthyGraceMs?: number }

export class Supervisor {
  current: Instance | undefined;
  readonly instances = new Set<Instance>();
  private generation = 0;

  constructor(readonly o: SupervisorOptions) {}

  /** Spawns a new generation on a fresh port; does not wait for it. */
  async launch(envOverride: Record<string, string> = {}): Promise<Instance> {
    const inst = { env: { ...this.o.env(), ...envOverride } } as Instance;
    await this.spawnInto(inst);
    return inst;
  }

  /** (Re)starts `inst` as a new generation on a fresh port, keeping its env but for HOST and PORT. */
  private async spawnInto(inst: Instance): Promise<void> {
    const port = await freePort(this.o.host, this.o.portAlsoFreeOn ?? []);
    const generation = ++this.generation;
    const logFile = join(this.o.logDir, `${this.o.name}-${generation}.log`);
    const env = { ...inst.env, HOST: this.o.host, PORT: String(port) };
    const entryArgs = /\.m?js$/.test(this.o.script) ? [this.o.script] : await runnable(this.o.script, logFile);
    const proc = spawnService({
      name: `${this.o.name}#${generation}`,
      command: process.execPath,
      args: [...(this.o.nodeArgs ?? []), ...entryArgs],
      env,
      cwd: this.o.cwd,
      logFile,
    });
    Object.assign(inst, { generation, port, upstream: { host: this.o.host, port }, proc, logFile, env, startedAt: Date.now() });
    this.instances.add(inst);
    void proc.exited.then(() => { if (inst.proc === proc) this.instances.delete(inst); });
    this.o.onSpawn?.(inst);
  }

  /**
   * Waits until the instance answers its health path. `require2xx: false` accepts any HTTP answer (the
   * process is up, even if unhealthy: needed to start a stack whose fault is a failing healthcheck).
   * With `require2xx`, a process that answers but stays non-2xx for `unhealthyGraceMs` is unhealthy, like
   * a container healthcheck that used up its retries.
   */
  async waitUp(inst: Instance, o: WaitOptions): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.waitOnce(inst, o);
      } catch (e) {
        // The port freePort found free was bound by someone else before the child listened (a race no check
        // closes): start it again on another port, at most twice. Any other exit is the service's own failure.
        if (attempt > 2 || !inst.proc.exitInfo || !/EADDRINUSE/.test(tail(inst.logFile, 40))) throw e;
        await this.spawnInto(inst);
      }
    }
  }

  private async waitOnce(inst: Instance, { timeoutMs, require2xx, unhealthyGraceMs = 5000 }: WaitOptions): Promise<number> {
    let firstUnhealthy: number | undefined;
    let lastStatus = 0;
    return waitFor(
      `${this.o.name} (generation ${inst.generation}) on ${inst.upstream.host}:${inst.port}${this.o.healthPath}${require2xx ? ' to answer 2xx' : ''}`,
      async () => {
        const status = await probeHttp(inst.upstream.host, inst.port, this.o.healthPath, 2000);
        if (!require2xx || (status >= 200 && status < 300)) return status;
        lastStatus = status;
        firstUnhealthy ??= Date.now();
        throw new Error(`status ${status}`);
      },
      {
        timeoutMs,
        intervalMs: 30,
        abort: () => {
          if (inst.proc.exitInfo) {
            return `the process exited (code ${inst.proc.exitInfo.code}, signal ${inst.proc.exitInfo.signal}); last log lines:\n${tail(inst.logFile, 15)}`;
          }
          if (firstUnhealthy !== undefined && Date.now() - firstUnhealthy > unhealthyGraceMs) {
            return `unhealthy: ${this.o.healthPath} kept answering ${lastStatus} for ${unhealthyGraceMs} ms`;
          }
          return undefined;
        },
      },
    );
  }

  /** SIGTERM (the service finishes in-flight requests and exits), SIGKILL after `timeoutMs`. */
  async stopInstance(inst: Instance, timeoutMs = 10_000): Promise<void> {
    await inst.proc.stop({ signal: 'SIGTERM', timeoutMs });
    this.instances.delete(inst);
    if (this.current === inst) this.current = undefined;
  }

  async stopAll(timeoutMs = 5000): Promise<void> {
    await Promise.all([...this.instances].map((i) => this.stopInstance(i, timeoutMs)));
    this.current = undefined;
  }

  killAllNow(): void {
    for (const i of this.instances) i.proc.killNow();
  }
}

// --- TypeScript entries: bundled once per content, run with plain node ------------------------------------------

const REPO = resolve(import.meta.dirname, '..', '..');
/** `<repo>/.stack/build`: inside the repository, so anything left unbundled resolves from its node_modules. */
export const BUILD_ROOT = join(REPO, '.stack', 'build');
/** Read by esbuild besides the sources (compiler options, module type): part of the key too. */
const CONFIG_FILES = [join(REPO, 'tsconfig.json'), join(REPO, 'package.json')];
/** Bumped when the build options below change. */
const BUILD_FORMAT = 2;
/** Builds no launch has used for this long are removed when a new one is written. */
const BUILD_KEEP_MS = 24 * 3600_000;

interface Manifest {
  key: string;
  /** Every file compiled into the bundle (absolute paths), sorted. */
  inputs: string[];
  /** Entry file of the bundle, relative to BUILD_ROOT. */
  entry: string;
}

/** node's arguments to run TypeScript `script` from its bundle (stack traces name the TypeScript sources, as under tsx). */
export async function bundledNodeArgs(script: string): Promise<string[]> {
  return ['--enable-source-maps', await compiledEntry(script)];
}

/** node's arguments for `script`: its bundle, or (bundling failed) the source through tsx. */
async function runnable(script: string, logFile: string): Promise<string[]> {
  try {
    return await bundledNodeArgs(script);
  } catch (e) {
    const why = (e as Error).message.split('\n').slice(0, 6).join('\n');
    await writeFile(logFile, `supervisor: bundling ${script} failed, running it through tsx instead: ${why}\n`, { flag: 'a' }).catch(() => undefined);
    return ['--import', 'tsx', script];
  }
}

const building = new Map<string, Promise<string>>();
let esbuildCalls = 0;

function salt(esbuildVersion: string): string {
  return `format ${BUILD_FORMAT}\0esbuild ${esbuildVersion}\0node ${process.versions.node}\0`;
}

function manifestFile(script: string): string {
  const id = createHash('sha256').update(resolve(script)).digest('hex').slice(0, 12);
  return join(BUILD_ROOT, `${basename(dirname(script))}-${basename(script, extname(script))}-${id}.json`);
}

const isPackageFile = (f: string) => f.includes('/node_modules/');

/** What of a file goes into the key: a package file's size and mtime (installs rewrite them), a source's bytes. */
function fingerprint(f: string, bytes?: Buffer): Buffer | string {
  if (isPackageFile(f)) {
    const st = statSync(f);
    return `${st.size}:${st.mtimeMs}`;
  }
  return bytes ?? readFileSync(f);
}

/** Synchronous on purpose: ~1000 stat calls take a few ms this way, several times that through the thread pool. */
function keyOf(inputs: string[], esbuildVersion: string, bytes: (f: string) => Buffer | undefined = () => undefined): string {
  const h = createHash('sha256').update(salt(esbuildVersion));
  for (const f of inputs) h.update(`${f}\0`).update(fingerprint(f, bytes(f))).update('\0');
  return h.digest('hex').slice(0, 20);
}

/**
 * The JavaScript entry to run for a TypeScript `script`: the cached bundle when every input is unchanged
 * (~10 ms of checking), otherwise a fresh build (one to a few seconds, once). Concurrent launches of one
 * script share a build.
 */
export function compiledEntry(script: string): Promise<string> {
  const abs = resolve(script);
  let p = building.get(abs);
  if (!p) {
    p = compile(abs).finally(() => building.delete(abs));
    building.set(abs, p);
  }
  return p;
}

let installedEsbuild: string | undefined;
/** esbuild's version, without loading it (a cache hit needs no compiler). */
function esbuildVersion(): string {
  installedEsbuild ??= (JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('esbuild')), '..', 'package.json'), 'utf8')) as { version: string }).version;
  return installedEsbuild;
}

async function compile(script: string): Promise<string> {
  const mf = manifestFile(script);
  try {
    const m = JSON.parse(await readFile(mf, 'utf8')) as Manifest;
    const entry = join(BUILD_ROOT, m.entry);
    if (existsSync(entry) && m.key === keyOf(m.inputs, esbuildVersion())) {
      // In use: keeps it from being pruned as old.
      const now = new Date();
      await utimes(dirname(entry), now, now).catch(() => undefined);
      return entry;
    }
  } catch {
    /* no usable manifest, or an input is gone: build */
  }
  const esbuild = await import('esbuild');
  if (esbuild.version !== esbuildVersion()) throw new Error(`esbuild ${esbuild.version} loaded, ${esbuildVersion()} installed`);
  await mkdir(BUILD_ROOT, { recursive: true, mode: 0o755 });
  // The key covers exactly the bytes esbuild compiled (read here), not a later look at the files.
  const read = new Map<string, Buffer>();
  for (const f of CONFIG_FILES) read.set(f, await readFile(f).catch(() => Buffer.alloc(0)));
  const loaders: Record<string, 'ts' | 'tsx'> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx' };
  let result;
  esbuildCalls++;
  try {
    result = await esbuild.build({
      entryPoints: [script],
      absWorkingDir: REPO,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      // As tsx compiles: for this very node, names kept (stack traces, class names), with source maps.
      target: `node${process.versions.node}`,
      keepNames: true,
      sourcemap: 'linked',
      sourcesContent: false,
      // pg's optional native binding (only behind `pg.native`) is not installed.
      external: ['pg-native'],
      // Bundled CommonJS packages require node's built-in modules (and optional packages, in try/catch).
      banner: { js: "import { createRequire as __gbvCreateRequire } from 'node:module'; const require = __gbvCreateRequire(import.meta.url);" },
      outdir: BUILD_ROOT,
      entryNames: '[name]',
      outExtension: { '.js': '.mjs' },
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [
        {
          // The TypeScript sources are read here, so that the key is of the very bytes compiled; the packages'
          // JavaScript (about a thousand files) esbuild reads itself, and the key takes their size and mtime.
          name: 'record-sources',
          setup(b) {
            b.onLoad({ filter: /\.[cm]?tsx?$/ }, async (args) => {
              const bytes = await readFile(args.path);
              read.set(args.path, bytes);
              return { contents: bytes, loader: loaders[extname(args.path)] ?? 'ts', resolveDir: dirname(args.path) };
            });
          },
        },
      ],
    });
  } finally {
    // The build service is a child process of ours: end it when no build is running.
    if (--esbuildCalls === 0) await esbuild.stop();
  }
  // Everything else esbuild read: package files (fingerprinted by stat) and any local non-TypeScript file.
  const others = Object.keys(result.metafile.inputs).map((f) => resolve(REPO, f)).filter((f) => !read.has(f));
  for (const f of others) if (!isPackageFile(f)) read.set(f, await readFile(f));
  const inputs = [...new Set([...read.keys(), ...others])].sort();
  const key = keyOf(inputs, esbuild.version, (f) => read.get(f));
  const dir = join(BUILD_ROOT, key);
  if (!existsSync(join(dir, 'DONE'))) {
    // Written aside and renamed into place: a concurrent start never sees half a bundle.
    const tmp = join(BUILD_ROOT, `tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      for (const f of result.outputFiles) {
        const to = join(tmp, relative(BUILD_ROOT, f.path));
        await mkdir(dirname(to), { recursive: true });
        await writeFile(to, f.contents);
      }
      await writeFile(join(tmp, 'DONE'), '');
      await rename(tmp, dir).catch(async (e) => {
        if (!existsSync(join(dir, 'DONE'))) throw e;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
    pruneBuilds(key);
  }
  const entry = join(key, `${basename(script, extname(script))}.mjs`);
  const tmpManifest = `${mf}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmpManifest, JSON.stringify({ key, inputs, entry } satisfies Manifest));
  await rename(tmpManifest, mf);
  return join(BUILD_ROOT, entry);
}

/** Removes builds (and leftover temporary folders) untouched for a day; a running child loaded its chunks long ago. */
function pruneBuilds(keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(BUILD_ROOT)) {
    if (name === keep || name.endsWith('.json')) continue;
    const path = join(BUILD_ROOT, name);
    try {
      if (now - statSync(path).mtimeMs > BUILD_KEEP_MS) void rm(path, { recursive: true, force: true }).catch(() => undefined);
    } catch {
      /* gone meanwhile */
    }
  }
}
