/**
 * The workbench in Chromium (playwright-core): opening a folder and answering the workspace-trust dialog, finding
 * a webview's frame, reading notification toasts.
 */
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import { keepBrowserLog } from './browserLog';
import { step } from './screenshots';
import { DEFAULT_TIMEOUT_MS, sleep } from './wait';

export const CHROMIUM_PATH = process.env.JIT_E2E_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export interface OpenWorkbenchOptions {
  /** Answer the workspace-trust dialog with "Yes" (true) or "No" (false: Restricted Mode). */
  trust: boolean;
  /** How long to wait for the workbench (default 120 s). */
  timeoutMs?: number;
  /** How long to wait for the trust dialog before assuming there is none (default 30 s). */
  trustDialogTimeoutMs?: number;
  viewport?: { width: number; height: number };
  /** Run with a visible window (needs a display). Default: headless unless JIT_E2E_HEADED=1. */
  headed?: boolean;
}

export interface Workbench {
  browser: Browser;
  page: Page;
}

/** Builds `${url}/?folder=${folder}`. */
export function workbenchUrl(url: string, folder: string): string {
  return `${url.replace(/\/+$/, '')}/?folder=${encodeURIComponent(folder).replace(/%2F/g, '/')}`;
}

/**
 * Launches Chromium, opens the folder in the workbench served at `url`,
 * waits for it and answers the workspace-trust dialog.
 */
export async function openWorkbench(url: string, folder: string, opts: OpenWorkbenchOptions): Promise<Workbench> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: !(opts.headed ?? process.env.JIT_E2E_HEADED === '1'),
    args: [...CHROMIUM_ARGS],
  });
  let page: Page | undefined;
  try {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1440, height: 900 } });
    page = await context.newPage();
    keepBrowserLog(page);
    const target = workbenchUrl(url, folder);
    const timeout = opts.timeoutMs ?? 120_000;
    await step(page, `loading ${target}`, () => page!.goto(target, { waitUntil: 'domcontentloaded', timeout }));
    await waitForWorkbench(page, timeout);
    await answerTrustDialog(page, opts.trust, opts.trustDialogTimeoutMs ?? 30_000);
    return { browser, page };
  } catch (err) {
    await browser.close().catch(() => undefined);
    throw err;
  }
}

/** Waits for the workbench (`.monaco-workbench` and its status bar) to be shown. */
export async function waitForWorkbench(page: Page, timeoutMs = 120_000): Promise<void> {
  await step(page, 'waiting for the workbench (.monaco-workbench)', async () => {
    await page.locator('.monaco-workbench').first().waitFor({ state: 'visible', timeout: timeoutMs });
    await page.locator('.monaco-workbench .part.statusbar').first().waitFor({ state: 'visible', timeout: timeoutMs });
  });
  // Until the colour theme is loaded the workbench is drawn with fallback
  // colours; its class then names the theme file (e.g. "...-dark_modern-json").
  // Best effort: screenshots look right, nothing fails if it never shows.
  await page
    .locator('.monaco-workbench[class*="-json"]')
    .first()
    .waitFor({ state: 'attached', timeout: 15_000 })
    .catch(() => undefined);
}

const TRUST_YES = /^\s*Yes, I trust the authors/i;
const TRUST_NO = /^\s*No, I don.t trust the authors/i;

async function answerTrustDialog(page: Page, trust: boolean, timeoutMs: number): Promise<void> {
  const dialog = page.locator('.monaco-dialog-box');
  const yes = dialog.getByRole('button', { name: TRUST_YES });
  const no = dialog.getByRole('button', { name: TRUST_NO });
  let shown = true;
  try {
    await yes.or(no).first().waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    shown = false; // no dialog: trust was decided before (e.g. the folder is already trusted)
  }
  if (shown) {
    await step(page, `answering the workspace-trust dialog with ${trust ? 'Yes' : 'No'}`, async () => {
      await (trust ? yes : no).first().click();
      await dialog.first().waitFor({ state: 'hidden', timeout: 15_000 });
    });
  }
  // The Restricted Mode indicator shows until trust is granted; wait for the
  // state asked for, so callers start from a settled workbench.
  await step(page, `waiting for the workbench to ${trust ? 'leave' : 'show'} Restricted Mode` +
    (shown ? '' : ` (no trust dialog appeared within ${timeoutMs} ms)`), async () => {
    await restrictedModeMarker(page).first().waitFor({ state: trust ? 'hidden' : 'visible', timeout: 30_000 });
  });
}

function restrictedModeMarker(page: Page): Locator {
  return page
    .locator('.monaco-workbench .part.statusbar, .monaco-workbench .part.banner')
    .getByText('Restricted Mode');
}

/**
 * True when the workbench shows Restricted Mode (status bar entry or banner),
 * waiting up to `timeoutMs` for it to appear.
 */
export async function isRestrictedMode(page: Page, timeoutMs = 10_000): Promise<boolean> {
  try {
    await restrictedModeMarker(page).first().waitFor({ state: 'visible', timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a command from the command palette by its full title as shown there
 * (e.g. "Developer: Reload Window"). Commands contributed by extensions appear
 * only once the extension host has registered them, and the palette lists the
 * commands known when it opened, so it is reopened until the row shows up.

/**
 * Finds the frame (webviews are nested iframes) that contains `selector`,
 * searching all frames of the page until `timeoutMs`.
 */
export async function findFrame(page: Page, selector: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Frame> {
  return step(page, `looking for a frame containing "${selector}"`, async () => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const frame of page.frames()) {
        if (frame.isDetached()) continue;
        try {
          if (await frame.locator(selector).count()) return frame;
        } catch {
          /* frame navigated or detached meanwhile */
        }
      }
      if (Date.now() > deadline) {
        const urls = page.frames().map((f) => `  ${f.url()}`);
        throw new Error(`not found within ${timeoutMs} ms in ${urls.length} frame(s):\n${urls.join('\n')}`);
      }
      await sleep(250);
    }
  });
}

/** Texts of the notification toasts currently visible. */
export async function notifications(page: Page): Promise<string[]> {
  const items = page.locator('.notifications-toasts .notification-toast .notification-list-item-message');
  const out: string[] = [];
  for (const item of await items.all()) {
    try {
      if (await item.isVisible()) out.push((await item.innerText({ timeout: 1_000 })).trim());
    } catch {
      /* toast went away meanwhile */
    }
  }
  return out;
}

/** Waits until a visible notification toast contains `text` (or matches it); returns its text. */
export async function waitForNotification(
  page: Page,
  text: string | RegExp,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<string> {
  const matches = (t: string): boolean => (typeof text === 'string' ? t.includes(text) : text.test(t));
  let seen: string[] = [];
  return step(page, `waiting for a notification ${String(text)}`, async () => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      seen = await notifications(page);
      const hit = seen.find(matches);
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`visible notifications: ${JSON.stringify(seen)}`);
      await sleep(250);
    }
  });
}
