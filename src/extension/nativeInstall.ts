// Installing TensorFlow's native backend (@tensorflow/tfjs-node-gpu or -node) with the user's npm into a folder
// of the extension's storage, which the engine then searches. The VSIX cannot carry these (their install
// script downloads libtensorflow for the platform). No vscode import: commands.ts adds the UI.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { findOnPath } from './engineNode';

export const TFJS_NODE_VERSION = '4.22.0';
export type NativePackage = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';

/** The npm to use: next to the configured Node.js when there is one, else on PATH. */
export function findNpm(configuredNode: string, pathEnv: string | undefined, platform: NodeJS.Platform = process.platform): string | undefined {
  const name = platform === 'win32' ? 'npm.cmd' : 'npm';
  if (configuredNode) {
    const beside = path.join(path.dirname(configuredNode), name);
    if (fs.existsSync(beside)) return beside;
  }
  return findOnPath('npm', pathEnv, platform);
}

/** One sentence: why the install failed and what to do. */
export function explainInstallFailure(pkg: NativePackage, log: string, exitCode: number | null): string {
  const tail = 'training keeps working on the wasm backend.';
  if (/storage\.googleapis\.com|libtensorflow/i.test(log) && /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EAI_AGAIN|getaddrinfo|socket hang up|certificate/i.test(log)) {
    return `Installing ${pkg} failed because its install script could not download the TensorFlow library from storage.googleapis.com (no internet access or a proxy blocks it); allow that download and run "JiT: Install Native Backend" again — ${tail}`;
  }
  if (/E404|ETARGET|notarget/i.test(log)) return `npm could not find ${pkg}@${TFJS_NODE_VERSION} in the registry it uses; check your npm registry setting and try again — ${tail}`;
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|network/i.test(log)) return `npm could not reach its package registry; check your network or proxy settings and run "JiT: Install Native Backend" again — ${tail}`;
  if (/EACCES|EPERM/i.test(log)) return `npm was not allowed to write to the extension's storage folder; check its permissions and try again — ${tail}`;
  if (/unsupported platform|EBADPLATFORM|not supported/i.test(log)) return `${pkg} has no prebuilt TensorFlow for this platform (${process.platform}-${process.arch}); use the wasm backend — ${tail}`;
  return `npm could not install ${pkg} (exit code ${exitCode}; the full log is in the "JiT" output) — ${tail}`;
}

export interface InstallOptions {
  npm: string;
  pkg: NativePackage;
  /** Final folder; the engine searches <dir>/node_modules. */
  dir: string;
  onLine: (line: string) => void;
  signal?: AbortSignal;
  platform?: NodeJS.Platform;
}

export type InstallResult = { ok: true } | { ok: false; message: string };

/**
 * Installs into a staging folder next to `dir` and swaps it in only when npm succeeded, so a failed or
 * cancelled install never leaves a half-installed addon for the engine to trip over.
 */
export async function installNative(o: InstallOptions): Promise<InstallResult> {
  const staging = `${o.dir}.staging`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  // npm 11 reviews dependency install scripts (advisory now, enforced later): allow exactly this package's.
  fs.writeFileSync(path.join(staging, 'package.json'), JSON.stringify({
    name: 'jit-explorer-native-backend', private: true, description: 'TensorFlow native backend for JiT Explorer',
    allowScripts: { [`${o.pkg}@${TFJS_NODE_VERSION}`]: true },
  }, null, 2));
  const args = ['install', `${o.pkg}@${TFJS_NODE_VERSION}`, '--no-audit', '--no-fund', '--no-update-notifier', '--foreground-scripts', '--loglevel=http'];
  o.onLine(`> ${o.npm} ${args.join(' ')}   (in ${staging})`);
  let log = '';
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(o.npm, args, {
      cwd: staging, shell: (o.platform ?? process.platform) === 'win32', stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_ignore_scripts: 'false' },
    });
    const take = (d: Buffer) => {
      const text = d.toString();
      log += text;
      for (const line of text.split(/\r?\n/)) if (line.trim()) o.onLine(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const abort = () => child.kill();
    o.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (e) => {
      log += `\n${e.message}`;
      resolve(null);
    });
    child.on('close', (c) => {
      o.signal?.removeEventListener('abort', abort);
      resolve(c);
    });
  });
  if (o.signal?.aborted) {
    fs.rmSync(staging, { recursive: true, force: true });
    return { ok: false, message: `The install of ${o.pkg} was cancelled; training keeps working on the wasm backend.` };
  }
  if (code !== 0) {
    fs.rmSync(staging, { recursive: true, force: true });
    return { ok: false, message: explainInstallFailure(o.pkg, log, code) };
  }
  fs.rmSync(o.dir, { recursive: true, force: true });
  fs.renameSync(staging, o.dir);
  return { ok: true };
}
