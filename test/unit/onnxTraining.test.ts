// Training on ONNX Runtime: the same steps as the TF.js reference (every target, with and without in-context tokens,
// a frozen patch embedding), exact resumes on ONNX Runtime and across engines, the NaN stop, flat memory, and the
// engine choice with its fallback.
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import type { JiTConfig, PredictionTarget } from '../../src/jit/config';
import * as fs from 'fs';
import * as path from 'path';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint';
import { createShapesDataset } from '../../src/train/data/shapes';
import type { Dataset } from '../../src/train/data/dataset';
import { createTrainer } from '../../src/train/engineChoice';
import { OnnxTrainer } from '../../src/train/onnxTrainer';
import { RunConfig, resolveRunConfig } from '../../src/io/runConfig';
import { TfjsTrainer } from '../../src/train/tfjsTrainer';
import { AdamW } from '../../src/train/adamw';
import { JIT_ADAMW, OPTIMIZER_ARRAYS, adamwStepScalars, compileAdamwEma, emaUpdateOf } from '../../src/jit/optim';
import { Rng } from '../../src/jit/random';
import { tfArith } from '../../src/jit/tfOps';
import { TrainingDiverged } from '../../src/train/trainer';
import { TrainerState } from '../../src/io/trainerState';
import { tempDir, useWasm } from './helpers';

/** A small JiT (16 px, patch 4, 2 in-context tokens from block 1) that trains in milliseconds. */
const SMALL: JiTConfig = { inputSize: 16, patchSize: 4, inChannels: 3, hiddenSize: 32, depth: 2, numHeads: 2, mlpRatio: 4, bottleneckDim: 8, numClasses: 8, inContextLen: 2, inContextStart: 1, freezePatchEmbed: false };

function config(model: Partial<JiTConfig> = {}, o: { target?: PredictionTarget; batch?: number; weightDecay?: number } = {}): RunConfig {
  const base = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, batch: o.batch ?? 6, steps: 100, warmupSteps: 2, target: o.target, weightDecay: o.weightDecay });
  return { ...base, model: { ...SMALL, ...model }, lr: 2e-3 };
}

/** The state as a resumed run gets it: written to a checkpoint file and read back. */
function roundTrip(cfg: RunConfig, state: TrainerState): TrainerState {
  const dir = tempDir();
  try {
    return loadCheckpoint(saveCheckpoint(path.join(dir, 'checkpoints'), cfg, state, 3)).state;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

async function losses(trainer: { trainStep(): Promise<{ loss: number }> }, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await trainer.trainStep()).loss);
  return out;
}

