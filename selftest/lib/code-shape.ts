// The static rules of issue 13 ("One way through the code"), checked on the TypeScript syntax tree (the
// compiler's own parser, so comments and strings are told apart from code):
// - no function longer than 150 lines, nested functions included (each counted on its own); the callbacks of
//   test()/describe()/it() (and test.step, test.describe.serial, … or an alias such as `test as setup`) in
//   tests/**/*.spec.ts, tests/**/*.setup.ts and selftest/**/*.test.ts are test bodies, not functions;
// - no spec imports `test` from '@playwright/test' (every spec uses the project's fixtures/test.ts);
// - `/api/auth/get-session` is asked in at most two modules: one outside stack/app (the session client) and
//   stack/app itself;
// - the Retry-After header is read in one module (the stack, which sets it, and the self-tests aside);
// - no waitForTimeout in tests/ or fixtures/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 150;

export interface ShapeReport {
  longFunctions: string[];
  playwrightTestImports: string[];
  getSessionModules: string[];
  retryAfterModules: string[];
  waitForTimeout: string[];
}

const TEST_BODY_FILE = /^(tests\/.*\.(spec|setup)\.ts|selftest\/.*\.test\.ts)$/;
const SPEC_FILE = /^tests\/.*\.(spec|setup)\.ts$/;
const TEST_RUNNERS = new Set(['test', 'describe', 'it']);

type FunctionNode = ts.FunctionLikeDeclaration;

function isFunctionNode(n: ts.Node): n is FunctionNode {
  return ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n)
    || ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n);
}

/** Local names bound to test/describe/it by imports (`import { test as setup }` → setup). */
function testRunnerNames(sf: ts.SourceFile): Set<string> {
  const names = new Set(TEST_RUNNERS);
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !st.importClause?.namedBindings || !ts.isNamedImports(st.importClause.namedBindings)) continue;
    for (const el of st.importClause.namedBindings.elements) {
      if (TEST_RUNNERS.has((el.propertyName ?? el.name).text)) names.add(el.name.text);
    }
  }
  return names;
}

/** `test.describe.serial(…)` → `test`. */
function calleeRoot(e: ts.Expression): string | undefined {
  let cur: ts.Expression = e;
  while (ts.isPropertyAccessExpression(cur) || ts.isCallExpression(cur)) cur = ts.isCallExpression(cur) ? cur.expression : cur.expression;
  return ts.isIdentifier(cur) ? cur.text : undefined;
}

function isTestBody(fn: FunctionNode, runners: Set<string>): boolean {
  const call = fn.parent;
  if (!call || !ts.isCallExpression(call) || !call.arguments.includes(fn as ts.Expression)) return false;
  const root = calleeRoot(call.expression);
  return !!root && runners.has(root);
}

function functionName(fn: FunctionNode): string {
  if (fn.name && (ts.isIdentifier(fn.name) || ts.isStringLiteral(fn.name))) return fn.name.text;
  if (ts.isConstructorDeclaration(fn)) return 'constructor';
  const p = fn.parent;
  if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (p && ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) return p.name.text;
  if (p && ts.isCallExpression(p)) return `callback of ${p.expression.getText().slice(0, 40)}()`;
  return '(anonymous)';
}

const lineOf = (sf: ts.SourceFile, pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;

function stringPieces(n: ts.Node): string | undefined {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) return n.text;
  return undefined;
}

interface FileFacts { long: string[]; pwTestImport: boolean; getSession: boolean; retryAfter: boolean; waitForTimeout: string[] }

/** What the rules need to know about one file. */
export function factsOf(path: string, text: string): FileFacts {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const runners = testRunnerNames(sf);
  const bodiesAside = TEST_BODY_FILE.test(path);
  const facts: FileFacts = { long: [], pwTestImport: false, getSession: false, retryAfter: false, waitForTimeout: [] };
  const visit = (n: ts.Node): void => {
    if (isFunctionNode(n) && n.body) {
      const lines = lineOf(sf, n.getEnd()) - lineOf(sf, n.getStart(sf)) + 1;
      if (lines > MAX_FUNCTION_LINES && !(bodiesAside && isTestBody(n, runners))) {
        facts.long.push(`${path}:${lineOf(sf, n.getStart(sf))} ${functionName(n)} (${lines} lines)`);
      }
    }
    const s = stringPieces(n);
    if (s !== undefined) {
      if (s.includes('/api/auth/get-session')) facts.getSession = true;
      if (/^(x-)?retry-after$/i.test(s.trim())) facts.retryAfter = true;
    }
    if (ts.isIdentifier(n) && n.text === 'waitForTimeout') facts.waitForTimeout.push(`${path}:${lineOf(sf, n.getStart(sf))}`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  facts.pwTestImport = importsPlaywrightTest(sf);
  return facts;
}

function importsPlaywrightTest(sf: ts.SourceFile): boolean {
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier) || st.moduleSpecifier.text !== '@playwright/test') continue;
    const clause = st.importClause;
    if (!clause || clause.isTypeOnly) continue;
    if (clause.name) return true; // default import: the whole module, test included
    const nb = clause.namedBindings;
    if (nb && ts.isNamespaceImport(nb)) return true;
    if (nb && ts.isNamedImports(nb) && nb.elements.some((el) => !el.isTypeOnly && (el.propertyName ?? el.name).text === 'test')) return true;
  }
  return false;
}

/** Applies every rule to the files (paths relative to `root`, `/`-separated). */
export function checkShape(root: string, paths: string[]): ShapeReport {
  const r: ShapeReport = { longFunctions: [], playwrightTestImports: [], getSessionModules: [], retryAfterModules: [], waitForTimeout: [] };
  const sessionModules = new Set<string>();
  for (const path of paths.filter((p) => /\.tsx?$/.test(p) && !p.endsWith('.d.ts')).sort()) {
    const f = factsOf(path, readFileSync(join(root, path), 'utf8'));
    r.longFunctions.push(...f.long);
    if (f.pwTestImport && SPEC_FILE.test(path)) r.playwrightTestImports.push(path);
    if (f.getSession && !path.startsWith('selftest/')) sessionModules.add(path.startsWith('stack/app/') ? 'stack/app' : path);
    if (f.retryAfter && !path.startsWith('selftest/') && !path.startsWith('stack/')) r.retryAfterModules.push(path);
    if (/^(tests|fixtures)\//.test(path)) r.waitForTimeout.push(...f.waitForTimeout);
  }
  const outside = [...sessionModules].filter((m) => m !== 'stack/app');
  if (outside.length > 1) r.getSessionModules = [...sessionModules];
  if (r.retryAfterModules.length <= 1) r.retryAfterModules = [];
  return r;
}

/** One line per broken rule and offender ('' when the tree keeps every rule). */
export function describeReport(r: ShapeReport): string {
  const out: string[] = [];
  const section = (title: string, items: string[]) => { if (items.length) out.push(title, ...items.map((i) => `  ${i}`)); };
  section(`functions over ${MAX_FUNCTION_LINES} lines:`, r.longFunctions);
  section("specs importing test from '@playwright/test' (use fixtures/test.ts):", r.playwrightTestImports);
  section('/api/auth/get-session asked in more than the session client and stack/app:', r.getSessionModules);
  section('Retry-After read in more than one module:', r.retryAfterModules);
  section('waitForTimeout in tests/ or fixtures/:', r.waitForTimeout);
  return out.join('\n');
}
