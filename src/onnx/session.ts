// ONNX Runtime sessions running the JiT network: creation with the chosen threads and execution providers (falling
// back along the provider list and saying why), forward passes on plain arrays, and a cache that keeps one session
// per checkpoint, weights copy and setting, so repeated sampling does not rebuild and re-optimise the graph.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as Ort from 'onnxruntime-node';
import { JiTConfig } from '../jit/config';
import { OfficialTensor, paramSpecs } from '../jit/params';
import { ExternalWeights, encodeModel } from './builder';
import { GRAPH_IO, buildJiTModel } from './graph';
import { KNOWN_PROVIDERS, OrtLoader, OrtModule, firstLine, loadOnnxRuntime } from './runtime';

export interface OnnxOptions {
  /** Intra-op threads; default $JIT_ONNX_THREADS or the number of CPU cores. */
  threads?: number;
  /** Execution providers in order of preference; default $JIT_ONNX_PROVIDERS (e.g. "cuda,cpu") or ["cpu"]. */
  providers?: string[];
  /** How to load onnxruntime-node (tests point it elsewhere). */
  loader?: OrtLoader;
  /**
   * Let idle intra-op threads spin between operators instead of sleeping; default on (ONNX Runtime's default) unless
   * $JIT_ONNX_SPINNING=0. On an otherwise idle 2-core machine it made 2-thread passes ~35% faster; on a CPU busy
   * with other work it made them ~40% slower, since spinning threads compete for the cores.
   */
  spinning?: boolean;
  /** Models whose weights exceed this many bytes keep them in an external file (protobuf's limit is 2 GB). */
  externalWeightsAbove?: number;
}

const EXTERNAL_WEIGHTS_ABOVE = 1.5e9;

export function resolveThreads(o: Pick<OnnxOptions, 'threads'> = {}): number {
  const raw = o.threads ?? (process.env.JIT_ONNX_THREADS ? Number(process.env.JIT_ONNX_THREADS) : os.cpus().length);
  if (!Number.isInteger(raw) || raw < 1) {
    throw new Error(`ONNX Runtime threads must be a positive whole number, got "${o.threads ?? process.env.JIT_ONNX_THREADS}"; set JIT_ONNX_THREADS or the option to e.g. 2.`);
  }
  return raw;
}

export function resolveProviders(o: Pick<OnnxOptions, 'providers'> = {}): string[] {
  const list = o.providers ?? (process.env.JIT_ONNX_PROVIDERS ? process.env.JIT_ONNX_PROVIDERS.split(',') : ['cpu']);
  const names = list.map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const n of names) {
    if (!(KNOWN_PROVIDERS as readonly string[]).includes(n)) {
      throw new Error(`Unknown ONNX Runtime execution provider "${n}": use ${KNOWN_PROVIDERS.join(', ')}, comma-separated in order of preference (e.g. JIT_ONNX_PROVIDERS=cuda,cpu).`);
    }
  }
  if (names.length === 0) throw new Error('No ONNX Runtime execution provider given: use e.g. JIT_ONNX_PROVIDERS=cpu or cuda,cpu.');
  return names;
}

export function resolveSpinning(o: Pick<OnnxOptions, 'spinning'> = {}): boolean {
  return o.spinning ?? process.env.JIT_ONNX_SPINNING !== '0';
}

/** One ONNX Runtime session of the JiT network. */
export class OnnxJiT {
  private disposed = false;

  constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly cfg: JiTConfig,
    /** The execution provider the session was created with (nodes it lacks run on the CPU provider). */
    readonly provider: string,
    readonly threads: number,
    /** Why preferred providers were skipped. */
    readonly notes: string[],
    private readonly cleanup: () => void,
  ) {}

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * net(z, t, y): z [B, C, H, W] float32, t [B], y [B] class labels (numClasses = null class) -> output [B, C, H, W].
   * With `outputs`, also returns those graph outputs (activations of a model built with them).
   */
  async run(z: Float32Array, t: Float32Array, y: Int32Array, outputs: string[] = [GRAPH_IO.out]): Promise<Map<string, { dims: number[]; data: Float32Array }>> {
    if (this.disposed) throw new Error('This ONNX Runtime session was disposed.');
    const { inChannels: C, inputSize: S, numClasses } = this.cfg;
    const B = t.length;
    if (z.length !== B * C * S * S || y.length !== B) {
      throw new Error(`ONNX forward: z has ${z.length} values and y ${y.length} for ${B} times, but this model needs z [${B}, ${C}, ${S}, ${S}] and y [${B}].`);
    }
    for (const c of y) if (!(c >= 0 && c <= numClasses)) throw new Error(`Class label ${c} is out of range 0-${numClasses} (${numClasses} = unconditional).`);
    const T = this.ort.Tensor;
    const feeds = {
      [GRAPH_IO.z]: new T('float32', z, [B, C, S, S]),
      [GRAPH_IO.t]: new T('float32', t, [B]),
      [GRAPH_IO.y]: new T('int64', BigInt64Array.from(y, (v) => BigInt(v)), [B]),
    };
    const res = await this.session.run(feeds, outputs);
    const out = new Map<string, { dims: number[]; data: Float32Array }>();
    for (const name of outputs) out.set(name, { dims: [...res[name].dims], data: res[name].data as Float32Array });
    return out;
  }

  /** The network output [B, C, H, W] as a flat array. */
  async forward(z: Float32Array, t: Float32Array, y: Int32Array): Promise<Float32Array> {
    return (await this.run(z, t, y)).get(GRAPH_IO.out)!.data;
  }

  describe(): string {
    return describeSession(this);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
    this.cleanup();
  }
}

