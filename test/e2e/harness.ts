/**
 * Helpers for end-to-end tests that run an extension inside a real VS Code:
 * code-server (VS Code's workbench and Node extension host, served over HTTP)
 * driven through Chromium with playwright-core.
 *
 * Prepare the machine with `bash test/e2e/setup.sh` (prints the code-server
 * binary path); tests find the binary through `defaultCodeServerBin()`.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';

export const CODE_SERVER_VERSION = '4.100.3';
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

/** Repository root (this file lives in `<root>/test/e2e`). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Where `screenshot()` writes its PNG files. */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results', 'e2e');

/** Settings written into `<userDataDir>/User/settings.json` unless overridden. */
export const DEFAULT_SETTINGS: Readonly<Record<string, unknown>> = {
  // Headless Chromium reports a light colour scheme, which would otherwise
  // select a light theme.
  'workbench.colorTheme': 'Default Dark Modern',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  // Show the workspace-trust dialog on every first open of a folder, so that
  // openWorkbench() can answer it either way.
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'once',
  'security.workspace.trust.untrustedFiles': 'open',
  'window.confirmBeforeClose': 'never',
};

const DEFAULT_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------
// code-server binary and processes
// ---------------------------------------------------------------------------

/**
 * The code-server binary the suite uses: `$JIT_E2E_CODE_SERVER`, else the one
 * test/e2e/setup.sh installs under `${JIT_E2E_CACHE:-~/.cache/jit-explorer-e2e}`.
 */
export function defaultCodeServerBin(): string {
  const fromEnv = process.env.JIT_E2E_CODE_SERVER;
  if (fromEnv) return path.resolve(fromEnv);
  const cache = process.env.JIT_E2E_CACHE || path.join(os.homedir(), '.cache', 'jit-explorer-e2e');
  return path.join(cache, `code-server-${CODE_SERVER_VERSION}`, 'bin', 'code-server');
}

/** True when `bin` exists and is executable. */
export function codeServerInstalled(bin: string = defaultCodeServerBin()): boolean {
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Environment for code-server: drops variables that would make it talk to a
 * VS Code the tests happen to run inside (VSCODE_IPC_HOOK_CLI and friends),
 * or override the port chosen here.
 */
function codeServerEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k === 'PORT') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function codeServerConfigFile(userDataDir: string): string {
  // Without --config code-server writes a default config into ~/.config.
  return path.join(userDataDir, 'code-server-config.yaml');
}

export interface ExtensionDirs {
  extensionsDir: string;
  userDataDir: string;
}

/** Installs a packaged extension (.vsix) into `dirs` with `--install-extension`. */
export async function installExtension(
  codeServerBin: string,
  vsixPath: string,
  dirs: ExtensionDirs,
): Promise<void> {
  if (!fs.existsSync(vsixPath)) throw new Error(`installExtension: no such VSIX: ${vsixPath}`);
  fs.mkdirSync(dirs.extensionsDir, { recursive: true });
  fs.mkdirSync(dirs.userDataDir, { recursive: true });
  const args = [
    '--config', codeServerConfigFile(dirs.userDataDir),
    '--extensions-dir', dirs.extensionsDir,
    '--user-data-dir', dirs.userDataDir,
    '--install-extension', vsixPath,
    '--force',
  ];
  const { code, output } = await runToEnd(codeServerBin, args, 180_000);
  if (code !== 0 || !/successfully installed/i.test(output)) {
    throw new Error(
      `installExtension: '${codeServerBin} ${args.join(' ')}' exited with ${code}:\n${output.trim()}`,
    );
  }
}

