// Starting and ending the engine process (no vscode import, so tests drive exactly this code).
import { ChildProcess, fork } from 'child_process';
import { ENGINE_TIMEOUTS, EngineMethods, EngineNotice, HostMethods } from '../engine/protocol';
import { RpcPeer, childTransport } from '../engine/rpc';
import type { EngineNode } from './engineNode';

export type EnginePeer = RpcPeer<EngineMethods, HostMethods, EngineNotice, never>;

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EngineProcess {
  child: ChildProcess;
  peer: EnginePeer;
  pid: number;
  /** Settles when the process has exited. */
  exited: Promise<EngineExit>;
  /** Asks the engine to stop (it checkpoints a running training), then ends it if it has not exited in time. */
  stop(graceMs?: number): Promise<EngineExit>;
}

export interface ForkOptions {
  /** The engine's entry file (dist/engine.js; src/engine/main.ts with a TypeScript loader in tests). */
  script: string;
  node: EngineNode;
  execArgv?: string[];
  cwd?: string;
  /** Each line the engine writes to stdout or stderr. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
}

function lines(stream: NodeJS.ReadableStream | null, each: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split(/\r?\n/);
    rest = parts.pop() ?? '';
    for (const p of parts) each(p);
  });
  stream.on('end', () => rest && each(rest));
}

export function forkEngine(o: ForkOptions): EngineProcess {
  // 'advanced' serialization: ArrayBuffers and typed arrays cross the channel as bytes (structured clone).
  const child = fork(o.script, ['--jit-engine'], {
    execPath: o.node.execPath,
    execArgv: o.execArgv ?? [],
    cwd: o.cwd,
    env: { ...process.env, ...o.node.env },
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const exited = new Promise<EngineExit>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: child.exitCode, signal: child.signalCode }));
  });
  lines(child.stdout, (l) => o.onOutput?.(l, 'stdout'));
  lines(child.stderr, (l) => o.onOutput?.(l, 'stderr'));
  const peer: EnginePeer = new RpcPeer(childTransport(child), ENGINE_TIMEOUTS);
  const stop = async (graceMs = 10_000): Promise<EngineExit> => {
    if (child.exitCode === null && child.signalCode === null) {
      const answered = peer.request('shutdown', {}, { timeoutMs: graceMs }).catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await Promise.race([answered.then(() => exited), exited]);
      // The shutdown answer comes just before the engine exits; end it if it lingers.
      const late = setTimeout(() => child.kill('SIGKILL'), 2_000);
      const e = await exited;
      clearTimeout(timer);
      clearTimeout(late);
      return e;
    }
    return exited;
  };
  return { child, peer, pid: child.pid ?? -1, exited, stop };
}
