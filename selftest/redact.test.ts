// Redaction and the artifact audit, on real files and real zips (JSZip, as Playwright traces are built).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import JSZip from 'jszip';
import { findSecrets, REDACTED, redactText, redactTree, scanText } from '../helpers/redact.ts';
import { collectSecrets } from '../helpers/secrets.ts';
import { loadConfig } from '../helpers/config.ts';
import { makeRunRecord, writeRunRecord } from '../helpers/run-record.ts';
import { audit } from '../bin/audit-artifacts.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PW = 'Adm1n-Pässword&x=1 "q"'; // spaces, quotes, & and non-ASCII: every encoding differs
const TOKEN = 'coolify-tok-9f8e7d6c5b4a';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'gbv-redact-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('literal secrets are redacted raw, URL-encoded, form-encoded and JSON-escaped', () => {
  const text = [
    `raw ${PW} end`,
    `query ?p=${encodeURIComponent(PW)}&z`,
    `form ${encodeURIComponent(PW).replace(/%20/g, '+')}`,
    `json ${JSON.stringify({ p: PW })}`,
    `nested ${JSON.stringify(JSON.stringify({ p: PW }))}`,
    `token ${TOKEN}`,
  ].join('\n');
  const out = redactText(text, [PW, TOKEN]);
  assert.ok(!out.includes(PW));
  assert.ok(!out.includes(encodeURIComponent(PW)));
  assert.ok(!out.includes(TOKEN));
  assert.ok(!out.includes('Adm1n'), out);
  assert.equal(out.split(REDACTED).length - 1, 6, out);
  // Idempotent, and nothing else touched.
  assert.equal(redactText(out, [PW, TOKEN]), out);
  assert.ok(out.startsWith('raw [REDACTED] end'));
});

test('credential shapes are redacted without knowing the values', () => {
  const cases: [string, string][] = [
    ['Cookie: theme=dark; better-auth.session_token=abc123.sig%2B%3D; lang=en', 'Cookie: theme=dark; better-auth.session_token=[REDACTED]; lang=en'],
    ['set-cookie: __Secure-better-auth.session_data=eyJzZXNz; Path=/; HttpOnly', 'set-cookie: __Secure-better-auth.session_data=[REDACTED]; Path=/; HttpOnly'],
    ['set-cookie: _session=K1; path=/, _session.sig=S1, _interaction_resume=R1', 'set-cookie: _session=[REDACTED]; path=/, _session.sig=[REDACTED], _interaction_resume=[REDACTED]'],
    ['better-auth.state=st4te; better-auth.session_token=; Max-Age=0', 'better-auth.state=[REDACTED]; better-auth.session_token=; Max-Age=0'],
    ['Authorization: Bearer eyJhbGciOi.J9.sig', 'Authorization: Bearer [REDACTED]'],
    ['authorization: Basic dXNlcjpwYXNz', 'authorization: Basic [REDACTED]'],
    ['loginName=gbv-admin&password=hunter2&next=/', 'loginName=gbv-admin&password=[REDACTED]&next=/'],
    ['code=abc&code_verifier=v3rifier&client_id=1', 'code=abc&code_verifier=[REDACTED]&client_id=1'],
    ['{"name":"cookie","value":"better-auth.session_token=abc; x=1"}', '{"name":"cookie","value":"[REDACTED]"}'],
    ['{"name":"Authorization","value":"Bearer xyz"}', '{"name":"Authorization","value":"[REDACTED]"}'],
    ['{"name":"better-auth.session_token","value":"abc.def","domain":"x"}', '{"name":"better-auth.session_token","value":"[REDACTED]","domain":"x"}'],
    ['{"params":[{"name":"password","value":"pw \\" q"}]}', '{"params":[{"name":"password","value":"[REDACTED]"}]}'],
    ['{"session":{"token":"t0k3n","userId":"u"},"password":"p"}', '{"session":{"token":"[REDACTED]","userId":"u"},"password":"[REDACTED]"}'],
    ['"text":"{\\"password\\":\\"pw\\",\\"user\\":\\"a\\"}"', '"text":"{\\"password\\":\\"[REDACTED]\\",\\"user\\":\\"a\\"}"'],
    ['postgresql://gadgetbot:s3cret@127.0.0.2:5432/gadgetbot', 'postgresql://gadgetbot:[REDACTED]@127.0.0.2:5432/gadgetbot'],
  ];
  for (const [input, want] of cases) assert.equal(redactText(input), want, input);
  // Prose that mentions credentials keeps its words; JSON stays parseable.
  const prose = 'OIDC auth method "Basic" instead of "None"; the Bearer token; password-text-input; x_session=1';
  assert.equal(redactText(prose), prose);
  const json = JSON.stringify({ headers: [{ name: 'cookie', value: 'a"b\\c' }], password: 'p"w' });
  assert.deepEqual(JSON.parse(redactText(json)), { headers: [{ name: 'cookie', value: REDACTED }], password: REDACTED });
});

