/**
 * What the browser said while a test ran: console errors and warnings of every frame (webviews included), failed
 * requests, HTTP errors and crashed pages. A failed test prints the last lines, so that a blank webview or a
 * command with no effect comes with the browser's own account of it.
 */
import type { Page } from 'playwright-core';

const KEEP = 200;
const logs = new WeakMap<Page, string[]>();

function add(page: Page, line: string): void {
  const log = logs.get(page);
  if (!log) return;
  log.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
  if (log.length > KEEP) log.splice(0, log.length - KEEP);
}

/** Starts keeping the browser's log of `page` (its frames and the webviews' service worker's requests). */
export function keepBrowserLog(page: Page): void {
  if (logs.has(page)) return;
  logs.set(page, []);
  const where = (url: string) => url.replace(/^https?:\/\/[^/]+/, '').slice(0, 160);
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') add(page, `console.${m.type()} ${where(m.location().url)}: ${m.text().slice(0, 400)}`);
  });
  page.on('pageerror', (e) => add(page, `uncaught in page: ${e.message.slice(0, 400)}`));
  page.on('requestfailed', (r) => add(page, `request failed (${r.failure()?.errorText ?? 'unknown'}): ${r.method()} ${where(r.url())}`));
  page.on('response', (r) => {
    if (r.status() >= 400) add(page, `HTTP ${r.status()}: ${r.request().method()} ${where(r.url())}`);
  });
  page.on('crash', () => add(page, 'the page crashed'));
  page.on('framedetached', (f) => add(page, `frame detached: ${where(f.url())}`));
}

/** The last `n` lines of the browser's log of `page`. */
export function browserLog(page: Page, n = 40): string[] {
  return (logs.get(page) ?? []).slice(-n);
}
