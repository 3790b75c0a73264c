// The static rules of issue 13 (selftest/lib/code-shape.ts): proven on small trees that break each rule once,
// then applied to the git-tracked tree, which must keep them (its offenders are printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { checkShape, describeReport, factsOf, MAX_FUNCTION_LINES } from './lib/code-shape.ts';

const ROOT = resolve(import.meta.dirname, '..');

function tree(t: { after: (fn: () => void) => void }, files: Record<string, string>): { root: string; paths: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'gbv-shape-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return { root, paths: Object.keys(files) };
}

/** A function of exactly `lines` lines (first to last line of the node). */
const body = (lines: number) => Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');
const fn = (name: string, lines: number) => `export function ${name}() {\n${body(lines)}\n}\n`;

test('long functions: over 150 lines fails, 150 passes; nested functions count on their own; test bodies aside in specs and self-tests', (t) => {
  const nested = `export function outer() {\n  const inner = () => {\n${body(MAX_FUNCTION_LINES + 1)}\n  };\n  return inner;\n}\n`;
  const { root, paths } = tree(t, {
    'helpers/ok.ts': fn('fits', MAX_FUNCTION_LINES),
    'helpers/long.ts': fn('tooLong', MAX_FUNCTION_LINES + 1),
    'helpers/nested.ts': nested,
    'helpers/methods.ts': `export class C {\n  run() {\n${body(MAX_FUNCTION_LINES + 1)}\n  }\n}\n`,
    'tests/infra/a.spec.ts': `import { test } from '../../fixtures/test.ts';\ntest.describe('x', () => {\n  test('y', async () => {\n${body(MAX_FUNCTION_LINES + 5)}\n  });\n});\n`,
    'tests/setup/b.setup.ts': `import { test as setup } from '../../fixtures/test.ts';\nsetup('sign in', async () => {\n${body(MAX_FUNCTION_LINES + 5)}\n});\n`,
    'selftest/c.test.ts': `import { test } from 'node:test';\ntest('z', async () => {\n  await test.step?.('s', () => {});\n${body(MAX_FUNCTION_LINES + 5)}\n});\n`,
    // A helper inside a spec is a function like any other; so is a test callback outside specs and self-tests.
    'tests/infra/helper.spec.ts': `import { test } from '../../fixtures/test.ts';\n${fn('helper', MAX_FUNCTION_LINES + 1)}test('t', () => helper());\n`,
    'helpers/not-a-spec.ts': `declare const test: (n: string, f: () => void) => void;\ntest('x', () => {\n${body(MAX_FUNCTION_LINES + 1)}\n});\n`,
  });
  const r = checkShape(root, paths);
  assert.deepEqual(r.longFunctions.map((l) => l.replace(/:\d+ /, ' ')), [
    'helpers/long.ts tooLong (151 lines)',
    'helpers/methods.ts run (151 lines)',
    'helpers/nested.ts outer (154 lines)',
    'helpers/nested.ts inner (151 lines)',
    'helpers/not-a-spec.ts callback of test() (151 lines)',
    'tests/infra/helper.spec.ts helper (151 lines)',
  ]);
});

test("specs import test from fixtures/test.ts, never from '@playwright/test' (types and other names are fine)", (t) => {
  const { root, paths } = tree(t, {
    'tests/infra/bad.spec.ts': "import { expect, test } from '@playwright/test';\n",
    'tests/setup/bad.setup.ts': "import { test as setup } from '@playwright/test';\n",
    'tests/db/ns.spec.ts': "import * as pw from '@playwright/test';\n",
    'tests/auth/good.spec.ts': "import { chromium, type Page } from '@playwright/test';\nimport { test } from '../../fixtures/test.ts';\n",
    'tests/auth/types.spec.ts': "import type { test } from '@playwright/test';\n",
    'fixtures/test.ts': "import { test as base } from '@playwright/test';\n",
  });
  assert.deepEqual(checkShape(root, paths).playwrightTestImports, ['tests/db/ns.spec.ts', 'tests/infra/bad.spec.ts', 'tests/setup/bad.setup.ts']);
});

test('get-session in the session client and stack/app only; Retry-After read in one module; no waitForTimeout in tests/ or fixtures/', (t) => {
  const ok = tree(t, {
    'fixtures/session.ts': "export const p = (q: string) => `/api/auth/get-session${q}`;\n",
    'stack/app/server.ts': "route('/api/auth/get-session');\n",
    'stack/app/pages.ts': "// the page fetches /api/auth/get-session\nconst u = '/api/auth/get-session?x=1';\n",
    'selftest/app.test.ts': "call('/api/auth/get-session');\nh['retry-after'];\n",
    'helpers/http.ts': "const ra = res.headers['retry-after'] ?? res.headers['X-Retry-After'];\n",
    'stack/deployer/index.ts': "json(res, 429, {}, { 'retry-after': '7' });\n",
    'helpers/doc.ts': '// page.waitForTimeout is banned; Retry-After and /api/auth/get-session in comments are no code\n',
    'bin/tool.ts': 'await page.waitForTimeout(100);\n',
  });
  const good = checkShape(ok.root, ok.paths);
  assert.deepEqual([good.getSessionModules, good.retryAfterModules, good.waitForTimeout], [[], [], []]);
  assert.equal(describeReport(good), '');

  const bad = tree(t, {
    'fixtures/session.ts': "export const p = '/api/auth/get-session';\n",
    'tests/auth/x.spec.ts': 'const u = `${base}/api/auth/get-session?disableCookieCache=true`;\nawait page.waitForTimeout(500);\n',
    'helpers/http.ts': "header(res, 'x-retry-after');\n",
    'helpers/coolify.ts': "parseRetryAfter(a.headers['Retry-After']);\n",
    'fixtures/pages/flows.ts': 'await page.waitForTimeout(waitMs);\n',
  });
  const r = checkShape(bad.root, bad.paths);
  assert.deepEqual(r.getSessionModules, ['fixtures/session.ts', 'tests/auth/x.spec.ts']);
  assert.deepEqual(r.retryAfterModules, ['helpers/coolify.ts', 'helpers/http.ts']);
  assert.deepEqual(r.waitForTimeout, ['fixtures/pages/flows.ts:1', 'tests/auth/x.spec.ts:2']);
  assert.match(describeReport(r), /Retry-After read in more than one module:\n {2}helpers\/coolify\.ts\n {2}helpers\/http\.ts/);
});

test('factsOf parses TypeScript syntax (types, decorators-free classes, generics) without tripping', () => {
  const f = factsOf('helpers/x.ts', 'export const f = <T,>(x: T): T => x;\nexport abstract class A<T> { abstract g(): T; get h() { return 1; } }\n');
  assert.deepEqual(f.long, []);
});

test('the git-tracked tree keeps the rules', (t) => {
  const paths = execFileSync('git', ['ls-files', '*.ts', '*.tsx'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(paths.length > 50, `git ls-files found ${paths.length} TypeScript files`);
  const text = describeReport(checkShape(ROOT, paths));
  if (text) for (const line of ['code shape offenders:', ...text.split('\n')]) t.diagnostic(line);
  assert.equal(text, '', text);
});
