// The redaction engine for everything the suite leaves behind (reports, traces, logs): strings, files, zips.
// Two layers: literal secrets it is given (configured passwords, tokens, storage-state cookies), and credential
// *shapes* it redacts without knowing the value (session cookies, Authorization headers, password fields),
// because a run can create credentials we never saw (a fresh session cookie in a trace, a refresh token).
// Which literal secrets exist is not this module's business: helpers/secrets.ts finds them.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import JSZip from 'jszip';

export const REDACTED = '[REDACTED]';

/** A secret with a printable label ("ADMIN_PASSWORD", "session cookie (.auth/admin.json)"); the label is what reports show. */
export interface Secret { kind: string; value: string }
export type SecretInput = string | Secret;

/** Literal secrets shorter than this are ignored: replacing "abc" everywhere would wreck files and hide nothing. */
export const MIN_SECRET_LENGTH = 4;

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function normalise(secrets: readonly SecretInput[]): Secret[] {
  const out: Secret[] = [];
  const seen = new Set<string>();
  secrets.forEach((s, i) => {
    const sec = typeof s === 'string' ? { kind: `secret #${i + 1}`, value: s } : s;
    if (!sec.value || sec.value.length < MIN_SECRET_LENGTH || seen.has(sec.value)) return;
    seen.add(sec.value);
    out.push(sec);
  });
  return out;
}

