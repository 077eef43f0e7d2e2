/**
 * What the e2e suites share beyond harness.ts: package the VSIX once, install it into fresh folders and open a
 * trusted workbench on a workspace; waiting, colour themes and screenshots without notification toasts.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { CodeServer, Effect, REPO_ROOT, browserLog, codeServerInstalled, describeQuickInput, expectEffect, installExtension, notifications, openWorkbench, runCommand, screenshot, shownQuickInput, sleep, startCodeServer } from './harness';

export const VSIX = path.join(REPO_ROOT, 'jit-explorer-linux-x64.vsix');

interface ContributedCommand { command: string; title: string; category?: string }
const MANIFEST = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  contributes: { commands: ContributedCommand[]; menus: { commandPalette: { command: string; when: string }[] } };
};

/** The extension's commands as the palette shows them ("JiT: Start Training"), with the `when` that hides them there. */
export const JIT_COMMANDS = MANIFEST.contributes.commands.map((c) => ({
  id: c.command,
  title: c.category ? `${c.category}: ${c.title}` : c.title,
  paletteWhen: MANIFEST.contributes.menus.commandPalette.find((m) => m.command === c.command)?.when,
}));

/** Every command the suites run: the extension's and the few of VS Code they need; each gets a key chord. */
export const E2E_COMMANDS = [
  ...JIT_COMMANDS.map((c) => c.id),
  'jit.runs.focus',
  'workbench.view.explorer',
  'welcome.showAllWalkthroughs',
  'workbench.action.selectTheme',
  'notifications.toggleDoNotDisturbMode',
  'workbench.action.reloadWindow',
];

/** The side bar shows the JiT container (its Runs tree). */
export const RUNS_VIEW: Effect = {
  what: 'the JiT side bar',
  probe: async (page) => /\bjit\b/i.test(await page.locator('.part.sidebar .composite.title').innerText({ timeout: 1_000 }).catch(() => '')),
};

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, limitMs: number): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * Skips the suite when code-server is missing (run test/e2e/setup.sh), unless JIT_E2E_REQUIRED=1 makes that a
 * failure (CI). Call from a `before` hook with its `this`.
 */
export function requireCodeServer(ctx: Mocha.Context, bin: string): void {
  if (codeServerInstalled(bin)) return;
  if (process.env.JIT_E2E_REQUIRED === '1') throw new Error(`code-server not found at ${bin}: run test/e2e/setup.sh`);
  console.log(`    code-server not found at ${bin}: skipping (run test/e2e/setup.sh)`);
  ctx.skip();
}

/**
 * Writes a tiny JiT-Ti/4 run (2 steps, checkpoint at step 2) into <workspace>/.jit/runs with the built CLI, before
 * VS Code opens the folder. Returns the run folder.
 */
export function trainTinyRun(workspace: string, extraArgs: string[] = []): string {
  const out = path.join(workspace, '.jit', 'runs');
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'jit.js'), 'train', '--preset', 'JiT-Ti/4', '--steps', '2', '--batch', '2',
    '--checkpoint-every', '2', '--out', out, ...extraArgs], { encoding: 'utf8', timeout: 300_000 });
  assert.strictEqual(r.status, 0, `jit train failed:\n${r.stdout}\n${r.stderr}`);
  const runDir = path.join(out, fs.readdirSync(out)[0]);
  assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'step-2.safetensors')), 'the CLI wrote step-2.safetensors');
  return runDir;
}

let packaged = false;

