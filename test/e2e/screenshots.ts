/** Screenshots a person can look at (test-results/e2e/), and steps that leave one behind when they fail. */
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';

/** Repository root (this file lives in `<root>/test/e2e`). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Where `screenshot()` writes its PNG files. */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results', 'e2e');

/** Saves a screenshot as `test-results/e2e/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'screenshot';
  const file = path.join(SCREENSHOT_DIR, safe.endsWith('.png') ? safe : `${safe}.png`);
  await page.screenshot({ path: file, timeout: 30_000 });
  return file;
}

/**
 * Runs `fn`; on failure saves a screenshot and rethrows with a message saying
 * what was being done and where the screenshot is.
 */
export async function step<T>(page: Page, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    let shot = '';
    if (!page.isClosed()) {
      try {
        const name = `failure-${Date.now()}-${what.slice(0, 60)}`;
        shot = `\n(screenshot: ${await screenshot(page, name)})`;
      } catch {
        /* page unusable */
      }
    }
    const e = new Error(`e2e: failed while ${what}: ${msg}${shot}`);
    if (err instanceof Error && err.stack) e.stack = `${e.message}\n${err.stack.split('\n').slice(1).join('\n')}`;
    throw e;
  }
}