test('scanText names kinds, never values, and ignores redacted or template-looking values', () => {
  const kinds = scanText(`x ${PW} y Authorization: Bearer abcdefghijkl`, [{ kind: 'ADMIN_PASSWORD', value: PW }]);
  assert.deepEqual(kinds.sort(), ['ADMIN_PASSWORD', 'authorization header', 'bearer token']);
  assert.ok(!kinds.join().includes(PW));
  assert.deepEqual(scanText('Authorization: Bearer [REDACTED]; better-auth.session_token=[REDACTED]'), []);
  assert.deepEqual(scanText('headers: { authorization: `Bearer ${t.coolify.token}` }'), []);
});

async function traceZip(secretPw: string, sessionCookie: string): Promise<Buffer> {
  const inner = new JSZip();
  inner.file('0-trace.network', JSON.stringify({
    type: 'resource-snapshot',
    snapshot: {
      request: {
        headers: [{ name: 'cookie', value: `better-auth.session_token=${sessionCookie}` }, { name: 'accept', value: '*/*' }],
        postData: { text: `password=${encodeURIComponent(secretPw)}` },
      },
    },
  }) + '\n');
  inner.file('resources/abc.dat', `{"loginName":"gbv-admin","password":${JSON.stringify(secretPw)}}`);
  inner.file('resources/shot.jpeg', Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x10, 0x4a, 0x46]));
  inner.file('0-trace.trace', '{"type":"action","title":"fill"}\n');
  return inner.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

test('redactTree rewrites text files and zips (nested too) in place; binary entries stay byte-identical', async (t) => {
  const dir = tmp(t);
  const cookie = 'SeSsIoNtOkEn1234567890.sig';
  const trace = await traceZip(PW, cookie);
  mkdirSync(join(dir, 'test-results', 'a'), { recursive: true });
  writeFileSync(join(dir, 'test-results', 'a', 'trace.zip'), trace);
  // A blob report holds traces as zips inside a zip.
  const blob = new JSZip();
  blob.file('report.jsonl', `{"error":"login failed for ${PW}"}\n`);
  blob.file('resources/t1.zip', trace);
  writeFileSync(join(dir, 'report-1.zip'), await blob.generateAsync({ type: 'nodebuffer' }));
  writeFileSync(join(dir, 'test-results', 'a', 'error-context.md'), `# Error\nADMIN_PASSWORD was ${PW}\n`);
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]);
  writeFileSync(join(dir, 'test-results', 'a', 'shot.png'), png);
  writeFileSync(join(dir, 'clean.txt'), 'nothing to see\n');

  const before = await findSecrets(dir, [{ kind: 'ADMIN_PASSWORD', value: PW }]);
  assert.ok(before.length >= 4, JSON.stringify(before));
  const res = await redactTree(dir, [PW]);
  assert.deepEqual(res.errors, []);
  assert.deepEqual(res.changed.map((f) => f.slice(dir.length + 1)).sort(), ['report-1.zip', 'test-results/a/error-context.md', 'test-results/a/trace.zip']);
  assert.deepEqual(await findSecrets(dir, [{ kind: 'ADMIN_PASSWORD', value: PW }, { kind: 'cookie', value: cookie }]), []);

  const z = await JSZip.loadAsync(readFileSync(join(dir, 'test-results', 'a', 'trace.zip')));
  const net = await z.file('0-trace.network')!.async('string');
  assert.match(net, /"value":"\[REDACTED\]"/);
  assert.match(net, /password=\[REDACTED\]/);
  assert.ok(!net.includes(cookie));
  assert.ok((await z.file('resources/abc.dat')!.async('string')).includes('"password":"[REDACTED]"'));
  assert.deepEqual(await z.file('resources/shot.jpeg')!.async('nodebuffer'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x10, 0x4a, 0x46]));
  assert.deepEqual(readFileSync(join(dir, 'test-results', 'a', 'shot.png')), png);
  const b = await JSZip.loadAsync(readFileSync(join(dir, 'report-1.zip')));
  const nested = await JSZip.loadAsync(await b.file('resources/t1.zip')!.async('nodebuffer'));
  assert.ok(!(await nested.file('resources/abc.dat')!.async('string')).includes('Adm1n'));
  // A second pass finds nothing more to do.
  assert.deepEqual((await redactTree(dir, [PW])).changed, []);
});

