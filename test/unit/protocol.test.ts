// The host <-> engine protocol with real child processes: the generic request/response helper (results, errors
// carried back, progress, timeouts, cancellation, peer exit, ArrayBuffers), and the real engine process (backend
// init, training stopped with a checkpoint, sampling with images as bytes, the native addon sharing the
// engine's tfjs-core, and exiting when its parent disappears).
import * as assert from 'assert';
import { ChildProcess, fork, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packTensors, unpackTensor } from '../../src/wire/tensorPack';
import { CancelledError, PeerExitedError, RemoteError, RpcPeer, RpcTimeoutError, childTransport } from '../../src/engine/rpc';
import { shareModules } from '../../src/runtime/sharedModules';
import { EngineProcess, forkEngine } from '../../src/extension/engineProcess';
import { chooseRuntime, findOnPath } from '../../src/extension/engineRuntime';
import { listCheckpoints, readJsonLines, runPaths } from '../../src/io/runs';
import type { TrainEvent } from '../../src/run/loop';
import type { TestMethods } from '../fixtures/rpc/peer';
import { tempDir } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const TSX = ['--require', require.resolve('tsx/cjs')];
const ENGINE = path.join(ROOT, 'src', 'engine', 'main.ts');
const plainNode = { execPath: process.execPath, env: {}, kind: 'path' as const, description: 'test', notes: [] };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitFor(what: string, cond: () => boolean, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('rpc helper over a real child process', function () {
  let child: ChildProcess;
  let peer: RpcPeer<TestMethods, Record<never, never>>;

  beforeEach(() => {
    child = fork(path.join(ROOT, 'test', 'fixtures', 'rpc', 'peer.ts'), [], { execArgv: TSX, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    peer = new RpcPeer(childTransport(child));
  });
  afterEach(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('answers requests by id, also when several are in flight', async () => {
    const answers = await Promise.all(['a', 'b', 'c'].map((text) => peer.request('echo', { text }, { timeoutMs: 60_000 })));
    assert.deepStrictEqual(answers.map((a) => a.text), ['a', 'b', 'c']);
    assert.strictEqual(answers[0].pid, child.pid);
  });

  it('carries tensors both ways as one ArrayBuffer with an offset table', async () => {
    const x = Float32Array.from([1, 2, 3.5, -4]);
    const pack = packTensors([{ name: 'label', shape: [1], data: Int32Array.of(7) }, { name: 'x', shape: [2, 2], data: x }]);
    const r = await peer.request('echo', { text: 't', pack }, { timeoutMs: 60_000 });
    assert.strictEqual(r.sum, 2.5);
    assert.ok(r.pack && r.pack.buffer instanceof ArrayBuffer, 'the answer holds an ArrayBuffer, not a JSON array');
    assert.deepStrictEqual([...unpackTensor(r.pack, 'doubled', 'float32').data], [2, 4, 7, -8]);
    assert.deepStrictEqual([...unpackTensor(r.pack, 'bytes', 'uint8').data], [1, 2, 255]);
    assert.throws(() => unpackTensor(r.pack!, 'bytes', 'float32'), /is uint8, not float32/);
    assert.throws(() => unpackTensor(r.pack!, 'missing', 'uint8'), /has no "missing"/);
  });

  it('carries the peer\'s error back with its name and message', async () => {
    await assert.rejects(peer.request('fail', { message: 'no such checkpoint: a.safetensors' }, { timeoutMs: 60_000 }), (e: unknown) => {
      assert.ok(e instanceof RemoteError);
      assert.strictEqual(e.name, 'CheckpointMissing');
      assert.strictEqual(e.message, 'no such checkpoint: a.safetensors');
      return true;
    });
    const unknown = peer as unknown as RpcPeer<{ nope: { params: object; result: unknown; progress: never } }, Record<never, never>>;
    await assert.rejects(unknown.request('nope', {}, { timeoutMs: 60_000 }), /Unknown method "nope"/);
  });

  it('delivers progress in order before the result', async () => {
    const seen: number[] = [];
    const r = await peer.request('ticks', { n: 50 }, { timeoutMs: 60_000, onProgress: (p) => seen.push(p.i) });
    assert.strictEqual(r.done, 50);
    assert.deepStrictEqual(seen, Array.from({ length: 50 }, (_, i) => i));
  });

  it('rejects on timeout and stays usable afterwards', async () => {
    await peer.request('echo', { text: 'warm' }, { timeoutMs: 60_000 });
    await assert.rejects(peer.request('never', {}, { timeoutMs: 200 }), (e: unknown) => e instanceof RpcTimeoutError && /"never" got no answer/.test(e.message));
    assert.strictEqual((await peer.request('echo', { text: 'after' }, { timeoutMs: 60_000 })).text, 'after');
  });

  it('cancels: the handler sees the abort and its answer comes back', async () => {
    const controller = new AbortController();
    const r = await peer.request('untilCancelled', { maxMs: 120_000 }, {
      timeoutMs: Infinity, signal: controller.signal, cancelGraceMs: 60_000,
      onProgress: (p) => p.tick === 3 && controller.abort(),
    });
    assert.deepStrictEqual(r.cancelled, true);
    assert.ok(r.ticks >= 3);
  });

  it('cancels: a handler that ignores the cancel is given up after the grace time', async () => {
    const controller = new AbortController();
    const pending = peer.request('ignoreCancel', {}, { timeoutMs: Infinity, signal: controller.signal, cancelGraceMs: 100 });
    controller.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof CancelledError);
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(peer.request('echo', { text: 'x' }, { signal: pre.signal }), CancelledError);
  });

  it('rejects pending and later requests when the peer exits', async () => {
    await peer.request('echo', { text: 'warm' }, { timeoutMs: 60_000 });
    const hanging = peer.request('never', {}, { timeoutMs: Infinity });
    const exiting = peer.request('exit', { code: 3 }, { timeoutMs: Infinity });
    for (const p of [hanging, exiting]) {
      await assert.rejects(p, (e: unknown) => e instanceof PeerExitedError && /exited with code 3/.test(e.message));
    }
    await assert.rejects(peer.request('echo', { text: 'late' }), PeerExitedError);
    assert.ok(peer.closed);
  });

  it('rejects when the peer is killed', async () => {
    const hanging = peer.request('never', {}, { timeoutMs: Infinity });
    await peer.request('echo', { text: 'warm' }, { timeoutMs: 60_000 });
    child.kill('SIGKILL');
    await assert.rejects(hanging, PeerExitedError);
  });
});

describe('module sharing for the native addon', () => {
  it('makes a package loaded from another folder get the engine\'s instance', () => {
    const dir = tempDir();
    const pkg = path.join(dir, 'node_modules', 'fake-addon');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'index.js'), "module.exports = require('@tensorflow/tfjs-core');\n");
    const mine = { marker: 'engine instance' };
    const undo = shareModules({ '@tensorflow/tfjs-core': mine });
    try {
      assert.strictEqual(require(require.resolve('fake-addon', { paths: [dir] })), mine);
    } finally {
      undo();
    }
  });
});

describe('engine runtime choice', () => {
  it('prefers a node on PATH and falls back to the host runtime with ELECTRON_RUN_AS_NODE', async () => {
    const nodeDir = path.dirname(process.execPath);
    const onPath = await chooseRuntime({ configured: '', pathEnv: nodeDir, hostExecPath: '/opt/editor/editor', hostIsElectron: true });
    assert.strictEqual(onPath.kind, 'path');
    assert.strictEqual(onPath.execPath, findOnPath('node', nodeDir));
    const none = await chooseRuntime({ configured: '', pathEnv: tempDir(), hostExecPath: '/opt/editor/editor', hostIsElectron: true });
    assert.strictEqual(none.kind, 'vscode');
    assert.deepStrictEqual(none.env, { ELECTRON_RUN_AS_NODE: '1' });
    assert.ok(none.notes.includes('no node on PATH'));
    const bad = await chooseRuntime({ configured: path.join(tempDir(), 'no-node'), pathEnv: nodeDir, hostExecPath: '/x', hostIsElectron: false });
    assert.strictEqual(bad.kind, 'path');
    assert.match(bad.notes[0], /configured jit.engine.nodePath .* could not be run \(not found\)/);
  });
});

describe('the engine process', function () {
  let engine: EngineProcess;
  const output: string[] = [];

  before(async () => {
    engine = forkEngine({ script: ENGINE, runtime: plainNode, execArgv: TSX, onOutput: (l) => output.push(l) });
    const info = await engine.peer.request('init', { backend: 'wasm', nativeSearchPaths: [] }, { timeoutMs: 120_000 });
    assert.strictEqual(info.backend?.backend, 'wasm');
    assert.strictEqual(info.process.runtime, 'node');
    assert.strictEqual(info.process.pid, engine.pid);
  });
  after(async () => {
    if (engine) await engine.stop();
  });

  it('computes the logit-normal density of t as float64 bytes', async () => {
    const pack = await engine.peer.request('tDensity', { pMean: -0.8, pStd: 0.8, points: 400 }, { timeoutMs: 30_000 });
    const t = unpackTensor(pack, 't', 'float64').data;
    const d = unpackTensor(pack, 'density', 'float64').data;
    const integral = d.reduce((a, b) => a + b, 0) / t.length;
    assert.ok(Math.abs(integral - 1) < 0.01, `the density integrates to ${integral}`);
    const mode = t[d.indexOf(Math.max(...d))];
    assert.ok(mode > 0.2 && mode < 0.4, `the mode of t is ${mode}: pMean -0.8 puts it below 0.5`);
    await assert.rejects(engine.peer.request('tDensity', { pMean: 0, pStd: 1, points: 1 }), /points must be a whole number/);
  });

  it('trains, streams steps, stops on cancel with a resumable checkpoint, then samples from it', async () => {
    const runsRoot = tempDir();
    const events: TrainEvent[] = [];
    const controller = new AbortController();
    const outcome = await engine.peer.request('train', {
      runsRoot, runName: 'protocol-test',
      overrides: { preset: 'JiT-Ti/4', steps: 500, batch: 2, sampleEvery: 1000, checkpointEvery: 1000 },
    }, {
      timeoutMs: Infinity, signal: controller.signal, cancelGraceMs: 300_000,
      onProgress: (e) => {
        events.push(e);
        if (e.type === 'step' && e.metrics.step === 2) controller.abort();
      },
    });
    assert.strictEqual(outcome.reason, 'stopped');
    assert.strictEqual(events[0].type, 'started');
    const steps = events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    assert.ok(steps.length >= 2 && steps[0].metrics.step === 1 && steps[0].totalSteps === 500);
    const finished = events.at(-1);
    assert.ok(finished?.type === 'finished' && finished.reason === 'stopped' && finished.checkpoint);
    const cks = listCheckpoints(outcome.runDir);
    assert.deepStrictEqual(cks.map((c) => c.step), [outcome.step]);
    assert.strictEqual(readJsonLines(runPaths(outcome.runDir).metrics).length, outcome.step);

    const progress: number[] = [];
    const s = await engine.peer.request('sample', {
      checkpoint: cks[0].file, n: 2, steps: 2, method: 'euler', cfgScale: 1, intervalMin: 0.1, intervalMax: 1, seed: 1, weights: 'ema1',
    }, { timeoutMs: Infinity, onProgress: (p) => progress.push(p.evals) });
    assert.ok(fs.existsSync(s.file));
    assert.deepStrictEqual(progress, [1, 2]);
    const images = unpackTensor(s.tensors, 'images', 'uint8');
    assert.deepStrictEqual(images.shape, [2, 32, 32, 3]);
    assert.ok(images.data.some((v) => v !== images.data[0]), 'the images are not blank');
  });

  it('carries errors back and refuses a second training', async () => {
    await assert.rejects(engine.peer.request('sample', {
      checkpoint: path.join(tempDir(), 'missing.safetensors'), n: 1, steps: 2, method: 'euler', cfgScale: 1, intervalMin: 0, intervalMax: 1, seed: 0, weights: 'ema1',
    }, { timeoutMs: 60_000 }), (e: unknown) => e instanceof RemoteError && /missing\.safetensors/.test(e.message));
    const c = new AbortController();
    const first = engine.peer.request('train', { runsRoot: tempDir(), overrides: { preset: 'JiT-Ti/4', steps: 100, batch: 2 } }, {
      timeoutMs: Infinity, signal: c.signal, cancelGraceMs: 300_000, onProgress: (e) => e.type === 'started' && c.abort(),
    });
    await assert.rejects(engine.peer.request('train', { runsRoot: tempDir() }, { timeoutMs: 60_000 }), /already running/);
    assert.strictEqual((await first).reason, 'stopped');
  });
});

describe('the engine with a native addon in its search path', () => {
  it('loads the addon from there and the addon registers on the engine\'s tfjs-core', async () => {
    // A stand-in for @tensorflow/tfjs-node (which cannot be installed here): it registers a backend named
    // 'tensorflow' on whatever tfjs-core *it* requires, as the real addon does.
    const dir = tempDir();
    const pkg = path.join(dir, 'node_modules', '@tensorflow', 'tfjs-node');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }));
    fs.writeFileSync(path.join(pkg, 'index.js'), [
      "const tf = require('@tensorflow/tfjs-core');",
      "const { MathBackendCPU } = require('@tensorflow/tfjs-backend-cpu');",
      "tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);",
    ].join('\n'));
    const engine = forkEngine({ script: ENGINE, runtime: plainNode, execArgv: TSX });
    try {
      const info = await engine.peer.request('init', { backend: 'tensorflow', nativeSearchPaths: [dir] }, { timeoutMs: 120_000 });
      assert.strictEqual(info.backend?.backend, 'tensorflow');
      assert.strictEqual(info.backend?.package, '@tensorflow/tfjs-node');
      assert.deepStrictEqual(info.nativeSearchPaths, [dir]);
    } finally {
      await engine.stop();
    }
  });

  it('reports why the native backend is missing and runs on wasm', async () => {
    const engine = forkEngine({ script: ENGINE, runtime: plainNode, execArgv: TSX });
    try {
      const info = await engine.peer.request('init', { backend: 'auto', nativeSearchPaths: [tempDir()] }, { timeoutMs: 120_000 });
      assert.strictEqual(info.backend?.backend, 'wasm');
      assert.ok(info.backend?.notes.some((n) => n.includes('@tensorflow/tfjs-node is not available')));
    } finally {
      await engine.stop();
    }
  });
});

describe('engine lifetime', () => {
  it('exits by itself when its parent process is killed', async () => {
    const middle = spawn(process.execPath, [...TSX, path.join(ROOT, 'test', 'fixtures', 'rpc', 'middle.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    middle.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the engine pid', () => /engine \d+|error/.test(out), 120_000);
      const m = /engine (\d+)/.exec(out);
      assert.ok(m, out);
      const enginePid = Number(m[1]);
      assert.ok(alive(enginePid));
      middle.kill('SIGKILL');
      await waitFor(`engine ${enginePid} to exit`, () => !alive(enginePid));
    } finally {
      middle.kill('SIGKILL');
    }
  });

  it('stop() asks the engine to shut down and it exits with code 0', async () => {
    const engine = forkEngine({ script: ENGINE, runtime: plainNode, execArgv: TSX });
    await engine.peer.request('info', {}, { timeoutMs: 60_000 });
    const exit = await engine.stop();
    assert.deepStrictEqual(exit, { code: 0, signal: null });
    await assert.rejects(engine.peer.request('info', {}), PeerExitedError);
  });
});
