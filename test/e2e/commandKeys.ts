/**
 * Running commands the deterministic way: the test profile's keybindings.json gives every command a test needs a
 * key chord (Ctrl+Alt+Shift+J, then a letter or digit), a test presses it once the workbench (not a webview) has
 * the keyboard, and checks at once that the command had the effect it should have (a quick input with that title,
 * a tab, a frame, a notification). A press that had no effect fails naming the command and what was missing,
 * instead of a later step timing out. The command palette itself is tested on its own (palette.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { step } from './screenshots';
import { DEFAULT_TIMEOUT_MS, sleep } from './wait';
import { notifications, waitForWorkbench } from './workbench';

/** The first key of every chord: not bound by VS Code or Chromium. */
const PREFIX = { vscode: 'ctrl+alt+shift+j', playwright: 'Control+Alt+Shift+KeyJ' };
const SECOND_KEYS = [...'abcdefghijklmnopqrstuvwxyz0123456789'];

// One chord per command for the whole test process, so every profile written in it agrees with runCommand().
const chords = new Map<string, string>();

function chordOf(command: string): string {
  let key = chords.get(command);
  if (key === undefined) {
    key = SECOND_KEYS[chords.size];
    if (key === undefined) throw new Error(`commandKeys: more than ${SECOND_KEYS.length} commands need a chord`);
    chords.set(command, key);
  }
  return key;
}

/** Writes `<userDataDir>/User/keybindings.json` with a chord for each command; returns the file. */
export function writeKeybindings(userDataDir: string, commands: readonly string[]): string {
  const file = path.join(userDataDir, 'User', 'keybindings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const bindings = commands.map((command) => ({ key: `${PREFIX.vscode} ${chordOf(command)}`, command }));
  fs.writeFileSync(file, JSON.stringify(bindings, null, 2) + '\n');
  return file;
}

/** The chord of a command as a person reads it (for messages). */
export function chordLabel(command: string): string {
  const key = chords.get(command);
  if (key === undefined) throw new Error(`commandKeys: ${command} has no chord: pass it in the profile's commands (startCodeServer({ commands }))`);
  return `${PREFIX.vscode} ${key}`;
}

/**
 * Waits until the keyboard is the workbench's: a focused webview (its iframe) keeps keys to itself, and one that
 * has just loaded can take the focus. A webview is blurred; anything else focused in the workbench is fine.
 */
export async function focusWorkbench(page: Page, timeoutMs = 10_000): Promise<void> {
  await step(page, 'giving the keyboard to the workbench (away from a webview)', async () => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      // A string, evaluated in the page: this project's TypeScript has no DOM types.
      const inWebview = (await page.evaluate(BLUR_WEBVIEW)) as boolean;
      if (!inWebview) return;
      if (Date.now() > end) throw new Error(`a webview kept the focus for ${timeoutMs} ms`);
      await sleep(100);
    }
  });
}

const BLUR_WEBVIEW = `(() => {
  const a = document.activeElement;
  if (!a || a.tagName !== 'IFRAME') return false;
  a.blur();
  return true;
})()`;

/** Presses a command's chord (no check of its effect: use runCommand for that). */
export async function pressCommand(page: Page, command: string): Promise<void> {
  const label = chordLabel(command);
  await focusWorkbench(page);
  await step(page, `pressing ${label} for ${command}`, async () => {
    await page.keyboard.press(PREFIX.playwright);
    await page.keyboard.press(`Key${chords.get(command)!.toUpperCase()}`.replace(/^Key(\d)$/, 'Digit$1'));
  });
}

/** What running a command must do, checked right after the chord. */
export type Effect =
  /** A quick input opens whose title (or placeholder) contains this text. */
  | { quickInput: string }
  /** An editor tab whose label contains (or matches) this opens. */
  | { tab: string | RegExp }
  /** A notification toast containing (or matching) this shows. */
  | { notification: string | RegExp }
  /** An element of the workbench (not of a webview) becomes visible. */
  | { visible: string }
  /** Anything else: `what` names it in the failure. */
  | { what: string; probe: (page: Page) => Promise<boolean> };