function runToEnd(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: codeServerEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      reject(new Error(`'${cmd} ${args.join(' ')}' did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      killGroup(child.pid, 'SIGKILL'); // anything it left behind
      resolve({ code, output });
    });
  });
}

/** Resolves when nothing listens on 127.0.0.1:port, rejects otherwise. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`port ${port} on 127.0.0.1 is not free (${err.code ?? err.message})`)),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

export interface StartCodeServerOptions {
  bin: string;
  /** Folder opened by default (also passed on the command line). */
  folder: string;
  extensionsDir: string;
  userDataDir: string;
  /** Port to bind on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** User settings, merged over DEFAULT_SETTINGS into `<userDataDir>/User/settings.json`. */
  settings?: Record<string, unknown>;
  /** Extra environment variables for code-server and its extension host. */
  env?: NodeJS.ProcessEnv;
  /** Extra command-line arguments. */
  args?: string[];
  /** How long to wait for the HTTP server (default 90 s). */
  startTimeoutMs?: number;
}

export interface CodeServer {
  url: string;
  port: number;
  /** Process id of code-server (also its process-group id). */
  pid: number;
  /** Where code-server's stdout/stderr goes. */
  logFile: string;
  /** The last part of code-server's output. */
  output(): string;
  /** Live process ids of code-server and everything it started. */
  pids(): number[];
  /** Ends code-server and all its children; throws if any survive. Idempotent. */
  stop(): Promise<void>;
}

// Process groups of servers not stopped yet: ended when this process exits, so
// an aborted test run leaves no code-server behind.
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
});

/** Writes settings (merged over DEFAULT_SETTINGS) into `<userDataDir>/User/settings.json`. */
export function writeUserSettings(userDataDir: string, settings: Record<string, unknown> = {}): string {
  const file = path.join(userDataDir, 'User', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2) + '\n');
  return file;
}

/** Starts code-server without authentication and waits until it answers HTTP. */
export async function startCodeServer(opts: StartCodeServerOptions): Promise<CodeServer> {
  if (!codeServerInstalled(opts.bin)) {
    throw new Error(`startCodeServer: code-server not found at ${opts.bin} (run test/e2e/setup.sh)`);
  }
  fs.mkdirSync(opts.extensionsDir, { recursive: true });
  fs.mkdirSync(opts.userDataDir, { recursive: true });
  writeUserSettings(opts.userDataDir, opts.settings);
  const port = opts.port ?? (await freePort());
  // code-server shares a port that is already in use instead of failing, and
  // the other server would then answer for it: refuse up front.
  await assertPortFree(port).catch((err: Error) => {
    throw new Error(`startCodeServer: ${err.message}`);
  });
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(opts.userDataDir, `code-server-${port}.log`);
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const args = [
    '--config', codeServerConfigFile(opts.userDataDir),
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--extensions-dir', opts.extensionsDir,
    '--user-data-dir', opts.userDataDir,
    ...(opts.args ?? []),
    opts.folder,
  ];
  // detached: code-server leads its own process group, so stop() can end the
  // file watcher, extension hosts and whatever they spawned in one go.
  const child = spawn(opts.bin, args, {
    env: codeServerEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const listening = new RegExp(`HTTP server listening on http://127\\.0\\.0\\.1:${port}/`);
  let sawListening = false;
  let tail = '';
  const onData = (d: Buffer): void => {
    log.write(d);
    tail = (tail + d.toString()).slice(-20_000);
    sawListening ||= listening.test(tail);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitInfo: string | undefined;
  child.once('exit', (code, signal) => (exitInfo = `exited with code ${code}, signal ${signal}`));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new Error(`startCodeServer: cannot run ${opts.bin}: ${err.message}`))),
  );
  spawnError.catch(() => undefined); // observed below; avoid an unhandled rejection later
  if (child.pid === undefined) {
    await spawnError;
  }
  const pid = child.pid as number;
  liveGroups.add(pid);

  // Remember every process we see under code-server, so that ones re-parented
  // after their parent died are still ended and checked.
  const seen = new Set<number>([pid]);
  const snapshot = (): number[] => {
    for (const p of [...groupMembers(pid), ...descendantsOf(pid)]) seen.add(p);
    return [...seen].filter(isAlive);
  };

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      signalAll(pid, snapshot(), 'SIGTERM');
      const gone = await waitUntil(() => snapshot().length === 0, 10_000);
      if (!gone) {
        signalAll(pid, snapshot(), 'SIGKILL');
        await waitUntil(() => snapshot().length === 0, 10_000);
      }
      await Promise.race([exited, sleep(5_000)]);
      liveGroups.delete(pid);
      log.end();
      const left = snapshot();
      if (left.length) {
        throw new Error(
          `code-server stop(): processes still running:\n${left.map((p) => `  ${p} ${processCommandLine(p)}`).join('\n')}`,
        );
      }
    })();
    return stopped;
  };

  const server: CodeServer = { url, port, pid, logFile, output: () => tail, pids: snapshot, stop };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
  try {
    await Promise.race([
      spawnError,
      (async () => {
        for (;;) {
          if (exitInfo) throw new Error(`code-server ${exitInfo} before answering HTTP`);
          // Ready once it says it listens (so the answer is its own) and answers.
          if (sawListening && (await httpAnswers(`${url}/healthz`))) return;
          if (Date.now() > deadline) throw new Error(`code-server did not answer HTTP on ${url} in time`);
          await sleep(250);
        }
      })(),
    ]);
  } catch (err) {
    await stop().catch(() => undefined);
    throw new Error(`startCodeServer: ${(err as Error).message}\n--- output (${logFile}) ---\n${tail.trim()}`);
  }
  return server;
}

function httpAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

// --- /proc helpers ---------------------------------------------------------

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]), pgid: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (st) out.push(st);
  }
  return out;
}

/** Running (not zombie) process? */
function isAlive(pid: number): boolean {
  const st = readStat(pid);
  return !!st && st.state !== 'Z' && st.state !== 'X';
}

function groupMembers(pgid: number): number[] {
  return allStats()
    .filter((s) => s.pgid === pgid && s.state !== 'Z')
    .map((s) => s.pid);
}

