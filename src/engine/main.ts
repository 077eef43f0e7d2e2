// The engine process, forked by the extension host: all TensorFlow.js work (training, sampling) happens here so
// that a native crash or an out-of-memory ends this process, not VS Code. It serves the methods of protocol.ts
// over the IPC channel and exits when its parent goes away (IPC disconnect, or the parent pid disappearing),
// stopping a running training first so that it leaves a checkpoint.
import tfCore = require('@tensorflow/tfjs-core');
import tfCpu = require('@tensorflow/tfjs-backend-cpu');
import { BackendChoice, backendInfo, initBackend } from '../runtime/tfjsBackend';
import { EngineInfo, EngineMethods, EngineNotice, HostMethods } from './protocol';
import { packTensors } from '../wire/tensorPack';
import { RpcPeer, parentTransport } from './rpc';
import { shareModules } from '../runtime/sharedModules';
import { registerCheckpointHandlers } from './checkpointHandlers';
import { registerViewHandlers, sampleRecordingTrajectory } from './views';
import { logitNormalDensity } from '../jit/diffusion';
import { toRgbBytes } from '../io/png';
import { runTraining } from '../run/loop';

// The native addon must register its kernels on this bundle's tfjs-core (see sharedModules.ts). The cpu backend
// is shared too, so that @tensorflow/tfjs (which tfjs-node loads) does not register a second one. (`import x =
// require()` hands over the modules' own exports objects, not a bundler's namespace wrapper.)
shareModules({ '@tensorflow/tfjs-core': tfCore, '@tensorflow/tfjs-backend-cpu': tfCpu });

const BACKENDS: BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
/** How long a training may take to finish its step and write a checkpoint once the parent is gone. */
const ORPHAN_GRACE_MS = 20_000;

const peer = new RpcPeer<HostMethods, EngineMethods, never, EngineNotice>(parentTransport());
let searchPaths: string[] = [];
let training: { controller: AbortController; checkpointWanted: boolean; done: Promise<unknown> } | undefined;

function log(level: 'info' | 'warn' | 'error', message: string): void {
  peer.notify({ name: 'log', data: { level, message } });
}

function info(): EngineInfo {
  return {
    process: {
      pid: process.pid,
      node: process.version,
      runtime: process.versions.electron ? 'electron' : 'node',
      execPath: process.execPath,
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    },
    backend: backendInfo(),
    nativeSearchPaths: searchPaths,
  };
}

async function ensureBackend(): Promise<void> {
  if (!backendInfo()) await initBackend('auto', searchPaths);
}

peer.handle('init', async ({ backend, nativeSearchPaths }) => {
  if (!BACKENDS.includes(backend)) throw new Error(`Unknown backend "${backend}": use auto, tensorflow, wasm or cpu.`);
  const before = backendInfo();
  if (!before) {
    searchPaths = nativeSearchPaths;
    const b = await initBackend(backend, nativeSearchPaths);
    for (const note of b.notes) log('info', note);
  } else if (backend !== 'auto' && before.backend !== backend) {
    log('warn', `The engine already runs on ${before.backend}; restart it to switch to ${backend}.`);
  }
  return info();
});

peer.handle('info', () => info());

peer.handle('train', async (params, ctx) => {
  if (training) throw new Error('A training is already running in this engine: stop it before starting another.');
  // Claimed before the first await: two requests that arrive together must not both start.
  const controller = new AbortController();
  const stop = () => controller.abort();
  ctx.signal.addEventListener('abort', stop, { once: true });
  const state = { controller, checkpointWanted: false, done: Promise.resolve() as Promise<unknown> };
  training = state;
  try {
    await ensureBackend();
    const b = backendInfo();
    const run = runTraining({
      ...params, workers: params.workers ?? 'auto', backend: b?.backend, engine: params.engine ?? 'auto',
      tfjsOnGpu: b?.devices.some((d) => d.startsWith('GPU')) ?? false,
    }, {
      signal: controller.signal,
      takeCheckpointRequest: () => {
        const wanted = state.checkpointWanted;
        state.checkpointWanted = false;
        return wanted;
      },
      onEvent: (e) => ctx.progress(e),
    });
    state.done = run.catch(() => undefined);
    return await run;
  } finally {
    ctx.signal.removeEventListener('abort', stop);
    training = undefined;
  }
});

peer.handle('saveCheckpoint', () => {
  if (!training) return { accepted: false };
  training.checkpointWanted = true;
  return { accepted: true };
});

peer.handle('sample', async (req, ctx) => {
  await ensureBackend();
  // Yielding to the event loop after each step lets a cancel message arrive while sampling runs.
  const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));
  const r = await sampleRecordingTrajectory(req, (evals, total) => ctx.progress({ evals, total }), yieldToEvents, ctx.signal);
  const S = r.imageSize;
  const bytes = new Uint8Array(r.n * S * S * 3);
  for (let i = 0; i < r.n; i++) bytes.set(toRgbBytes(r.images, i, S), i * S * S * 3);
  return {
    file: r.file, n: r.n, steps: r.steps, method: r.method, cfgScale: r.cfgScale, weights: r.weights, labels: r.labels, seconds: r.seconds,
    imageSize: S, tensors: packTensors([{ name: 'images', shape: [r.n, S, S, 3], data: bytes }]), trajectory: r.trajectory,
  };
});

peer.handle('tDensity', ({ pMean, pStd, points }) => {
  if (!Number.isInteger(points) || points < 2 || points > 10_000) throw new Error(`points must be a whole number from 2 to 10000, got ${points}.`);
  const t = Float64Array.from({ length: points }, (_, i) => (i + 0.5) / points);
  const density = t.map((x) => logitNormalDensity(x, pMean, pStd));
  return packTensors([{ name: 't', shape: [points], data: t }, { name: 'density', shape: [points], data: density }]);
});

registerCheckpointHandlers(peer, ensureBackend);
registerViewHandlers(peer, ensureBackend);

peer.handle('shutdown', async () => {
  const stopped = await stopTraining();
  setTimeout(() => process.exit(0), 50); // after the answer has been written to the channel
  return { stopped };
});

async function stopTraining(): Promise<boolean> {
  const t = training;
  if (!t) return false;
  t.controller.abort();
  await t.done;
  return true;
}

let exiting = false;
function exitBecause(reason: string): void {
  if (exiting) return;
  exiting = true;
  process.stderr.write(`JiT engine: ${reason}; stopping.\n`);
  setTimeout(() => process.exit(0), ORPHAN_GRACE_MS).unref();
  void stopTraining().finally(() => process.exit(0));
}

process.on('disconnect', () => exitBecause('the extension host disconnected'));
const parentPid = process.ppid;
setInterval(() => {
  let alive = process.ppid === parentPid; // re-parented to init (or a subreaper): the parent died
  if (alive) {
    try {
      process.kill(parentPid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  if (!alive) exitBecause(`the parent process ${parentPid} is gone`);
}, 1000).unref();

log('info', `JiT engine ${process.pid} started on ${process.versions.electron ? `VS Code's runtime (Electron ${process.versions.electron}, Node ${process.version})` : `Node ${process.version}`}.`);