/** Every spelling a secret takes in artifacts: raw, URL-encoded (query/cookie), form-encoded, JSON-escaped (once and twice). */
function spellings(value: string): string[] {
  const forms = new Set<string>([value]);
  const uri = encodeURIComponent(value);
  forms.add(uri);
  forms.add(uri.replace(/%20/g, '+'));
  forms.add(uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  const json1 = JSON.stringify(value).slice(1, -1);
  forms.add(json1);
  forms.add(JSON.stringify(json1).slice(1, -1));
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

interface Compiled { re: RegExp | undefined; kindOf: Map<string, string> }
const compiledCache = new WeakMap<readonly SecretInput[], Compiled>();

function compile(secrets: readonly SecretInput[]): Compiled {
  const hit = compiledCache.get(secrets);
  if (hit) return hit;
  const kindOf = new Map<string, string>();
  for (const s of normalise(secrets)) for (const f of spellings(s.value)) if (!kindOf.has(f)) kindOf.set(f, s.kind);
  // Longest first, so a secret containing another secret is replaced whole.
  const alts = [...kindOf.keys()].sort((a, b) => b.length - a.length).map(esc);
  const out = { re: alts.length ? new RegExp(alts.join('|'), 'g') : undefined, kindOf };
  compiledCache.set(secrets, out);
  return out;
}

// ---- credential shapes ------------------------------------------------------------------------------------

/** Cookie names whose values are credentials: Better Auth (plain and __Secure-), oidc-provider, any *session_token/_data. */
const CRED_COOKIE = String.raw`(?:__Secure-|__Host-)?better-auth\.[\w.-]+|_session(?:\.legacy)?(?:\.sig)?|_interaction(?:_resume)?(?:\.sig)?|[\w.-]*session_(?:token|data)`;
/** Form/query fields whose values are credentials. */
const CRED_FIELD = String.raw`password|passwd|client_secret|code_verifier|refresh_token|access_token|id_token`;
/** JSON keys whose string values are credentials. */
const CRED_KEY = String.raw`password|passwd|secret|client_?secret|code_?verifier|(?:access|refresh|id|session)_?token|token|cookie|set-cookie|authorization|proxy-authorization`;
/** Name/value pairs (HAR headers, storage-state cookies, HAR post params) whose value is a credential. */
const CRED_NAME = String.raw`cookie|set-cookie|authorization|proxy-authorization|${CRED_FIELD}|${CRED_COOKIE}`;

/** Every shape has exactly two groups: (1) what stays, (2) the credential value. */
interface Shape { kind: string; re: RegExp; group: 2; minLen: number }

// Values never include quotes or backslashes, so a match inside JSON text cannot eat the closing quote.
const SHAPES: Shape[] = [
  { kind: 'session cookie', re: new RegExp(String.raw`((?<![\w.-])(?:${CRED_COOKIE})=)([^;\s"'\\,&<>]+)`, 'gi'), group: 2, minLen: 1 },
  {
    kind: 'authorization header',
    re: new RegExp(String.raw`(authorization\\?["']?\s*[:=]\s*\\?["']?\s*(?:Bearer|Basic|Token|Digest)\s+)([^\s"'\\,;]+)`, 'gi'),
    group: 2,
    minLen: 1,
  },
  { kind: 'bearer token', re: /(?<![\w-])(Bearer\s+)([A-Za-z0-9\-._~+/]{8,}=*)/g, group: 2, minLen: 8 },
  { kind: 'URL credentials', re: /(\b[a-z][\w+.-]*:\/\/[^\s:/@"'\\]+:)([^\s@/"'\\]+)(?=@)/gi, group: 2, minLen: 1 },
  { kind: 'password field', re: new RegExp(String.raw`((?<![\w-])(?:${CRED_FIELD})=)([^&\s"'\\<>]+)`, 'gi'), group: 2, minLen: 1 },
  {
    kind: 'credential JSON field',
    re: new RegExp(String.raw`("name"\s*:\s*"(?:${CRED_NAME})"\s*,\s*"value"\s*:\s*")((?:[^"\\]|\\.)*)(?=")`, 'gi'),
    group: 2,
    minLen: 1,
  },
  {
    kind: 'credential JSON field',
    re: new RegExp(String.raw`(\\"name\\"\s*:\s*\\"(?:${CRED_NAME})\\"\s*,\s*\\"value\\"\s*:\s*\\")((?:(?!\\")[^"])*)(?=\\")`, 'gi'),
    group: 2,
    minLen: 1,
  },
  { kind: 'credential JSON field', re: new RegExp(String.raw`("(?:${CRED_KEY})"\s*:\s*")((?:[^"\\]|\\.)*)(?=")`, 'gi'), group: 2, minLen: 1 },
  {
    kind: 'credential JSON field',
    re: new RegExp(String.raw`(\\"(?:${CRED_KEY})\\"\s*:\s*\\")((?:(?!\\")[^"])*)(?=\\")`, 'gi'),
    group: 2,
    minLen: 1,
  },
];

/** Replace every known secret (in all its spellings) and every credential shape with [REDACTED]. Idempotent. */
export function redactText(text: string, secrets: readonly SecretInput[] = []): string {
  const { re } = compile(secrets);
  let out = re ? text.replace(re, REDACTED) : text;
  for (const s of SHAPES) {
    out = out.replace(s.re, (m: string, prefix: string, value: string) =>
      value === '' || value === REDACTED || value.length < s.minLen ? m : prefix + REDACTED,
    );
  }
  return out;
}

export interface SecretHit { file: string; entry?: string; secretKind: string }

/** Which secrets (by kind, never by value) and unredacted credential shapes a text contains. */
export function scanText(text: string, secrets: readonly SecretInput[] = []): string[] {
  const kinds = new Set<string>();
  const { re, kindOf } = compile(secrets);
  if (re) for (const m of text.matchAll(re)) kinds.add(kindOf.get(m[0]) ?? 'secret');
  for (const s of SHAPES) {
    for (const m of text.matchAll(s.re)) {
      const value = m[s.group] ?? '';
      // An audit must not cry wolf on source snippets (`Bearer ${token}`) or cleared cookies (`=; Max-Age=0`).
      if (value === REDACTED || value.length < Math.max(8, s.minLen) || /[${}]/.test(value)) continue;
      kinds.add(s.kind);
    }
  }
  return [...kinds];
}

// ---- files and zips ---------------------------------------------------------------------------------------

const BINARY_EXT = /\.(png|jpe?g|gif|webp|webm|mp4|ico|woff2?|ttf|otf|eot|pdf|gz|tgz|br|wasm)$/i;

function isZip(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;
}

function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 65536).includes(0);
}

/** Redacts a zip in memory (entries that are zips themselves, e.g. traces inside blob reports, recursively). */
async function redactZip(buf: Buffer, secrets: readonly SecretInput[]): Promise<Buffer | undefined> {
  const zip = await JSZip.loadAsync(buf);
  let changed = false;
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    const data = await entry.async('nodebuffer');
    let next: Buffer | undefined;
    if (isZip(data)) next = await redactZip(data, secrets);
    else if (!BINARY_EXT.test(entry.name) && !isBinary(data)) {
      const text = data.toString('utf8');
      const red = redactText(text, secrets);
      if (red !== text) next = Buffer.from(red, 'utf8');
    }
    if (next) {
      zip.file(entry.name, next, { date: entry.date, binary: true });
      changed = true;
    }
  }
  if (!changed) return undefined;
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 6 } });
}