function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const s of allStats()) {
    if (s.state === 'Z') continue;
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop() as number;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

function killGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (!pgid) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

function signalAll(pgid: number, pids: number[], signal: NodeJS.Signals): void {
  killGroup(pgid, signal);
  for (const p of pids) {
    if (p === process.pid) continue;
    try {
      process.kill(p, signal);
    } catch {
      /* already gone */
    }
  }
}

/** The command line of a process ('' when it is gone). */
export function processCommandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/**
 * Process ids of running processes (zombies excluded, this process excluded)
 * whose command line contains `pattern` (string) or matches it (RegExp).
 */
export function listProcesses(pattern: string | RegExp): number[] {
  const matches = (cmd: string): boolean =>
    typeof pattern === 'string' ? cmd.includes(pattern) : new RegExp(pattern.source, pattern.flags.replace('g', '')).test(cmd);
  return allPids().filter((pid) => {
    if (pid === process.pid || !isAlive(pid)) return false;
    const cmd = processCommandLine(pid);
    return cmd !== '' && matches(cmd);
  });
}

// ---------------------------------------------------------------------------
// Workbench (Chromium + playwright-core)
// ---------------------------------------------------------------------------

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
 */
export async function runCommand(page: Page, title: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  const rows = widget.locator('.quick-input-list .monaco-list-row');
  const wanted = normalise(title);
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  const row = await step(page, `waiting for the command palette row "${title}"`, async () => {
    for (let attempt = 1; ; attempt++) {
      await openCommandPalette(page, widget);
      if (!(await typeIfOpen(input, `>${title}`))) {
        if (Date.now() > deadline) throw new Error(`the command palette kept closing before "${title}" could be typed (${attempt} attempt(s))`);
        console.log(`    (the command palette closed before "${title}" could be typed; opening it again)`);
        continue;
      }
      const attemptEnd = Math.min(deadline, Date.now() + Math.min(2_000 * attempt, 10_000));
      for (;;) {
        seen = [];
        for (const r of await rows.all()) {
          const label = await rowLabel(r);
          seen.push(label);
          if (normalise(label) === wanted) return r;
        }
        if (Date.now() > attemptEnd) break;
        await sleep(200);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `no row labelled "${title}" after ${attempt} attempt(s) in ${timeoutMs} ms; rows shown: ${JSON.stringify(seen)}`,
        );
      }
    }
  });
  await step(page, `running "${title}"`, async () => {
    const focused = /\bfocused\b/.test((await row.getAttribute('class')) ?? '');
    if (focused) await input.press('Enter');
    else await row.click();
  });
  // The palette closes unless the command opened another quick pick.
  await widget.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
}

/**
 * Types into a quick input's box, or answers false when the box has closed (a webview that has just opened can take
 * the focus while it loads, which closes the quick input) so the caller can open it again.
 */
export async function typeIfOpen(input: Locator, text: string): Promise<boolean> {
  return input.fill(text, { timeout: 5_000 }).then(() => true, () => false);
}

async function openCommandPalette(page: Page, widget: Locator): Promise<void> {
  // Close whatever quick input is open (a stale palette included).
  if (await widget.isVisible()) {
    await page.keyboard.press('Escape');
    await widget.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
  }
  await page.keyboard.press('Control+Shift+P');
  try {
    await widget.waitFor({ state: 'visible', timeout: 5_000 });
  } catch {
    await page.keyboard.press('F1');
    await widget.waitFor({ state: 'visible', timeout: 15_000 }).catch((err: Error) => {
      throw new Error(`the command palette did not open (Control+Shift+P, F1): ${err.message}`);
    });
  }
}

async function rowLabel(row: Locator): Promise<string> {
  try {
    const name = row.locator('.label-name').first();
    if (await name.count()) return (await name.innerText({ timeout: 1_000 })).trim();
    return ((await row.getAttribute('aria-label', { timeout: 1_000 })) ?? '').split(',')[0]!.trim();
  } catch {
    return ''; // row re-rendered meanwhile
  }
}

function normalise(s: string): string {
  return s.replace(/\s+/g, ' ').trim().toLowerCase();
}

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

/** Saves a screenshot as `test-results/e2e/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'screenshot';
  const file = path.join(SCREENSHOT_DIR, safe.endsWith('.png') ? safe : `${safe}.png`);
  await page.screenshot({ path: file, timeout: 30_000 });
  return file;
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

/** Runs "Developer: Reload Window" and waits for the workbench again. */
export async function reloadWindow(page: Page, timeoutMs = 120_000): Promise<void> {
  const loaded = page.waitForEvent('load', { timeout: timeoutMs });
  await runCommand(page, 'Developer: Reload Window');
  await step(page, 'waiting for the window to reload', () => loaded);
  await waitForWorkbench(page, timeoutMs);
}

// ---------------------------------------------------------------------------
// misc
// ---------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(100);
  }
  return cond();
}

/**
 * Runs `fn`; on failure saves a screenshot and rethrows with a message saying
 * what was being done and where the screenshot is.
 */
async function step<T>(page: Page, what: string, fn: () => Promise<T>): Promise<T> {
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