/** One line for people: "ONNX Runtime, cpu execution provider, 2 threads". */
export function describeSession(s: { provider: string; threads: number }): string {
  return `ONNX Runtime, ${s.provider} execution provider${s.provider === 'cpu' ? `, ${s.threads} thread${s.threads === 1 ? '' : 's'}` : ''}`;
}

/** An open session and how it was made. */
export interface OpenedSession {
  ort: OrtModule;
  session: Ort.InferenceSession;
  /** The execution provider the session was created with (nodes it lacks run on the CPU provider). */
  provider: string;
  threads: number;
  /** Why preferred providers were skipped. */
  notes: string[];
}

/**
 * Opens a session on a model (bytes, or a file path). Providers are tried in order: when one cannot start (e.g. CUDA
 * libraries missing), or `check` fails on it, the next is used and `notes` says why.
 */
export async function openSession(source: string | Uint8Array, opts: OnnxOptions, check: (s: OpenedSession) => Promise<void>): Promise<OpenedSession> {
  const load = loadOnnxRuntime(opts.loader);
  if (!load.ok) throw new Error(load.message);
  const threads = resolveThreads(opts);
  const wanted = resolveProviders(opts);
  const notes: string[] = [];
  for (let i = 0; i < wanted.length; i++) {
    const providers = wanted.slice(i);
    let session: Ort.InferenceSession | undefined;
    try {
      const options: Ort.InferenceSession.SessionOptions = {
        executionProviders: providers, graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: resolveSpinning(opts) ? '1' : '0' } } },
      };
      session = typeof source === 'string' ? await load.ort.InferenceSession.create(source, options) : await load.ort.InferenceSession.create(source, options);
      const opened = { ort: load.ort, session, provider: providers[0], threads, notes };
      await check(opened);
      return opened;
    } catch (e) {
      await session?.release().catch(() => {});
      notes.push(`the ${providers[0]} execution provider did not start (${firstLine(e)})`);
    }
  }
  throw new Error(`No ONNX Runtime execution provider of ${wanted.join(', ')} could run the model: ${notes.join('; ')}.`);
}

/**
 * Builds the JiT graph from official-layout weights (`${prefix}net.*`) and opens a session on it (see openSession).
 */
export async function createJiTSession(cfg: JiTConfig, weights: Map<string, OfficialTensor>, prefix = '',
  opts: OnnxOptions & { activations?: boolean } = {}): Promise<OnnxJiT> {
  const load = loadOnnxRuntime(opts.loader);
  if (!load.ok) throw new Error(load.message);
  const { source, cleanup } = modelSource(cfg, weights, prefix, opts);
  try {
    const S = cfg.inputSize;
    // One batch-1 pass: a provider (or a host process) that opens sessions but cannot run them fails here, not mid-sampling
    const opened = await openSession(source, opts, (o) => new OnnxJiT(o.ort, o.session, cfg, o.provider, o.threads, o.notes, () => {})
      .forward(new Float32Array(cfg.inChannels * S * S), Float32Array.of(0.5), Int32Array.of(cfg.numClasses)).then(() => {}));
    return new OnnxJiT(opened.ort, opened.session, cfg, opened.provider, opened.threads, opened.notes, cleanup);
  } catch (e) {
    cleanup();
    throw e;
  }
}

/**
 * Which execution provider sessions get under these settings, found by opening one on a tiny JiT network
 * (providers that fail to start are skipped, as for a real model).
 */
export async function probeSession(opts: OnnxOptions = {}): Promise<{ provider: string; threads: number; notes: string[] }> {
  const tiny: JiTConfig = { inputSize: 8, patchSize: 4, inChannels: 3, hiddenSize: 8, depth: 1, numHeads: 1, mlpRatio: 4, bottleneckDim: 4, numClasses: 1, inContextLen: 0, inContextStart: 0, freezePatchEmbed: false };
  const weights = new Map<string, OfficialTensor>();
  for (const spec of paramSpecs(tiny)) weights.set(spec.name, { shape: spec.shape, data: new Float32Array(spec.shape.reduce((a, b) => a * b, 1)) });
  const net = await createJiTSession(tiny, weights, '', opts);
  await net.dispose();
  return { provider: net.provider, threads: net.threads, notes: net.notes };
}