test('findSecrets reports planted secrets with file, zip entry and kind, and nothing else', async (t) => {
  const dir = tmp(t);
  const secrets = [{ kind: 'ADMIN_PASSWORD', value: PW }, { kind: 'COOLIFY_TOKEN', value: TOKEN }];
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'sub', 'log.jsonl'), `{"msg":"deploy","auth":"${TOKEN}"}\n`);
  const z = new JSZip();
  z.file('0-trace.network', '{"ok":true}\n');
  z.file('resources/x.dat', `pw=${encodeURIComponent(PW)}`);
  writeFileSync(join(dir, 'trace.zip'), await z.generateAsync({ type: 'nodebuffer' }));
  writeFileSync(join(dir, 'har.json'), '{"name":"Cookie","value":"better-auth.session_token=Zz9Yy8Xx7Ww6Vv5"}');
  // Look-alikes that must not be reported: other words, redacted values, secrets of 3 characters.
  writeFileSync(join(dir, 'clean.md'), `Adm1n is a prefix only; token ${REDACTED}; Bearer [REDACTED]; abc`);
  const hits = await findSecrets(dir, [...secrets, 'abc']);
  const norm = hits.map((h) => `${h.file}|${h.entry ?? ''}|${h.secretKind}`).sort();
  assert.deepEqual(norm, ['har.json||credential JSON field', 'har.json||session cookie', 'sub/log.jsonl||COOLIFY_TOKEN', 'trace.zip|resources/x.dat|ADMIN_PASSWORD']);
  assert.ok(!JSON.stringify(hits).includes(PW) && !JSON.stringify(hits).includes(TOKEN));
});

function plantProject(dir: string) {
  const dbPw = 'db-Pa55word!';
  // What global setup writes: the run record of a configured target (0600, outside reports/).
  const target = loadConfig({
    APP_URL: 'https://gadgetbot.example.test', AUTH_URL: 'https://gadgetbot-auth.example.test',
    ADMIN_USER: 'gbv-admin', ADMIN_PASSWORD: PW, COOLIFY_TOKEN: TOKEN, DEPLOYER_URL: 'https://gadgetbot-coolify.example.test',
    VIEWER_USER: 'gbv-viewer', VIEWER_PASSWORD: 'Vi3wer-Secret', RUN_ID: 'run-1',
    DATABASE_URL: `postgresql://gadgetbot:${encodeURIComponent(dbPw)}@db.example.test:5432/gadgetbot`,
  });
  const record = writeRunRecord(makeRunRecord(target, { embedded: false }), join(dir, '.gbv'));
  // A .env nobody reads after the run any more: its secret is NOT expected to be looked for.
  writeFileSync(join(dir, '.env'), 'ADMIN_PASSWORD=Only-In-Dotenv-9\n');
  mkdirSync(join(dir, '.auth'), { recursive: true });
  const session = 'Ab3dEf6hIj9kLm2nOp5qRs8t';
  writeFileSync(join(dir, '.auth', 'admin.json'), JSON.stringify({
    cookies: [{ name: '__Secure-better-auth.session_token', value: `${session}.${encodeURIComponent('sIg/n+a=')}`, domain: 'gadgetbot.example.test' }],
    origins: [],
  }));
  return { dbPw, session, record };
}

