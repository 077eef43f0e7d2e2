// One generic request/response helper for a message channel between two processes (the extension host and
// the forked engine). Requests carry ids; each one settles exactly once: with the peer's result, with the
// peer's error (carried back with its name and message), on timeout, on cancellation, or when the peer exits.
// Long requests stream progress messages tied to their id. Nothing here knows about VS Code or TensorFlow.
import type { ChildProcess } from 'child_process';

export interface RpcErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

export type RpcMessage =
  | { kind: 'request'; id: number; method: string; params: unknown }
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: RpcErrorInfo }
  | { kind: 'progress'; id: number; data: unknown }
  | { kind: 'cancel'; id: number }
  | { kind: 'notify'; name: string; data: unknown };

/** A method served by one side: what it takes, what it returns, what it streams while it runs. */
export interface MethodSpec {
  params: unknown;
  result: unknown;
  progress: unknown;
}
export type MethodMap<T> = { [K in keyof T]: MethodSpec };

/** A one-way notice (not tied to a request), as a discriminated union member. */
export interface Notice {
  name: string;
  data: unknown;
}

/** The wire: whatever carries RpcMessages both ways and says when the other side is gone. */
export interface Transport {
  send(msg: RpcMessage): void;
  onMessage(listener: (msg: RpcMessage) => void): void;
  onClose(listener: (reason: string) => void): void;
}

/** The peer answered with an error; `name` and `message` are the peer's. */
export class RemoteError extends Error {
  constructor(info: RpcErrorInfo, readonly method: string) {
    super(info.message);
    this.name = info.name;
    if (info.stack) this.stack = `${info.name}: ${info.message}\n    (in the peer)\n${info.stack.split('\n').slice(1).join('\n')}`;
  }
}

export class RpcTimeoutError extends Error {
  constructor(readonly method: string, readonly timeoutMs: number) {
    super(`The request "${method}" got no answer within ${Math.round(timeoutMs / 1000)} s.`);
    this.name = 'RpcTimeoutError';
  }
}

export class PeerExitedError extends Error {
  constructor(readonly method: string, readonly reason: string) {
    super(`The request "${method}" failed because ${reason}.`);
    this.name = 'PeerExitedError';
  }
}

export class CancelledError extends Error {
  constructor(readonly method: string) {
    super(`The request "${method}" was cancelled.`);
    this.name = 'CancelledError';
  }
}

export interface RequestOptions<P> {
  /**
   * Rejects when no answer came within this time; Infinity for requests that run as long as they need (training).
   * Default: the method's entry in the peer's timeouts, else DEFAULT_TIMEOUT_MS.
   */
  timeoutMs?: number;
  /** Aborting sends a cancel to the peer; the peer's handler decides what it answers (e.g. "stopped at step n"). */
  signal?: AbortSignal;
  /** After a cancel, how long to wait for the peer's answer before rejecting with CancelledError. */
  cancelGraceMs?: number;
  onProgress?: (data: P) => void;
}

export interface HandlerContext<P> {
  /** Aborted when the requester cancels or the channel closes. */
  signal: AbortSignal;
  progress(data: P): void;
}

type Handler<S extends MethodSpec> = (params: S['params'], ctx: HandlerContext<S['progress']>) => Promise<S['result']> | S['result'];