/** The model as bytes, or, for weights beyond the protobuf limit, as a file with its weights in a second file. */
function modelSource(cfg: JiTConfig, weights: Map<string, OfficialTensor>, prefix: string, opts: OnnxOptions & { activations?: boolean }): { source: string | Uint8Array; cleanup: () => void } {
  let bytes = 0;
  for (const [name, t] of weights) if (name.startsWith(prefix + 'net.')) bytes += t.data.byteLength;
  if (bytes <= (opts.externalWeightsAbove ?? EXTERNAL_WEIGHTS_ABOVE)) {
    return { source: encodeModel(buildJiTModel(cfg, weights, prefix, { activations: opts.activations })), cleanup: () => {} };
  }
  const external: ExternalWeights = { location: 'weights.bin', minBytes: 1024, chunks: [], size: 0 };
  const model = encodeModel(buildJiTModel(cfg, weights, prefix, { activations: opts.activations, external }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jit-onnx-'));
  const remove = () => {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // still mapped by the session on some systems; removed at dispose instead
    }
  };
  try {
    const fd = fs.openSync(path.join(dir, external.location), 'w');
    try {
      for (const c of external.chunks) fs.writeSync(fd, c);
    } finally {
      fs.closeSync(fd);
    }
    fs.writeFileSync(path.join(dir, 'model.onnx'), model);
  } catch (e) {
    remove();
    throw new Error(`Could not write the ONNX model to ${dir}: ${firstLine(e)}`);
  }
  return { source: path.join(dir, 'model.onnx'), cleanup: remove };
}

/** A session lent out by the cache; `release` when done (the cache disposes it once evicted and released). */
export interface SessionLease {
  net: OnnxJiT;
  release(): void;
}

interface CacheEntry {
  session: Promise<OnnxJiT>;
  users: number;
  evicted: boolean;
}

/** Least-recently-used sessions, keyed by whatever identifies the network and the session settings. */
export class SessionCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly capacity = 4) {}

  get size(): number {
    return this.entries.size;
  }

  async acquire(key: string, create: () => Promise<OnnxJiT>): Promise<SessionLease> {
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert: most recently used last
      this.entries.set(key, entry);
    } else {
      entry = { session: create(), users: 0, evicted: false };
      this.entries.set(key, entry);
      this.evict();
    }
    const e = entry;
    e.users++;
    let net: OnnxJiT;
    try {
      net = await e.session;
    } catch (err) {
      e.users--;
      if (this.entries.get(key) === e) this.entries.delete(key); // a failed creation is not cached
      throw err;
    }
    let released = false;
    return {
      net,
      release: () => {
        if (released) return;
        released = true;
        e.users--;
        if (e.evicted && e.users === 0) void net.dispose();
      },
    };
  }

  /** Disposes every session not in use and forgets all. */
  clear(): void {
    for (const e of this.entries.values()) this.drop(e);
    this.entries.clear();
  }

  private evict(): void {
    while (this.entries.size > this.capacity) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, CacheEntry];
      this.entries.delete(oldestKey);
      this.drop(oldest);
    }
  }

  private drop(e: CacheEntry): void {
    e.evicted = true;
    if (e.users === 0) e.session.then((s) => s.dispose(), () => {});
  }
}

/** Sessions of checkpoints for sampling, shared by every caller in this process. */
export const checkpointSessions = new SessionCache();

/** Identifies a checkpoint's weights copy under given session settings: path, modification time and size, copy, settings. */
export function checkpointSessionKey(file: string, weightsCopy: string, opts: OnnxOptions = {}): string {
  const st = fs.statSync(file);
  return JSON.stringify([path.resolve(file), st.mtimeMs, st.size, weightsCopy, resolveThreads(opts), resolveProviders(opts), resolveSpinning(opts)]);
}

/**
 * A cached session for `weightsCopy` ('online', 'ema1', ...) of a checkpoint; `load` supplies its config and
 * official-layout weights (`net.*`) only when no session is cached.
 */
export async function checkpointSession(file: string, weightsCopy: string, opts: OnnxOptions,
  load: () => { model: JiTConfig; weights: Map<string, OfficialTensor> }): Promise<SessionLease> {
  const runtime = loadOnnxRuntime(opts.loader); // a binding that no longer loads must not be served from the cache
  if (!runtime.ok) throw new Error(runtime.message);
  const key = checkpointSessionKey(file, weightsCopy, opts);
  return checkpointSessions.acquire(key, async () => {
    const { model, weights } = load();
    return createJiTSession(model, weights, '', opts);
  });
}