test('audit: the secrets of the run records, storage-state tokens; files listed, secrets never printed', async (t) => {
  const dir = tmp(t);
  const { dbPw, session, record } = plantProject(dir);
  assert.equal(statSync(record).mode & 0o777, 0o600, 'the run record is owner-only');
  assert.equal(statSync(join(dir, '.gbv')).mode & 0o777, 0o700);
  const env = { PATH: process.env.PATH };
  const found = collectSecrets({ cwd: dir, env, records: 'all', recordDir: join(dir, '.gbv') });
  const values = found.map((s) => s.value);
  for (const v of [PW, TOKEN, dbPw, 'Vi3wer-Secret', session]) assert.ok(values.includes(v), `collectSecrets misses a planted secret (${found.map((s) => s.kind).join(', ')})`);
  assert.ok(!values.includes('Only-In-Dotenv-9'), '.env is not re-read after the run');
  // The current run only: the record GBV_RUN_RECORD names, plus what the env names.
  const current = collectSecrets({ cwd: dir, env: { GBV_RUN_RECORD: record, CI_DEPLOY_TOKEN: 'ci-token-123456' } }).map((s) => s.value);
  for (const v of [PW, TOKEN, 'ci-token-123456']) assert.ok(current.includes(v));
  assert.deepEqual(collectSecrets({ cwd: dir, env: {}, includeStorageStates: false }), []);

  mkdirSync(join(dir, 'reports', 'allure-results'), { recursive: true });
  mkdirSync(join(dir, 'test-results', 'x'), { recursive: true });
  mkdirSync(join(dir, '.stack', 'run-1-2', 'logs'), { recursive: true });
  writeFileSync(join(dir, 'reports', 'results.json'), JSON.stringify({ message: 'all good', n: 3 }));
  writeFileSync(join(dir, 'reports', 'allure-results', 'u1-result.json'), JSON.stringify({ statusDetails: { message: `got session ${session}` } }));
  writeFileSync(join(dir, 'test-results', 'x', 'error-context.md'), `password was ${PW}\n`);
  writeFileSync(join(dir, '.stack', 'run-1-2', 'logs', 'auth.log'), `{"event":"login","user":"gbv-viewer","pw":"Vi3wer-Secret"}\n`);
  writeFileSync(join(dir, '.stack', 'run-1-2', 'logs', 'app.log'), '{"event":"listening"}\n');

  const r = await audit({ cwd: dir, env });
  const files = [...new Set(r.hits.map((h) => h.file))].sort();
  assert.deepEqual(files, ['.stack/run-1-2/logs/auth.log', 'reports/allure-results/u1-result.json', 'test-results/x/error-context.md']);
  assert.equal(r.files, 5);

  // The CLI: exit 1, names the files, prints no secret; after redaction exit 0.
  const cli = (cwd: string) => spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'bin', 'audit-artifacts.ts')], {
    cwd, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 30_000,
  });
  const bad = cli(dir);
  assert.equal(bad.status, 1, bad.stderr);
  const out = bad.stdout + bad.stderr;
  assert.match(out, /test-results\/x\/error-context\.md/);
  for (const v of [PW, TOKEN, dbPw, 'Vi3wer-Secret', session]) assert.ok(!out.includes(v), 'the audit printed a secret');
  for (const d of ['reports', 'test-results', join('.stack', 'run-1-2', 'logs')]) await redactTree(join(dir, d), found);
  const good = cli(dir);
  assert.equal(good.status, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /audit: OK — 5 files/);
});
