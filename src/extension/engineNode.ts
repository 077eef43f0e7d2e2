// Which Node.js runs the engine process: the Node.js the user configured, else a `node` on PATH (native TensorFlow
// addons are safest in a plain Node: Electron's V8 memory cage forbids the external buffers they use), else VS
// Code's own runtime in Node mode (ELECTRON_RUN_AS_NODE=1), which always exists. No vscode import here.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const MIN_NODE_MAJOR = 20;

export interface EngineNode {
  execPath: string;
  /** Extra environment for the engine process. */
  env: Record<string, string>;
  kind: 'configured' | 'path' | 'vscode';
  /** One line for the output channel and "Show Engine Info". */
  description: string;
  /** Why a preferred runtime was not used. */
  notes: string[];
}

export interface EngineNodeOptions {
  /** The `jit.engine.nodePath` setting ('' when unset). */
  configured: string;
  /** $PATH to search. */
  pathEnv: string | undefined;
  /** The extension host's own runtime (process.execPath). */
  hostExecPath: string;
  /** True when the host runs on Electron (desktop VS Code), false in a Node host (VS Code server, code-server). */
  hostIsElectron: boolean;
  platform?: NodeJS.Platform;
}

/** `node --version` of a program, or the reason it could not be run. */
export function nodeVersion(execPath: string): Promise<{ major: number; version: string } | { error: string }> {
  return new Promise((resolve) => {
    execFile(execPath, ['--version'], { timeout: 10_000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } }, (err, stdout) => {
      if (err) return resolve({ error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : err.message.split('\n')[0] });
      const m = /^v(\d+)\./.exec(stdout.trim());
      resolve(m ? { major: Number(m[1]), version: stdout.trim() } : { error: `"${stdout.trim().slice(0, 40)}" is not a Node.js version` });
    });
  });
}

/** The first executable `node` on a PATH string. */
export function findOnPath(name: string, pathEnv: string | undefined, platform: NodeJS.Platform = process.platform): string | undefined {
  const exts = platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (pathEnv ?? '').split(path.delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const file = path.join(dir, name + ext);
      try {
        if (fs.statSync(file).isFile()) {
          if (platform !== 'win32') fs.accessSync(file, fs.constants.X_OK);
          return file;
        }
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export async function chooseEngineNode(o: EngineNodeOptions): Promise<EngineNode> {
  const notes: string[] = [];
  const platform = o.platform ?? process.platform;
  const usable = async (file: string, what: string): Promise<string | undefined> => {
    const v = await nodeVersion(file);
    if ('error' in v) {
      notes.push(`${what} ${file} could not be run (${v.error})`);
      return undefined;
    }
    if (v.major < MIN_NODE_MAJOR) {
      notes.push(`${what} ${file} is Node ${v.version}; the engine needs Node ${MIN_NODE_MAJOR} or newer`);
      return undefined;
    }
    return v.version;
  };
  if (o.configured.trim()) {
    const file = o.configured.trim();
    const version = await usable(file, 'the configured jit.engine.nodePath');
    if (version) return { execPath: file, env: {}, kind: 'configured', description: `Node.js ${version} at ${file} (jit.engine.nodePath)`, notes };
  }
  const onPath = findOnPath('node', o.pathEnv, platform);
  if (onPath) {
    const version = await usable(onPath, 'the node on PATH,');
    if (version) return { execPath: onPath, env: {}, kind: 'path', description: `Node.js ${version} at ${onPath} (from PATH)`, notes };
  } else {
    notes.push('no node on PATH');
  }
  return {
    execPath: o.hostExecPath,
    env: o.hostIsElectron ? { ELECTRON_RUN_AS_NODE: '1' } : {},
    kind: 'vscode',
    description: o.hostIsElectron ? `VS Code's runtime (Electron in Node mode) at ${o.hostExecPath}` : `the extension host's Node.js ${process.version} at ${o.hostExecPath}`,
    notes,
  };
}
