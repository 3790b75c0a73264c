// Finding the run's artifacts (everything that can carry a secret) from the Playwright config, and redacting them.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FullConfig } from '@playwright/test/reporter';
import { redactTree, type Secret } from '../redact.ts';

type ReporterEntry = [string, unknown];
export interface ArtifactPaths { redact: string[]; allure: string[] }

/** Test output dirs, Allure results, json/junit/blob/html outputs. */
export function artifactPaths(config: FullConfig, extra: string[] = []): ArtifactPaths {
  const configDir = config.configFile ? dirname(config.configFile) : config.rootDir;
  const out = new Set<string>();
  const allure = new Set<string>();
  for (const p of config.projects) if (p.outputDir) out.add(resolve(p.outputDir));
  for (const [name, raw] of (config.reporter ?? []) as ReporterEntry[]) {
    const opts = (raw ?? {}) as { resultsDir?: string; outputFile?: string; outputDir?: string; outputFolder?: string };
    if (/allure-playwright/.test(name)) {
      // allure-playwright resolves its resultsDir against the working directory.
      allure.add(resolve(process.cwd(), opts.resultsDir ?? 'allure-results'));
    } else if (name === 'json' || name === 'junit') {
      const f = opts.outputFile ?? reporterEnvFile(name);
      if (f) out.add(isAbsolute(f) ? f : resolve(configDir, f));
    } else if (name === 'blob') {
      out.add(resolve(configDir, opts.outputDir ?? process.env.PLAYWRIGHT_BLOB_OUTPUT_DIR ?? 'blob-report'));
    } else if (name === 'html') {
      out.add(resolve(configDir, opts.outputFolder ?? process.env.PLAYWRIGHT_HTML_OUTPUT_DIR ?? 'playwright-report'));
    }
  }
  for (const e of extra) out.add(resolve(e));
  for (const a of allure) out.add(a);
  return { redact: [...out], allure: [...allure] };
}

function reporterEnvFile(name: 'json' | 'junit'): string | undefined {
  const e = process.env;
  return name === 'json' ? e.PLAYWRIGHT_JSON_OUTPUT_NAME ?? e.PLAYWRIGHT_JSON_OUTPUT_FILE : e.PLAYWRIGHT_JUNIT_OUTPUT_NAME ?? e.PLAYWRIGHT_JUNIT_OUTPUT_FILE;
}

/** Redacts every path (only files modified since `newerThanMs` when given); returns the problems, one line each. */
export async function redactArtifacts(paths: string[], secrets: readonly Secret[], newerThanMs?: number): Promise<string[]> {
  const errors: string[] = [];
  for (const p of paths) errors.push(...(await redactTree(p, secrets, { newerThanMs })).errors);
  return errors;
}