function effectName(e: Effect): string {
  if ('quickInput' in e) return `a quick input titled "${e.quickInput}"`;
  if ('tab' in e) return `an editor tab "${String(e.tab)}"`;
  if ('notification' in e) return `a notification ${String(e.notification)}`;
  if ('visible' in e) return `the element ${e.visible}`;
  return e.what;
}

const textMatches = (t: string, want: string | RegExp): boolean => (typeof want === 'string' ? t.includes(want) : want.test(t));

/** The quick input showing now (its title and placeholder), or undefined when none is open. */
export async function shownQuickInput(page: Page): Promise<{ title: string; placeholder: string } | undefined> {
  const widget = page.locator('.quick-input-widget');
  if (!(await widget.isVisible())) return undefined;
  const title = await widget.locator('.quick-input-title').innerText({ timeout: 1_000 }).catch(() => '');
  const placeholder = (await widget.locator('.quick-input-box input').getAttribute('placeholder', { timeout: 1_000 }).catch(() => null)) ?? '';
  return { title, placeholder };
}

export function describeQuickInput(q: { title: string; placeholder: string } | undefined): string {
  return q ? `quick input titled ${JSON.stringify(q.title)}, placeholder ${JSON.stringify(q.placeholder)}` : 'no quick input open';
}

/** Whether the effect shows now, and what shows instead (for the failure message). */
async function effectShows(page: Page, e: Effect): Promise<{ ok: boolean; seen: string }> {
  if ('quickInput' in e) {
    const shown = await shownQuickInput(page);
    if (!shown) return { ok: false, seen: 'no quick input open' };
    return { ok: shown.title.includes(e.quickInput) || shown.placeholder.includes(e.quickInput), seen: describeQuickInput(shown) };
  }
  if ('tab' in e) {
    const tabs = await page.locator('.tabs-container .tab').evaluateAll((els) => els.map((el) => el.getAttribute('aria-label') ?? el.textContent ?? ''));
    return { ok: tabs.some((t) => textMatches(t, e.tab)), seen: `tabs ${JSON.stringify(tabs)}` };
  }
  if ('notification' in e) {
    const seen = await notifications(page);
    return { ok: seen.some((t) => textMatches(t, e.notification)), seen: `notifications ${JSON.stringify(seen)}` };
  }
  if ('visible' in e) return { ok: await page.locator(e.visible).first().isVisible(), seen: 'not visible' };
  return { ok: await e.probe(page), seen: 'not yet' };
}

/** Waits (a bounded time) until `effect` shows; fails naming `what` had no effect. */
export async function expectEffect(page: Page, what: string, effect: Effect, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  await step(page, `checking that ${what} showed ${effectName(effect)}`, async () => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const { ok, seen } = await effectShows(page, effect);
      if (ok) return;
      if (Date.now() > end) throw new Error(`${what} had no effect within ${timeoutMs} ms: ${seen}`);
      await sleep(150);
    }
  });
}

/** Runs a command by its chord and checks its effect at once. */
export async function runCommand(page: Page, command: string, effect: Effect, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  await pressCommand(page, command);
  await expectEffect(page, `${command} (${chordLabel(command)})`, effect, timeoutMs);
}

/** Reloads the window (workbench.action.reloadWindow by its chord) and waits for the workbench again. */
export async function reloadWindow(page: Page, timeoutMs = 120_000): Promise<void> {
  const loaded = page.waitForEvent('load', { timeout: timeoutMs });
  await pressCommand(page, 'workbench.action.reloadWindow');
  await step(page, 'waiting for the window to reload after workbench.action.reloadWindow', () => loaded);
  await waitForWorkbench(page, timeoutMs);
}
