import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { GOLDEN_TOLERANCE, loadGolden, verifyGolden, GoldenSpec } from '../../src/tasks/verifyGolden';
import { sampleFromCheckpoint, SampleRequest } from '../../src/tasks/sampleCheckpoint';
import { encodeSafetensors } from '../../src/io/safetensors';
import { JiTConfig } from '../../src/jit/config';
import { TfDenoiser } from '../../src/jit/denoiser';
import { JiTNetwork } from '../../src/jit/model';
import { OfficialTensor, paramsFromOfficial } from '../../src/jit/params';
import { StepRecord, sample } from '../../src/jit/sampler';
import { benchForward, randomInputs, randomOfficialWeights } from '../../src/onnx/bench';
import { OnnxDenoiser } from '../../src/onnx/denoiser';
import { onnxGoldenEngine } from '../../src/onnx/golden';
import { buildJiTModel } from '../../src/onnx/graph';
import { loadOnnxRuntime, onnxRuntimeStatus } from '../../src/onnx/runtime';
import { SessionCache, checkpointSession, createJiTSession, resolveProviders, resolveThreads } from '../../src/onnx/session';
import { GOLDEN, tempDir, useWasm } from './helpers';

const FORWARD_TOL = GOLDEN_TOLERANCE.forward;

/** max |a - ref| / (1 + |ref|) */
function scaledDiff(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.strictEqual(a.length, ref.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - ref[i]) / (1 + Math.abs(ref[i]));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The TF.js network output for flat inputs, as a flat array. */
async function tfForward(cfg: JiTConfig, weights: Map<string, OfficialTensor>, z: Float32Array, t: Float32Array, y: Int32Array): Promise<Float32Array> {
  const params = paramsFromOfficial(cfg, weights);
  const net = new JiTNetwork(cfg);
  const S = cfg.inputSize;
  const out = tf.tidy(() => net.forward(params, tf.tensor4d(z, [t.length, cfg.inChannels, S, S]), tf.tensor1d(t), tf.tensor1d(y, 'int32')));
  const data = (await out.data()) as Float32Array;
  tf.dispose([out, ...params.values()]);
  net.dispose();
  return data;
}

const notTheOnnxRuntime = () => require(path.join(__dirname, 'no-such-folder', 'onnxruntime-node'));

describe('ONNX Runtime engine', function () {
  let spec: GoldenSpec;
  before(async () => {
    await useWasm();
    spec = loadGolden(GOLDEN);
  });
  const T = (n: string) => spec.tensors.get(n)!;

  it('loads onnxruntime-node and lists the CPU execution provider', () => {
    const status = onnxRuntimeStatus();
    assert.ok(status.loads, status.message);
    assert.match(status.version!, /^\d+\.\d+/);
    assert.ok(status.providers.some((p) => p.name === 'cpu' && p.installed), JSON.stringify(status.providers));
  });

  it('reproduces the golden forward output and every activation of jit-tiny-a', async () => {
    const net = await createJiTSession(spec.config, spec.tensors, '', { activations: true });
    try {
      const outs = await net.run(T('case.forward.z').data, T('case.forward.t').data, Int32Array.from(T('case.forward.y').data), [...net.outputNames]);
      const x = outs.get('x')!;
      assert.deepStrictEqual(x.dims, T('case.forward.x_pred').shape);
      const err = scaledDiff(x.data, T('case.forward.x_pred').data);
      assert.ok(err <= FORWARD_TOL, `x_pred error ${err}`);
      const acts = [...spec.tensors.keys()].filter((n) => n.startsWith('case.forward.act.'));
      assert.strictEqual(acts.length, 7);
      for (const name of acts) {
        const key = name.slice('case.forward.act.'.length);
        assert.ok(outs.has(key), `no graph output ${key}`);
        const e = scaledDiff(outs.get(key)!.data, T(name).data);
        assert.ok(e <= FORWARD_TOL, `${key} error ${e}`);
      }
    } finally {
      await net.dispose();
    }
  });

  it('passes every golden case through verifyGolden: forward, the v-loss and all 70 gradients (training graph), trajectories', async () => {
    const results = await verifyGolden(GOLDEN, onnxGoldenEngine());
    const names = results.map((r) => r.case).sort();
    assert.deepStrictEqual(names.filter((n) => n.startsWith('sample.')), ['sample.euler.trajectory', 'sample.heun.trajectory']);
    assert.strictEqual(names.filter((n) => n.startsWith('forward.')).length, 8, names.join(', '));
    assert.ok(names.includes('loss'), 'the loss case ran');
    assert.strictEqual(names.filter((n) => n.startsWith('grad.')).length, 70, 'one gradient per trainable tensor');
    for (const r of results) assert.ok(r.pass, `${r.case}: ${r.error} > ${r.tolerance}`);
  });

  it('gives the sampler observer the same per-step data as the TF.js engine', async () => {
    const cfg = spec.config;
    const labels = Int32Array.from(T('case.sample.labels').data);
    const d = { target: 'x' as const, tEps: spec.diffusion.tEps };
    const opts = { steps: 5, method: 'heun' as const, cfgScale: 2.5, intervalMin: 0.1, intervalMax: 1.0, tEps: d.tEps, numClasses: cfg.numClasses };
    const record = async (den: TfDenoiser | OnnxDenoiser) => {
      const recs: StepRecord[] = [];
      const z0 = tf.tensor4d(T('case.sample.z0').data, T('case.sample.z0').shape as [number, number, number, number]);
      const final = await sample(den, z0, labels, opts, (r) => void recs.push(r));
      z0.dispose();
      return { recs, final };
    };
    const params = paramsFromOfficial(cfg, spec.tensors);
    const net = new JiTNetwork(cfg);
    const viaTf = await record(new TfDenoiser(net, params, d));
    net.dispose();
    tf.dispose([...params.values()]);
    const session = await createJiTSession(cfg, spec.tensors);
    const viaOnnx = await record(new OnnxDenoiser(session, d));
    await session.dispose();

    assert.strictEqual(viaOnnx.recs.length, 5);
    assert.strictEqual(viaTf.recs.length, 5);
    for (let i = 0; i < 5; i++) {
      const a = viaOnnx.recs[i];
      const b = viaTf.recs[i];
      assert.deepStrictEqual([a.step, a.t, a.tNext, a.method, a.cfgActive], [b.step, b.t, b.tNext, b.method, b.cfgActive]);
      assert.strictEqual(a.vNext === undefined, b.vNext === undefined);
      for (const k of ['z', 'xPred', 'v', 'vNext', 'zNext'] as const) {
        if (!b[k]) continue;
        const e = maxAbsDiff(a[k]!, b[k]!);
        assert.ok(e <= GOLDEN_TOLERANCE.trajectory, `step ${i} ${k}: ${e}`);
      }
    }
    assert.deepStrictEqual(viaOnnx.recs.map((r) => r.cfgActive), [false, true, true, true, true]); // t = 0 lies outside (0.1, 1)
    assert.ok(maxAbsDiff(viaOnnx.final, viaTf.final) <= GOLDEN_TOLERANCE.trajectory);
  });

  // Shapes unlike the golden model: no in-context tokens, 3 heads, patch 4; and in-context tokens from block 1, 2 heads
  // of 16, patch 2, with a batch that changes between calls on one session.
  const others: { name: string; cfg: JiTConfig }[] = [
    { name: 'no in-context tokens, 3 heads of 32, patch 4', cfg: { inputSize: 16, patchSize: 4, inChannels: 3, hiddenSize: 96, depth: 3, numHeads: 3, mlpRatio: 4, bottleneckDim: 8, numClasses: 5, inContextLen: 0, inContextStart: 0, freezePatchEmbed: false } },
    { name: '3 in-context tokens from block 1, 2 heads of 16, patch 2, mlp ratio 2', cfg: { inputSize: 8, patchSize: 2, inChannels: 3, hiddenSize: 32, depth: 3, numHeads: 2, mlpRatio: 2, bottleneckDim: 4, numClasses: 3, inContextLen: 3, inContextStart: 1, freezePatchEmbed: false } },
  ];
  for (const { name, cfg } of others) {
    it(`matches the TF.js network on another configuration (${name}) at batch 1 and 5`, async () => {
      const weights = randomOfficialWeights(cfg, 7, 0.05);
      const net = await createJiTSession(cfg, weights);
      try {
        for (const batch of [5, 1]) {
          const { z, t, y } = randomInputs(cfg, batch, batch);
          const viaOnnx = await net.forward(z, t, y);
          const viaTf = await tfForward(cfg, weights, z, t, y);
          const err = scaledDiff(viaOnnx, viaTf);
          assert.ok(err <= FORWARD_TOL, `batch ${batch}: error ${err}`);
          assert.ok(viaTf.some((v) => Math.abs(v) > 1e-3), 'the perturbed weights give a non-trivial output');
        }
      } finally {
        await net.dispose();
      }
    });
  }

  it('converts eps- and v-prediction outputs through the shared toCleanImage, like the TF.js denoiser', async () => {
    const cfg = others[0].cfg;
    const weights = randomOfficialWeights(cfg, 3, 0.05);
    const { z, y } = randomInputs(cfg, 4, 4);
    const t = Float32Array.of(0.3, 0.5, 0.7, 0.9);
    const session = await createJiTSession(cfg, weights);
    const params = paramsFromOfficial(cfg, weights);
    const net = new JiTNetwork(cfg);
    const zt = tf.tensor4d(z, [4, 3, 16, 16]);
    const tt = tf.tensor1d(t);
    const yt = tf.tensor1d(y, 'int32');
    try {
      for (const target of ['eps', 'v'] as const) {
        const d = { target, tEps: 0.05 };
        const a = await new OnnxDenoiser(session, d).predictX(zt, tt, yt);
        const b = await new TfDenoiser(net, params, d).predictX(zt, tt, yt);
        const err = scaledDiff(await a.data(), await b.data());
        tf.dispose([a, b]);
        assert.ok(err <= 4 * FORWARD_TOL, `${target}: error ${err}`); // eps divides by t >= 0.3
      }
    } finally {
      tf.dispose([zt, tt, yt, ...params.values()]);
      net.dispose();
      await session.dispose();
    }
  });

  it('leaks no TF.js tensors per prediction', async () => {
    const cfg = others[0].cfg;
    const session = await createJiTSession(cfg, randomOfficialWeights(cfg, 1));
    const den = new OnnxDenoiser(session, { target: 'x', tEps: 0.05 });
    const { z, t, y } = randomInputs(cfg, 2, 2);
    const zt = tf.tensor4d(z, [2, 3, 16, 16]);
    const tt = tf.tensor1d(t);
    const yt = tf.tensor1d(y, 'int32');
    const once = async () => (await den.predictX(zt, tt, yt)).dispose();
    await once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await once();
    assert.strictEqual(tf.memory().numTensors, before);
    tf.dispose([zt, tt, yt]);
    await session.dispose();
  });

  it('keeps the weights in an external file when asked (models beyond protobuf limits) with identical output', async () => {
    const cfg = others[1].cfg;
    const weights = randomOfficialWeights(cfg, 5, 0.05);
    const { z, t, y } = randomInputs(cfg, 3, 3);
    const inline = await createJiTSession(cfg, weights);
    const external = await createJiTSession(cfg, weights, '', { externalWeightsAbove: 0 });
    try {
      assert.ok(maxAbsDiff(await external.forward(z, t, y), await inline.forward(z, t, y)) <= 1e-6);
    } finally {
      await inline.dispose();
      await external.dispose();
    }
  });

  it('rejects bad settings and mismatched weights with one clear sentence', () => {
    assert.throws(() => resolveProviders({ providers: ['gpu'] }), /^Error: Unknown ONNX Runtime execution provider "gpu": use cpu, cuda, .*JIT_ONNX_PROVIDERS=cuda,cpu\)\.$/);
    assert.deepStrictEqual(resolveProviders({ providers: [' CUDA', 'cpu'] }), ['cuda', 'cpu']);
    assert.throws(() => resolveThreads({ threads: 0 }), /threads must be a positive whole number/);
    const cfg = others[0].cfg;
    assert.throws(() => buildJiTModel({ ...cfg, hiddenSize: 48 }, randomOfficialWeights(cfg, 0)), /has shape \[.*\] but this model needs \[.*\]: the weights belong to another configuration\./);
  });

  it('moves down the execution provider list when one cannot start, and says why', async function () {
    if (onnxRuntimeStatus().providers.some((p) => p.name === 'cuda' && p.installed)) this.skip(); // a machine with the CUDA binaries
    const cfg = others[1].cfg;
    const net = await createJiTSession(cfg, randomOfficialWeights(cfg, 0), '', { providers: ['cuda', 'cpu'] });
    try {
      assert.strictEqual(net.provider, 'cpu');
      assert.strictEqual(net.notes.length, 1);
      assert.match(net.notes[0], /^the cuda execution provider did not start \(.+\)$/);
    } finally {
      await net.dispose();
    }
  });

  describe('sampling from a checkpoint', function () {
    // depth 3 with in-context tokens: the block they start at is inferred from a bare state dict as depth / 3 = 1
    const cfg: JiTConfig = { ...others[1].cfg, inContextLen: 2, inContextStart: 1 };
    let dir: string;
    let checkpoint: string;
    before(() => {
      dir = tempDir('jit-onnx-');
      checkpoint = path.join(dir, 'weights.safetensors');
      const weights = randomOfficialWeights(cfg, 11, 0.05);
      fs.writeFileSync(checkpoint, encodeSafetensors([...weights].map(([name, t]) => ({ name, shape: t.shape, data: t.data }))));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const request = (over: Partial<SampleRequest>): SampleRequest => ({
      checkpoint, n: 3, steps: 4, method: 'heun', cfgScale: 2, intervalMin: 0.1, intervalMax: 1, seed: 3, weights: 'online',
      out: path.join(dir, `${over.engine ?? 'auto'}-${Math.random().toString(36).slice(2)}.png`), ...over,
    });

    it('uses ONNX Runtime by default, reports it, and matches the TF.js engine', async () => {
      const viaOnnx = await sampleFromCheckpoint(request({}));
      assert.strictEqual(viaOnnx.engine.engine, 'onnx');
      assert.strictEqual(viaOnnx.engine.provider, 'cpu');
      assert.match(viaOnnx.engine.description, /^ONNX Runtime, cpu execution provider, \d+ threads?$/);
      const viaTf = await sampleFromCheckpoint(request({ engine: 'tfjs' }));
      assert.deepStrictEqual([viaTf.engine.engine, viaTf.engine.provider, viaTf.engine.notes], ['tfjs', 'wasm', []]);
      assert.ok(maxAbsDiff(viaOnnx.images, viaTf.images) <= GOLDEN_TOLERANCE.trajectory);
      assert.ok(fs.existsSync(viaOnnx.file));
    });

    it('reuses one session per checkpoint, weights copy and modification time', async () => {
      const load = () => { throw new Error('a cached session must not reload the weights'); };
      const first = await checkpointSession(checkpoint, 'online', {}, () => ({ model: cfg, weights: randomOfficialWeights(cfg, 11, 0.05) }));
      first.release();
      const again = await checkpointSession(checkpoint, 'online', {}, load);
      assert.strictEqual(again.net, first.net);
      again.release();
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(checkpoint, later, later);
      const changed = await checkpointSession(checkpoint, 'online', {}, () => ({ model: cfg, weights: randomOfficialWeights(cfg, 11, 0.05) }));
      assert.notStrictEqual(changed.net, first.net);
      changed.release();
    });

    it('falls back to TF.js with one clear message when the ONNX Runtime binding cannot load', async () => {
      const load = loadOnnxRuntime(notTheOnnxRuntime);
      assert.ok(!load.ok);
      assert.match(load.message, /^ONNX Runtime \(onnxruntime-node\) could not be loaded: Cannot find module '.*no-such-folder.*onnxruntime-node'$/);
      const r = await sampleFromCheckpoint(request({ engine: 'auto', onnx: { loader: notTheOnnxRuntime } }));
      assert.strictEqual(r.engine.engine, 'tfjs');
      assert.strictEqual(r.engine.notes.length, 1);
      assert.match(r.engine.notes[0], /^ONNX Runtime \(onnxruntime-node\) could not be loaded: Cannot find module .*; sampling with TensorFlow\.js instead\.$/);
      const viaTf = await sampleFromCheckpoint(request({ engine: 'tfjs' }));
      assert.deepStrictEqual(r.images, viaTf.images);
      await assert.rejects(sampleFromCheckpoint(request({ engine: 'onnx', onnx: { loader: notTheOnnxRuntime } })), /could not be loaded/);
    });
  });

  it('benchmarks forward passes on both engines with the same setup', async () => {
    const cfg = others[1].cfg;
    const onnx = await benchForward('onnx', cfg, 4, 0.05, { threads: 1 });
    const tfjs = await benchForward('tfjs', cfg, 4, 0.05);
    assert.match(onnx.description, /^ONNX Runtime, cpu execution provider, 1 thread$/);
    assert.strictEqual(tfjs.description, 'TensorFlow.js, wasm backend');
    for (const r of [onnx, tfjs]) {
      assert.ok(r.passes >= 1 && r.bestPassMs <= r.medianPassMs, JSON.stringify(r));
      assert.ok(Math.abs(r.imagesPerSecond - r.passesPerSecond * 4) <= 1e-9 * r.imagesPerSecond);
    }
    await assert.rejects(benchForward('onnx', cfg, 0, 1), /batch must be a positive whole number/);
  });

  it('disposes sessions the cache evicts once nobody uses them', async () => {
    const cfg = others[1].cfg;
    const cache = new SessionCache(1);
    const make = () => createJiTSession(cfg, randomOfficialWeights(cfg, 0));
    const { z, t, y } = randomInputs(cfg, 1, 0);
    const a = await cache.acquire('a', make);
    const b = await cache.acquire('b', make); // evicts a, which is still in use
    assert.strictEqual(cache.size, 1);
    await a.net.forward(z, t, y); // still usable by its holder
    a.release();
    await new Promise((r) => setImmediate(r));
    await assert.rejects(a.net.forward(z, t, y), /disposed/);
    b.release();
    cache.clear();
    await new Promise((r) => setImmediate(r));
    await assert.rejects(b.net.forward(z, t, y), /disposed/);
  });
});