async function scanZip(buf: Buffer, secrets: readonly SecretInput[], prefix: string, file: string, hits: SecretHit[]): Promise<number> {
  const zip = await JSZip.loadAsync(buf);
  let entries = 0;
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    entries++;
    const name = prefix ? `${prefix}!${entry.name}` : entry.name;
    const data = await entry.async('nodebuffer');
    if (isZip(data)) entries += await scanZip(data, secrets, name, file, hits);
    else if (!BINARY_EXT.test(entry.name) && !isBinary(data)) {
      for (const kind of scanText(data.toString('utf8'), secrets)) hits.push({ file, entry: name, secretKind: kind });
    }
  }
  return entries;
}

export function* walk(dir: string): Generator<string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names.sort()) {
    const p = join(dir, n);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue; // deleted while we walked
    }
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) yield* walk(p);
    else if (st.isFile()) yield p;
  }
}

export interface RedactTreeOptions {
  /** Only files modified at or after this time (ms since epoch): a second, cheap pass over late writers. */
  newerThanMs?: number;
}

export interface RedactTreeResult { files: number; changed: string[]; errors: string[] }

/** Rewrites, in place, every text file and every .zip under `dir` (missing dir: nothing to do). */
export async function redactTree(dir: string, secrets: readonly SecretInput[] = [], opts: RedactTreeOptions = {}): Promise<RedactTreeResult> {
  const res: RedactTreeResult = { files: 0, changed: [], errors: [] };
  if (!existsSync(dir)) return res;
  const root = statSync(dir).isFile() ? [dir] : walk(dir);
  for (const file of root) {
    try {
      if (opts.newerThanMs !== undefined && statSync(file).mtimeMs < opts.newerThanMs) continue;
      if (BINARY_EXT.test(file)) continue;
      res.files++;
      const buf = readFileSync(file);
      let next: Buffer | undefined;
      if (isZip(buf)) next = await redactZip(buf, secrets);
      else if (!isBinary(buf)) {
        const text = buf.toString('utf8');
        const red = redactText(text, secrets);
        if (red !== text) next = Buffer.from(red, 'utf8');
      }
      if (next) {
        writeFileSync(file, next);
        res.changed.push(file);
      }
    } catch (e) {
      // A broken zip must not stop the rest of the tree from being cleaned; the audit will still flag it.
      res.errors.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return res;
}

export interface ScanResult { hits: SecretHit[]; files: number; entries: number; errors: string[] }

/** Scans files and zip entries under each folder; hits name the file (relative to `base`) and the kind, never the value. */
export async function scanTree(dirs: string | string[], secrets: readonly SecretInput[] = [], base = process.cwd()): Promise<ScanResult> {
  const res: ScanResult = { hits: [], files: 0, entries: 0, errors: [] };
  for (const dir of Array.isArray(dirs) ? dirs : [dirs]) {
    if (!existsSync(dir)) continue;
    const files = statSync(dir).isFile() ? [dir] : walk(dir);
    for (const file of files) {
      if (BINARY_EXT.test(file)) continue;
      res.files++;
      const rel = relative(base, file) || file;
      try {
        const buf = readFileSync(file);
        if (isZip(buf)) res.entries += await scanZip(buf, secrets, '', rel, res.hits);
        else if (!isBinary(buf)) for (const kind of scanText(buf.toString('utf8'), secrets)) res.hits.push({ file: rel, secretKind: kind });
      } catch (e) {
        res.errors.push(`${rel}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
  return res;
}

/** `{file, entry?, secretKind}` for every secret or unredacted credential found under `dir`. */
export async function findSecrets(dir: string, secrets: readonly SecretInput[] = []): Promise<SecretHit[]> {
  return (await scanTree(dir, secrets, dir)).hits;
}