describe('training on ONNX Runtime', function () {
  this.timeout(300_000);
  before(useWasm);

  const variants: [string, Partial<JiTConfig>, { target?: PredictionTarget; weightDecay?: number }][] = [
    ['x-prediction with in-context tokens', {}, {}],
    ['eps-prediction without in-context tokens, 4 heads of 8', { inContextLen: 0, numHeads: 4 }, { target: 'eps' }],
    ['v-prediction, patch 8, mlp ratio 2', { patchSize: 8, mlpRatio: 2 }, { target: 'v' }],
    ['a frozen patch embedding and weight decay', { freezePatchEmbed: true }, { weightDecay: 0.05 }],
  ];
  for (const [name, model, o] of variants) {
    it(`takes the same steps as TF.js: ${name}`, async () => {
      const cfg = config(model, o);
      const data = createShapesDataset(cfg.model.inputSize);
      const a = new TfjsTrainer(cfg, data);
      const b = await OnnxTrainer.create(cfg, data);
      try {
        for (let i = 0; i < 5; i++) {
          const [ma, mb] = [await a.trainStep(), await b.trainStep()];
          assert.ok(rel(mb.loss, ma.loss) < 1e-4, `step ${i + 1}: loss ${mb.loss} vs ${ma.loss}`);
          assert.ok(rel(mb.gradNorm, ma.gradNorm) < 1e-3, `step ${i + 1}: gradient norm ${mb.gradNorm} vs ${ma.gradNorm}`);
        }
        const [wa, wb] = [await a.officialWeights('ema1'), await b.officialWeights('ema1')];
        for (const [k, t] of wa) {
          const u = wb.get(k)!;
          let worst = 0;
          for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - u.data[i]));
          assert.ok(worst < 1e-4, `${k}: EMA weights differ by ${worst}`);
          if (cfg.model.freezePatchEmbed && k.startsWith('net.x_embedder')) assert.deepStrictEqual(u.data, (await b.exportState()).online.get(k)!.data);
        }
      } finally {
        await a.dispose();
        await b.dispose();
      }
    });
  }

  it('gives per-step losses within 1e-4 of TF.js over 20 steps from the same weights and seed (32 px, patch 8, depth 3)', async () => {
    const cfg = { ...config({ inputSize: 32, patchSize: 8, hiddenSize: 64, depth: 3, numHeads: 4, bottleneckDim: 16, inContextLen: 4, inContextStart: 1 }), batch: 8 };
    const data = createShapesDataset(32);
    const a = new TfjsTrainer(cfg, data);
    const b = await OnnxTrainer.create(cfg, data);
    try {
      const [la, lb] = [await losses(a, 20), await losses(b, 20)];
      la.forEach((l, i) => assert.ok(rel(lb[i], l) < 1e-4, `step ${i + 1}: ${lb[i]} vs ${l}`));
      assert.ok(la[19] < la[0], 'the loss went down');
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  it('resumes exactly: 6 steps straight equal 3, a checkpoint, and 3 more (fixed threads)', async () => {
    const cfg = config();
    const data = createShapesDataset(16);
    const straight = await OnnxTrainer.create(cfg, data, undefined, { threads: 2 });
    const first = await OnnxTrainer.create(cfg, data, undefined, { threads: 2 });
    try {
      const all = await losses(straight, 6);
      const head = await losses(first, 3);
      const resumed = await OnnxTrainer.create(cfg, data, roundTrip(cfg, await first.exportState()), { threads: 2 });
      const tail = await losses(resumed, 3);
      assert.deepStrictEqual([...head, ...tail], all);
      const [w1, w2] = [(await straight.exportState()), (await resumed.exportState())];
      for (const section of ['online', 'ema1', 'ema2', 'adamM', 'adamV'] as const) {
        for (const [k, t] of w1[section]) assert.deepStrictEqual(w2[section].get(k)!.data, t.data, `${section} ${k}`);
      }
      assert.strictEqual(w2.adamStep, 6);
      await resumed.dispose();
    } finally {
      await straight.dispose();
      await first.dispose();
    }
  });

  it('resumes across engines: TF.js -> ONNX Runtime and back, with the losses of a straight run', async () => {
    const cfg = config();
    const data = createShapesDataset(16);
    const straight = new TfjsTrainer(cfg, data);
    const all = await losses(straight, 6);
    await straight.dispose();
    const onTf = new TfjsTrainer(cfg, data);
    const head = await losses(onTf, 2);
    const onOnnx = await OnnxTrainer.create(cfg, data, roundTrip(cfg, await onTf.exportState()));
    const mid = await losses(onOnnx, 2);
    const backOnTf = new TfjsTrainer(cfg, data, roundTrip(cfg, await onOnnx.exportState()));
    const tail = await losses(backOnTf, 2);
    [...head, ...mid, ...tail].forEach((l, i) => assert.ok(rel(l, all[i]) < 1e-4, `step ${i + 1}: ${l} vs ${all[i]}`));
    assert.strictEqual(backOnTf.step, 6);
    assert.strictEqual(backOnTf.opt.step, 6);
    await Promise.all([onTf.dispose(), onOnnx.dispose(), backOnTf.dispose()]);
  });

  it('stops on a non-finite loss without touching the weights, moments or EMA copies', async () => {
    const cfg = config();
    const good = createShapesDataset(16);
    let poison = false;
    const data: Dataset = { ...good, describe: () => good.describe(), batch: (rng, n) => {
      const b = good.batch(rng, n);
      if (poison) b.images[0] = NaN;
      return b;
    } };
    const trainer = await OnnxTrainer.create(cfg, data);
    try {
      await losses(trainer, 2);
      const before = await trainer.exportState();
      poison = true;
      await assert.rejects(trainer.trainStep(), (e: unknown) => e instanceof TrainingDiverged && e.step === 3 && /loss became NaN/.test(e.message));
      const after = await trainer.exportState();
      assert.strictEqual(after.step, 2);
      assert.strictEqual(after.adamStep, 2);
      for (const section of ['online', 'ema1', 'ema2', 'adamM', 'adamV'] as const) {
        for (const [k, t] of before[section]) assert.deepStrictEqual(after[section].get(k)!.data, t.data, `${section} ${k}`);
      }
    } finally {
      await trainer.dispose();
    }
  });

  it('keeps its memory flat over 200 steps and makes no TF.js tensors', async () => {
    const cfg = config({}, { batch: 4 });
    const trainer = await OnnxTrainer.create(cfg, createShapesDataset(16));
    const tensors = tf.memory().numTensors;
    try {
      await losses(trainer, 20);
      global.gc?.();
      const warm = process.memoryUsage.rss();
      await losses(trainer, 180);
      global.gc?.();
      const end = process.memoryUsage.rss();
      assert.ok(end < warm * 1.05, `resident memory grew from ${(warm / 2 ** 20).toFixed(1)} MiB to ${(end / 2 ** 20).toFixed(1)} MiB`);
      assert.strictEqual(tf.memory().numTensors, tensors);
    } finally {
      await trainer.dispose();
    }
  });

  it('runs AdamW and both EMAs as one fused loop with the results of the TF.js AdamW (weight decay on and off)', async () => {
    const rng = new Rng('fused');
    const n = 1000;
    for (const weightDecay of [0, 0.1]) {
      const c = { ...JIT_ADAMW, weightDecay };
      const arrays = Object.fromEntries(OPTIMIZER_ARRAYS.map((a) => [a, rng.fillNormal(new Float32Array(n))])) as Record<(typeof OPTIMIZER_ARRAYS)[number], Float32Array>;
      arrays.v = arrays.v.map(Math.abs);
      const p = tf.variable(tf.tensor(arrays.params, [10, 100]));
      const opt = new AdamW(new Map([['net.w', p]]), c);
      opt.m.get('net.w')!.assign(tf.tensor(arrays.m, [10, 100]));
      opt.v.get('net.w')!.assign(tf.tensor(arrays.v, [10, 100]));
      opt.step = 4;
      const e1 = tf.tensor(arrays.ema1, [10, 100]);
      opt.apply(new Map([['net.w', tf.tensor(arrays.grads, [10, 100])]]), 3e-3);
      const ema1 = emaUpdateOf<tf.Tensor>(tfArith, e1, p, 0.99);
      const k = adamwStepScalars(c, 5, 3e-3);
      compileAdamwEma(c, [0.99, 0.9])(arrays, k, 0, n);
      const close = async (a: Float32Array, t: tf.Tensor, what: string) => {
        const b = (await t.data()) as Float32Array;
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(b[i])));
        assert.ok(worst < 1e-5, `${what} (weight decay ${weightDecay}): relative difference ${worst}`);
      };
      await close(arrays.params, p, 'weights');
      await close(arrays.m, opt.m.get('net.w')!, 'first moment');
      await close(arrays.v, opt.v.get('net.w')!, 'second moment');
      await close(arrays.ema1, ema1, 'EMA');
      tf.dispose([p, e1, ema1]);
      opt.dispose();
    }
  });

  it('auto: trains on ONNX Runtime, on TF.js when TF.js has a GPU, and on TF.js with one message when ONNX Runtime does not load', async () => {
    const cfg = config();
    const data = createShapesDataset(16);
    const onnx = await createTrainer(cfg, data, undefined, { setting: 'auto', tfjsOnGpu: false });
    assert.strictEqual(onnx.trainer.engine, 'onnx');
    assert.match(onnx.trainer.describe(), /^ONNX Runtime, cpu execution provider, \d+ threads?$/);
    assert.deepStrictEqual(onnx.notes, []);
    await onnx.trainer.dispose();
    const gpu = await createTrainer(cfg, data, undefined, { setting: 'auto', tfjsOnGpu: true });
    assert.strictEqual(gpu.trainer.engine, 'tfjs');
    await gpu.trainer.dispose();
    const broken = { loader: () => { throw new Error('libonnxruntime.so.1: cannot open shared object file'); } };
    const fallback = await createTrainer(cfg, data, undefined, { setting: 'auto', tfjsOnGpu: false, onnx: broken });
    assert.strictEqual(fallback.trainer.engine, 'tfjs');
    assert.deepStrictEqual(fallback.notes, ['Training on TensorFlow.js: ONNX Runtime did not start (ONNX Runtime (onnxruntime-node) could not be loaded: libonnxruntime.so.1: cannot open shared object file).']);
    await fallback.trainer.dispose();
    await assert.rejects(createTrainer(cfg, data, undefined, { setting: 'onnx', tfjsOnGpu: false, onnx: broken }), /^Error: ONNX Runtime cannot train this run: ONNX Runtime \(onnxruntime-node\) could not be loaded/);
  });
});
