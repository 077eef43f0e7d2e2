// The extension host's side of the engine: starts the engine process on first use (a plain Node.js when
// available, see engineNode.ts), initialises its backend from the settings, logs its output to the "JiT"
// channel, notices when it dies, and ends it on deactivation. UI glue only: no tensor work happens here.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { EngineInfo } from '../engine/protocol';
import { EngineExit, EnginePeer, EngineProcess, forkEngine } from './engineProcess';
import { EngineNode, chooseEngineNode } from './engineNode';
import { readSettings } from './settings';

export interface ReadyEngine {
  peer: EnginePeer;
  info: EngineInfo;
  node: EngineNode;
}

export function describeExit(e: EngineExit): string {
  if (e.signal === 'SIGKILL') return 'it was killed (SIGKILL), often because the system ran out of memory';
  if (e.signal) return `it was ended by ${e.signal}`;
  return `it exited with code ${e.code}`;
}

export class EngineClient implements vscode.Disposable {
  private proc: EngineProcess | undefined;
  private info: EngineInfo | undefined;
  private ready: Promise<ReadyEngine> | undefined;
  private expectingExit = new WeakSet<EngineProcess>();
  private readonly exitedUnexpectedly = new vscode.EventEmitter<string>();
  /** Fires with one sentence when the engine dies without being asked to. */
  readonly onDidExitUnexpectedly = this.exitedUnexpectedly.event;
  private readonly stateChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeState = this.stateChanged.event;

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {}

  /** Where "JiT: Install Native Backend" puts @tensorflow/tfjs-node(-gpu); the engine searches it. */
  get nativeDir(): string {
    return path.join(this.context.globalStorageUri.fsPath, 'native');
  }

  /** What the running engine reported when it started (undefined while none runs). */
  get lastInfo(): EngineInfo | undefined {
    return this.proc ? this.info : undefined;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The running engine, started (and its backend initialised) if needed. */
  ensure(): Promise<ReadyEngine> {
    if (!this.ready || !this.proc || this.proc.peer.closed) this.ready = this.start();
    return this.ready;
  }

  private async start(): Promise<ReadyEngine> {
    const settings = readSettings();
    const node = await chooseEngineNode({
      configured: settings.nodePath, pathEnv: process.env.PATH, hostExecPath: process.execPath, hostIsElectron: Boolean(process.versions.electron),
    });
    for (const note of node.notes) this.log.warn(`Engine Node.js: ${note}.`);
    this.log.info(`Starting the JiT engine with ${node.description}.`);
    const cwd = this.context.globalStorageUri.fsPath;
    fs.mkdirSync(cwd, { recursive: true });
    const proc = forkEngine({
      script: this.context.asAbsolutePath(path.join('dist', 'engine.js')),
      // ONNX Runtime sessions (training and sampling) read their thread count from the environment.
      node: settings.onnxThreads ? { ...node, env: { ...node.env, JIT_ONNX_THREADS: String(settings.onnxThreads) } } : node,
      cwd,
      onOutput: (line, stream) => line.trim() && (stream === 'stderr' ? this.log.warn(`[engine] ${line}`) : this.log.info(`[engine] ${line}`)),
    });
    this.proc = proc;
    proc.peer.onNotice((n) => {
      if (n.name === 'log') this.log[n.data.level](`[engine] ${n.data.message}`);
    });
    void proc.exited.then((exit) => {
      const expected = this.expectingExit.has(proc);
      this.log[expected ? 'info' : 'error'](`The JiT engine (pid ${proc.pid}) ended: ${describeExit(exit)}.`);
      if (this.proc === proc) {
        this.proc = undefined;
        this.ready = undefined;
      }
      this.stateChanged.fire();
      if (!expected) this.exitedUnexpectedly.fire(`The JiT engine stopped unexpectedly: ${describeExit(exit)} (details in the "JiT" output).`);
    });
    try {
      const nativeSearchPaths = fs.existsSync(this.nativeDir) ? [this.nativeDir] : [];
      const info = await proc.peer.request('init', { backend: settings.backend, nativeSearchPaths });
      this.info = info;
      const b = info.backend!;
      this.log.info(`Engine ${info.process.pid}: backend ${b.backend} (${b.package}) on ${b.devices.join(', ')}.`);
      this.stateChanged.fire();
      return { peer: proc.peer, info, node };
    } catch (e) {
      this.expectingExit.add(proc);
      void proc.stop(2_000);
      throw new Error(`The JiT engine could not start: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Ends the engine (a running training stops with a checkpoint); the next use starts a new one. */
  async stop(graceMs = 15_000): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.expectingExit.add(proc);
    this.proc = undefined;
    this.ready = undefined;
    await proc.stop(graceMs);
  }

  async restart(): Promise<ReadyEngine> {
    await this.stop();
    return this.ensure();
  }

  /**
   * On deactivation (window closed or reloaded) there is little time: ask the engine to shut down, and if it is
   * still finishing a training step, let go of it; it writes its checkpoint and exits on its own once it
   * notices its parent is gone (see src/engine/main.ts).
   */
  async shutdownForDeactivation(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.expectingExit.add(proc);
    this.proc = undefined;
    this.ready = undefined;
    const answered = proc.peer.request('shutdown', {}, { timeoutMs: 3_000 }).catch(() => undefined);
    await Promise.race([proc.exited, answered.then(() => proc.exited), new Promise((r) => setTimeout(r, 3_500))]);
    if (proc.child.connected) proc.child.disconnect();
  }

  dispose(): void {
    void this.shutdownForDeactivation();
    this.exitedUnexpectedly.dispose();
    this.stateChanged.dispose();
  }
}