interface Pending {
  method: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: (data: unknown) => void;
  dispose(): void;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export function toErrorInfo(e: unknown): RpcErrorInfo {
  if (e instanceof Error) return { name: e.name || 'Error', message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/**
 * One end of the channel. `Calls` are the methods the peer serves, `Serves` the ones served here; `Hears` and
 * `Says` are the notice unions received and sent.
 */
export class RpcPeer<Calls extends MethodMap<Calls>, Serves extends MethodMap<Serves>, Hears extends Notice = never, Says extends Notice = never> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly running = new Map<number, AbortController>();
  private readonly handlers = new Map<string, Handler<MethodSpec>>();
  private readonly noticeListeners = new Set<(n: Hears) => void>();
  private closedReason: string | undefined;

  /** `timeouts`: each method's default `timeoutMs` (a request may still give its own). */
  constructor(private readonly transport: Transport, private readonly timeouts: Partial<Record<keyof Calls, number>> = {}) {
    transport.onMessage((m) => this.receive(m));
    transport.onClose((reason) => this.close(reason));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  handle<K extends keyof Serves & string>(method: K, handler: Handler<Serves[K]>): void {
    this.handlers.set(method, handler as unknown as Handler<MethodSpec>);
  }

  onNotice(listener: (n: Hears) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  notify(n: Says): void {
    this.trySend({ kind: 'notify', name: n.name, data: n.data });
  }

  request<K extends keyof Calls & string>(method: K, params: Calls[K]['params'], opts: RequestOptions<Calls[K]['progress']> = {}): Promise<Calls[K]['result']> {
    return new Promise((resolve, reject) => {
      if (this.closedReason !== undefined) return reject(new PeerExitedError(method, this.closedReason));
      if (opts.signal?.aborted) return reject(new CancelledError(method));
      const id = this.nextId++;
      const timers: NodeJS.Timeout[] = [];
      const timeoutMs = opts.timeoutMs ?? this.timeouts[method] ?? DEFAULT_TIMEOUT_MS;
      const onAbort = () => {
        this.trySend({ kind: 'cancel', id });
        timers.push(setTimeout(() => this.settle(id, new CancelledError(method)), opts.cancelGraceMs ?? 5_000));
      };
      const entry: Pending = {
        method,
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: opts.onProgress as ((d: unknown) => void) | undefined,
        dispose: () => {
          timers.forEach(clearTimeout);
          opts.signal?.removeEventListener('abort', onAbort);
        },
      };
      this.pending.set(id, entry);
      if (Number.isFinite(timeoutMs)) timers.push(setTimeout(() => this.settle(id, new RpcTimeoutError(method, timeoutMs)), timeoutMs));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.trySend({ kind: 'request', id, method, params })) this.settle(id, new PeerExitedError(method, this.closedReason ?? 'the channel is closed'));
    });
  }

  /** Ends the channel from this side: pending requests reject, running handlers see their signal abort. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const id of [...this.pending.keys()]) this.settle(id, new PeerExitedError(this.pending.get(id)!.method, reason));
    for (const c of this.running.values()) c.abort();
    this.running.clear();
  }

  private settle(id: number, error: Error | undefined, result?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return; // already settled (a late answer after a timeout is dropped)
    this.pending.delete(id);
    p.dispose();
    if (error) p.reject(error);
    else p.resolve(result);
  }

  private trySend(msg: RpcMessage): boolean {
    if (this.closedReason !== undefined) return false;
    try {
      this.transport.send(msg);
      return true;
    } catch (e) {
      this.close(`the channel failed (${e instanceof Error ? e.message : String(e)})`);
      return false;
    }
  }

  private receive(m: RpcMessage): void {
    switch (m.kind) {
      case 'response': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.settle(m.id, m.ok ? undefined : new RemoteError(m.error, p.method), m.ok ? m.result : undefined);
        return;
      }
      case 'progress':
        this.pending.get(m.id)?.onProgress?.(m.data);
        return;
      case 'cancel':
        this.running.get(m.id)?.abort();
        return;
      case 'notify':
        for (const l of this.noticeListeners) l({ name: m.name, data: m.data } as Hears);
        return;
      case 'request':
        void this.serve(m.id, m.method, m.params);
        return;
    }
  }

  private async serve(id: number, method: string, params: unknown): Promise<void> {
    const handler = this.handlers.get(method);
    if (!handler) {
      this.trySend({ kind: 'response', id, ok: false, error: { name: 'UnknownMethod', message: `Unknown method "${method}".` } });
      return;
    }
    const controller = new AbortController();
    this.running.set(id, controller);
    try {
      const ctx: HandlerContext<unknown> = { signal: controller.signal, progress: (data) => this.trySend({ kind: 'progress', id, data }) };
      const result = await handler(params, ctx);
      this.trySend({ kind: 'response', id, ok: true, result });
    } catch (e) {
      this.trySend({ kind: 'response', id, ok: false, error: toErrorInfo(e) });
    } finally {
      this.running.delete(id);
    }
  }
}

/** The host's end of a forked child's IPC channel (fork with serialization 'advanced' so ArrayBuffers cross as bytes). */
export function childTransport(child: ChildProcess): Transport {
  return {
    send: (msg) => {
      if (!child.connected) throw new Error('the engine process is not connected');
      child.send(msg);
    },
    onMessage: (l) => child.on('message', (m) => l(m as RpcMessage)),
    onClose: (l) => {
      // The channel usually closes just before the exit is reported; wait a moment for the exit, whose code or
      // signal says more than "disconnected".
      let reported = false;
      const report = (reason: string) => {
        if (!reported) {
          reported = true;
          l(reason);
        }
      };
      child.once('exit', (code, signal) => report(signal ? `the engine process was ended by ${signal}` : `the engine process exited with code ${code}`));
      child.once('disconnect', () => setTimeout(() => report('the engine process disconnected'), 1_000).unref());
      child.once('error', (e) => report(`the engine process failed (${e.message})`));
    },
  };
}

/** The forked child's end of the IPC channel to its parent. */
export function parentTransport(proc: NodeJS.Process = process): Transport {
  if (!proc.send) throw new Error('This process has no IPC channel: it must be started with child_process.fork.');
  return {
    send: (msg) => {
      if (!proc.connected) throw new Error('the parent process is not connected');
      proc.send!(msg);
    },
    onMessage: (l) => proc.on('message', (m) => l(m as RpcMessage)),
    onClose: (l) => proc.once('disconnect', () => l('the parent process disconnected')),
  };
}
