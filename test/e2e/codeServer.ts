/**
 * code-server (VS Code's workbench and Node extension host, served over HTTP) as a child process: where the binary
 * is, installing a VSIX, the user settings and key bindings of the test profile, starting it on a free port and
 * stopping it with everything it started.
 *
 * Prepare the machine with `bash test/e2e/setup.sh` (prints the code-server binary path).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { writeKeybindings } from './commandKeys';
import { descendantsOf, groupMembers, isAlive, killGroup, processCommandLine, signalAll } from './processes';
import { sleep, waitUntil } from './wait';

export const CODE_SERVER_VERSION = '4.100.3';

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
  /** Commands that get a key chord in `<userDataDir>/User/keybindings.json` (see commandKeys.ts). */
  commands?: readonly string[];
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
  writeKeybindings(opts.userDataDir, opts.commands ?? []);
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