/** Builds the VSIX (`npm run package`), once per test process: the suites that run together install the same package. */
export function packageExtension(): void {
  if (packaged) return;
  const built = spawnSync('npm', ['run', 'package'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.strictEqual(built.status, 0, `npm run package failed:\n${built.stdout}\n${built.stderr}`);
  packaged = true;
}

export interface Session {
  tmp: string;
  workspace: string;
  extensionsDir: string;
  userDataDir: string;
  server: CodeServer;
  browser: Browser;
  page: Page;
  /** Closes the browser, stops code-server and removes the folders (unless JIT_E2E_KEEP=1). */
  close(): Promise<void>;
}

/**
 * Installs the packaged extension into fresh folders and opens a trusted workbench on a new workspace, after
 * `prepare(workspace)` has put files into it.
 */
export async function openSession(bin: string, prefix: string, prepare: (workspace: string) => void, settings: Record<string, unknown> = {}): Promise<Session> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(workspace);
  prepare(workspace);
  const dirs = { extensionsDir: path.join(tmp, 'extensions'), userDataDir: path.join(tmp, 'user-data') };
  await installExtension(bin, VSIX, dirs);
  const server = await startCodeServer({ bin, folder: workspace, ...dirs, settings, commands: E2E_COMMANDS });
  const wb = await openWorkbench(server.url, workspace, { trust: true });
  return {
    tmp, workspace, ...dirs, server, browser: wb.browser, page: wb.page,
    close: async () => {
      await wb.browser.close().catch(() => undefined);
      await server.stop().catch((e: Error) => console.error(e.message));
      if (process.env.JIT_E2E_KEEP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Picks a colour theme in "Preferences: Color Theme" by its label (e.g. "Light Modern"). */
export async function setColorTheme(page: Page, label: string): Promise<void> {
  await runCommand(page, 'workbench.action.selectTheme', { quickInput: 'Color Theme' });
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-box input').fill(label);
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await widget.locator('.quick-input-box input').press('Enter');
  await widget.waitFor({ state: 'hidden', timeout: 30_000 });
}

/**
 * Answers the quick input whose title (or placeholder) contains `what`: types `text` (when given), waits until it
 * can take Enter, presses Enter and checks that Enter did something. Each of the three fails at once, naming the
 * step that had no effect, instead of a later step timing out.
 */
export async function quickInput(page: Page, text: string | undefined, what: string): Promise<void> {
  await expectEffect(page, `the step before the quick input "${what}"`, { quickInput: what }, 30_000);
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  await expectKeyboardIn(page, what);
  if (text !== undefined) await input.fill(text);
  // The extension host sends a quick pick's title and its items in two messages: until the items are there no row
  // is active, and an Enter picks nothing and is lost (the quick pick stays open, the command waits forever). With
  // text typed, the active row must be one the filter kept, not the first row of before.
  const acceptsEnter = async (p: Page) => (await p.evaluate(`(${ACCEPTS_ENTER})(${JSON.stringify(text ?? '')})`)) as boolean;
  if (!(await acceptsEnter(page))) {
    const start = Date.now();
    await expectEffect(page, `the quick input "${what}"${text === undefined ? '' : ` with ${JSON.stringify(text)} typed`}`, {
      what: text === undefined ? 'an input box, or a quick pick with its rows' : `an input box, or a quick pick whose active row has ${JSON.stringify(text)}`,
      probe: acceptsEnter,
    }, 30_000);
    console.log(`    (the quick input "${what}" had no row to pick yet; it had one ${Date.now() - start} ms later)`);
  }
  const before = describeQuickInput(await shownQuickInput(page));
  // The keyboard as a user's: Enter goes where the focus is (locator.press would first move the focus back into the
  // quick input, hiding a focus that went elsewhere).
  await expectKeyboardIn(page, what);
  await page.evaluate(WATCH_ENTER);
  await page.keyboard.press('Enter');
  await expectEffect(page, `Enter in the quick input "${what}"`, gone(before, 'it closing or the next one showing instead of'), 30_000).catch(async (e: Error) => {
    throw new Error(`${e.message}; the Enter key went to ${String(await page.evaluate('window.__jitEnter').catch(() => '(the page did not answer)'))}`);
  });
}

/**
 * Presses Escape in the quick input `what`, as a user's keyboard does, and checks that it closed: the rest of its
 * command's questions must not follow (`quietMs` of page time, then still nothing open).
 */
export async function escapeQuickInput(page: Page, what: string, quietMs = 1_000): Promise<void> {
  await expectEffect(page, `the step before the quick input "${what}"`, { quickInput: what }, 30_000);
  const before = describeQuickInput(await shownQuickInput(page));
  await expectKeyboardIn(page, what);
  await page.keyboard.press('Escape');
  await expectEffect(page, `Escape in the quick input "${what}"`, gone(before, 'it closing instead of'), 30_000);
  await page.evaluate(`new Promise((resolve) => setTimeout(resolve, ${quietMs}))`);
  const after = await shownQuickInput(page);
  if (after) throw new Error(`e2e: Escape in the quick input "${what}" did not end its command's questions: the ${describeQuickInput(after)} followed`);
}

/** The effect of a key that answers or closes the quick input described as `before`: it is no longer showing. */
function gone(before: string, expected: string): Effect {
  return { what: `${expected} the ${before}`, probe: async (p) => describeQuickInput(await shownQuickInput(p)) !== before };
}

// A function's source, evaluated in the page (this project's TypeScript has no DOM types). An input box hides the
// list; a quick pick marks its active row "focused".
const ACCEPTS_ENTER = `(typed) => {
  const list = document.querySelector('.quick-input-widget .quick-input-list');
  if (!list || getComputedStyle(list).display === 'none') return true;
  const active = list.querySelector('.monaco-list-row.focused');
  if (active !== null) return active.textContent.toLowerCase().includes(typed.toLowerCase());
  // A save dialog has no active row: Enter takes the path in its input.
  return typed === '' && document.querySelector('.quick-input-widget .quick-input-box input').value !== '';
}`;

/** Fails when the keyboard is not in the quick input `what` (a user's keys would go elsewhere), naming where it is. */
async function expectKeyboardIn(page: Page, what: string): Promise<void> {
  const at = String(await page.evaluate(KEYBOARD_AT));
  if (at !== 'the quick input') throw new Error(`e2e: the quick input "${what}" does not have the keyboard: ${at} has it, so a user's keys would not reach it`);
}

// Functions' sources, evaluated in the page. An element as tag.class.class (for the failure messages).
const DESCRIBE_ELEMENT = `(el) => (el ? el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : '') : 'nothing')`;

// Where the keyboard is: in the quick input widget, or the element that has it.
const KEYBOARD_AT = `(() => {
  const el = document.activeElement;
  return el && el.closest('.quick-input-widget') ? 'the quick input' : (${DESCRIBE_ELEMENT})(el);
})()`;

// Where the next Enter key goes (for the failure message): another element that took the focus gets it instead of
// the quick input.
const WATCH_ENTER = `(() => {
  const d = ${DESCRIBE_ELEMENT};
  window.__jitEnter = 'no element of the workbench (a webview had the keyboard)';
  window.addEventListener('keydown', (e) => { if (e.key === 'Enter') window.__jitEnter = d(e.target); }, { capture: true, once: true });
})()`;

const DO_NOT_DISTURB = '[id="status.notifications"] .codicon-bell-slash, [id="status.notifications"] .codicon-bell-slash-dot';

async function setDoNotDisturb(page: Page, on: boolean): Promise<void> {
  await runCommand(page, 'notifications.toggleDoNotDisturbMode', {
    what: `Do Not Disturb ${on ? 'on' : 'off'} (the status bar bell)`,
    probe: async (p) => ((await p.locator(DO_NOT_DISTURB).count()) > 0) === on,
  });
}

/** A screenshot without notification toasts covering the views (Do Not Disturb, switched off afterwards). */
export async function cleanScreenshot(page: Page, name: string): Promise<void> {
  await setDoNotDisturb(page, true);
  try {
    await sleep(1500); // canvases redraw after a theme change
    await screenshot(page, name);
  } finally {
    await setDoNotDisturb(page, false);
  }
}

/** In an afterEach: after a failed test, a screenshot named after it, the notifications showing then and the browser's last log lines, in the log. */
export async function recordFailure(ctx: Mocha.Context, page: Page | undefined, suite: string): Promise<void> {
  if (ctx.currentTest?.state !== 'failed' || !page || page.isClosed()) return;
  await screenshot(page, `${suite}-failed-${ctx.currentTest.title}`).catch(() => undefined);
  console.log(`    notifications then: ${JSON.stringify(await notifications(page).catch(() => []))}`);
  const log = browserLog(page);
  if (log.length) console.log(`    the browser's last ${log.length} log lines:\n${log.map((l) => `      ${l}`).join('\n')}`);
}
