import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { JiTConfig } from '../../src/jit/config';
import { JiTNetwork } from '../../src/jit/model';
import { initParams, paramSpecs } from '../../src/jit/params';
import { Rng } from '../../src/jit/random';
import { Denoiser, guidanceAt, initialNoise, sample } from '../../src/jit/sampler';
import { createShapesDataset } from '../../src/train/data/shapes';
import { resolveRunConfig } from '../../src/io/runConfig';
import { AdamW } from '../../src/train/adamw';
import { runTraining } from '../../src/run/loop';
import { TfjsTrainer } from '../../src/train/tfjsTrainer';
import { tempDir, useWasm } from './helpers';

/** The ideal x-predictor for data ~ N(mu, s^2) per pixel, with z = t x + (1 - t) e, e ~ N(0, 1). */
class GaussianPosterior implements Denoiser {
  evals = 0;
  constructor(private readonly mu: number, private readonly s: number) {}
  async predictX(z: tf.Tensor4D, t: tf.Tensor1D): Promise<tf.Tensor4D> {
    this.evals++;
    return tf.tidy(() => {
      const ts = tf.reshape(t, [-1, 1, 1, 1]);
      const s2 = this.s * this.s;
      // E[x | z] = mu + t s^2 / (t^2 s^2 + (1 - t)^2) (z - t mu)
      const gain = tf.div(tf.mul(ts, s2), tf.add(tf.mul(tf.square(ts), s2), tf.square(tf.sub(1, ts))));
      return tf.add(this.mu, tf.mul(gain, tf.sub(z, tf.mul(ts, this.mu)))) as tf.Tensor4D;
    });
  }
}

function meanStd(a: Float32Array): { mean: number; std: number } {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let v2 = 0;
  for (const v of a) v2 += (v - m) ** 2;
  return { mean: m, std: Math.sqrt(v2 / a.length) };
}

const TINY: JiTConfig = { inputSize: 16, patchSize: 4, inChannels: 3, hiddenSize: 32, depth: 3, numHeads: 2, mlpRatio: 4, bottleneckDim: 8, numClasses: 4, inContextLen: 2, inContextStart: 1, freezePatchEmbed: false };

describe('sampler', () => {
  before(useWasm);

  it('turns noise into N(mu, s^2) with 50 Heun steps of the analytic denoiser', async () => {
    const mu = 0.3;
    const s = 0.5;
    const n = 8 * 3 * 16 * 16; // 6144 independent pixels
    const den = new GaussianPosterior(mu, s);
    const z0 = tf.tensor4d(initialNoise(new Rng(1), n, 1), [8, 3, 16, 16]);
    const before = tf.memory().numTensors;
    const out = await sample(den, z0, new Int32Array(8), { steps: 50, method: 'heun', cfgScale: 1, intervalMin: 0.1, intervalMax: 1, tEps: 0.05, numClasses: 4 });
    assert.strictEqual(tf.memory().numTensors, before, 'a sampling run leaves no tensors behind');
    z0.dispose();
    const { mean, std } = meanStd(out);
    const se = s / Math.sqrt(n);
    assert.ok(Math.abs(mean - mu) < 4 * se, `mean ${mean} vs ${mu} (4 standard errors = ${4 * se})`);
    // The official t_eps clamp of the velocity near t = 1 perturbs the last steps slightly; 3% covers it and sampling error.
    assert.ok(Math.abs(std - s) / s < 0.03, `std ${std} vs ${s}`);
    assert.strictEqual(den.evals, 2 * 49 + 1, 'Heun: two evaluations per step, one for the final Euler step');
  });

  it('uses Euler throughout when asked, one evaluation per step', async () => {
    const den = new GaussianPosterior(0, 1);
    const z0 = tf.tensor4d(initialNoise(new Rng(2), 3 * 8 * 8, 1), [1, 3, 8, 8]);
    await sample(den, z0, new Int32Array(1), { steps: 10, method: 'euler', cfgScale: 1, intervalMin: 0.1, intervalMax: 1, tEps: 0.05, numClasses: 1 });
    z0.dispose();
    assert.strictEqual(den.evals, 10);
  });

  it('applies guidance only inside the interval, as the official mask (t < max and (min == 0 or t > min))', () => {
    const o = { cfgScale: 3, intervalMin: 0.1, intervalMax: 1.0 };
    assert.strictEqual(guidanceAt(0, o), 1);
    assert.strictEqual(guidanceAt(0.1, o), 1);
    assert.strictEqual(guidanceAt(0.5, o), 3);
    assert.strictEqual(guidanceAt(1.0, o), 1);
    assert.strictEqual(guidanceAt(0, { ...o, intervalMin: 0 }), 3);
  });

  it('gives the observer z, x_hat, v and both Heun slopes at every step without extra evaluations', async () => {
    const den = new GaussianPosterior(0.1, 0.7);
    const z0 = tf.tensor4d(initialNoise(new Rng(3), 2 * 3 * 8 * 8, 1), [2, 3, 8, 8]);
    const recs: { step: number; hasNext: boolean; t: number }[] = [];
    await sample(den, z0, new Int32Array(2), { steps: 6, method: 'heun', cfgScale: 1, intervalMin: 0.1, intervalMax: 1, tEps: 0.05, numClasses: 1 }, (r) => {
      assert.strictEqual(r.z.length, 2 * 3 * 8 * 8);
      assert.strictEqual(r.xPred.length, r.z.length);
      // x_hat = z + (1 - t) v when 1 - t >= t_eps
      const i = 5;
      assert.ok(Math.abs(r.xPred[i] - (r.z[i] + Math.max(1 - r.t, 0.05) * r.v[i])) < 1e-5);
      recs.push({ step: r.step, hasNext: !!r.vNext, t: r.t });
    });
    z0.dispose();
    assert.deepStrictEqual(recs.map((r) => r.step), [0, 1, 2, 3, 4, 5]);
    assert.deepStrictEqual(recs.map((r) => r.hasNext), [true, true, true, true, true, false]);
    assert.strictEqual(den.evals, 11);
  });
});

describe('sampler failures', () => {
  before(useWasm);

  it('releases every tensor when the observer throws or the run is cancelled', async () => {
    const z0 = tf.tensor4d(initialNoise(new Rng(4), 2 * 3 * 8 * 8, 1), [2, 3, 8, 8]);
    const opts = { steps: 5, method: 'heun' as const, cfgScale: 2, intervalMin: 0.1, intervalMax: 1, tEps: 0.05, numClasses: 1 };
    const before = tf.memory().numTensors;
    await assert.rejects(sample(new GaussianPosterior(0, 1), z0, new Int32Array(2), opts, (r) => {
      if (r.step === 2) throw new Error('observer failed');
    }), /observer failed/);
    assert.strictEqual(tf.memory().numTensors, before);
    const ctl = new AbortController();
    await assert.rejects(sample(new GaussianPosterior(0, 1), z0, new Int32Array(2), opts, (r) => {
      if (r.step === 1) ctl.abort();
    }, ctl.signal), /cancelled/);
    assert.strictEqual(tf.memory().numTensors, before);
    z0.dispose();
  });
});

describe('model', () => {
  before(useWasm);

  it('outputs zeros at the official initialisation (adaLN-Zero and a zero head)', () => {
    const p = initParams(TINY, 0);
    const net = new JiTNetwork(TINY);
    const out = tf.tidy(() => net.forward(p, tf.randomNormal([2, 3, 16, 16]), tf.tensor1d([0.2, 0.8]), tf.tensor1d([1, 4], 'int32')));
    assert.strictEqual(tf.max(tf.abs(out)).dataSync()[0], 0);
    tf.dispose([out, ...p.values()]);
    net.dispose();
  });

  it('patchify and unpatchify are inverse when the token layouts agree', () => {
    const net = new JiTNetwork({ ...TINY, inChannels: 1 }); // one channel: (c, kh, kw) and (kh, kw, c) coincide
    const x = tf.randomNormal([2, 1, 16, 16]) as tf.Tensor4D;
    const back = tf.tidy(() => net.unpatchify(net.patchify(x)));
    assert.ok(tf.max(tf.abs(tf.sub(back, x))).dataSync()[0] === 0);
    tf.dispose([x, back]);
    net.dispose();
  });

  it('names every tensor as the official state dict, with the paper-sized parameter counts', () => {
    const names = paramSpecs(TINY).map((s) => s.name);
    assert.ok(names.includes('net.blocks.2.attn.qkv.weight'));
    assert.ok(names.includes('net.final_layer.adaLN_modulation.1.bias'));
    assert.strictEqual(new Set(names).size, names.length);
  });
});

describe('training', function () {
  before(useWasm);

  it('trains JiT-Ti/16 on the built-in shapes: the loss falls by a clear margin over 200 steps', async () => {
    const cfg = resolveRunConfig({ preset: 'JiT-Ti/16', numClasses: 8, steps: 200, batch: 8, seed: 1 });
    const tr = new TfjsTrainer(cfg, createShapesDataset(64));
    const losses: number[] = [];
    for (let i = 0; i < 200; i++) losses.push((await tr.trainStep()).loss);
    await tr.dispose();
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const first = mean(losses.slice(0, 20));
    const last = mean(losses.slice(-20));
    console.log(`      loss: first 20 steps ${first.toFixed(4)}, last 20 steps ${last.toFixed(4)}`);
    assert.ok(last < 0.75 * first, `loss fell from ${first} to ${last}`);
  });

  it('leaks no tensors over 20 training steps', async () => {
    const cfg = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 30, batch: 2 });
    const tr = new TfjsTrainer(cfg, createShapesDataset(32));
    await tr.trainStep();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await tr.trainStep();
    assert.strictEqual(tf.memory().numTensors, before);
    const b2 = tf.memory().numTensors;
    await tr.sampleImages({ n: 2, seed: 0, weights: 'ema1', sampler: { steps: 3, method: 'heun', cfgScale: 2, intervalMin: 0.1, intervalMax: 1 } });
    assert.strictEqual(tf.memory().numTensors, b2);
    await tr.dispose();
  });

  it("reports the process's resident memory with every step", async () => {
    const cfg = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 5, batch: 2 });
    const tr = new TfjsTrainer(cfg, createShapesDataset(32));
    const m = await tr.trainStep();
    const now = process.memoryUsage().rss / 2 ** 20;
    assert.ok(m.rssMB !== undefined && m.rssMB > 0.5 * now && m.rssMB < 2 * now, `rssMB ${m.rssMB} against ${now} MiB now`);
    await tr.dispose();
  });

  it('releases every tensor when a trainer is disposed', async () => {
    const before = tf.memory().numTensors;
    const cfg = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 5, batch: 2 });
    const tr = new TfjsTrainer(cfg, createShapesDataset(32));
    await tr.trainStep();
    await tr.dispose();
    assert.strictEqual(tf.memory().numTensors, before);
  });

  it('keeps the patch embedding fixed when frozen, and trains it by default', async () => {
    for (const freeze of [true, false]) {
      const cfg = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 5, batch: 2, freezePatchEmbed: freeze });
      const tr = new TfjsTrainer(cfg, createShapesDataset(32));
      const w0 = tr.params.get('net.x_embedder.proj1.weight')!.dataSync().slice();
      for (let i = 0; i < 3; i++) await tr.trainStep();
      const w1 = tr.params.get('net.x_embedder.proj1.weight')!.dataSync();
      const changed = w1.some((v, i) => v !== w0[i]);
      assert.strictEqual(changed, !freeze, freeze ? 'frozen proj1 must not change' : 'trainable proj1 must change');
      await tr.dispose();
    }
  });

  it('trains the eps and v prediction targets with the v-loss', async () => {
    for (const target of ['eps', 'v'] as const) {
      const cfg = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 5, batch: 2, target });
      const tr = new TfjsTrainer(cfg, createShapesDataset(32));
      const m = await tr.trainStep();
      assert.ok(Number.isFinite(m.loss) && m.loss > 0, `${target}: loss ${m.loss}`);
      await tr.dispose();
    }
  });

  it('is deterministic from the seed', async () => {
    const run = async () => {
      const cfg = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 5, batch: 2, seed: 7 });
      const tr = new TfjsTrainer(cfg, createShapesDataset(32));
      const l = [(await tr.trainStep()).loss, (await tr.trainStep()).loss];
      await tr.dispose();
      return l;
    };
    assert.deepStrictEqual(await run(), await run());
  });
});

describe('AdamW (torch.optim.AdamW)', () => {
  before(useWasm);
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);
  const run = (weightDecay: number, steps: [number, number][]) => {
    const params = new Map<string, tf.Variable>([['w', tf.variable(tf.tensor2d([[1]]))], ['b', tf.variable(tf.tensor1d([2]))]]);
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay });
    const out: number[][] = [];
    for (const [gw, gb] of steps) {
      tf.tidy(() => opt.apply(new Map<string, tf.Tensor>([['w', tf.tensor2d([[gw]])], ['b', tf.tensor1d([gb])]]), 0.1));
      out.push([params.get('w')!.dataSync()[0], params.get('b')!.dataSync()[0]]);
    }
    opt.dispose();
    tf.dispose([...params.values()]);
    return out;
  };

  it('takes bias-corrected steps: lr x sign(g) first, then lr x m^/sqrt(v^)', () => {
    const [[w1, b1], [w2, b2]] = run(0, [[3, -0.5], [-3, 0.5]]);
    // m^ = g and v^ = g^2 after one step: a step of lr against the gradient's sign, whatever its size.
    near(w1, 0.9, 'w after step 1');
    near(b1, 2.1, 'b after step 1');
    // m = 0.9 * 0.1 g1 + 0.1 g2 = -0.01 g1, m^ = m / 0.19; v = (0.95 * 0.05 + 0.05) g^2, so v^ = g^2.
    near(w2, 0.9 + 0.1 * (0.01 / 0.19), 'w after step 2');
    near(b2, 2.1 - 0.1 * (0.01 / 0.19), 'b after step 2');
  });

  it('decays weights but not biases and 1-D tensors (the official groups)', () => {
    const [[w, b]] = run(0.5, [[1, 1]]);
    near(w, 1 * (1 - 0.1 * 0.5) - 0.1, 'decayed weight');
    near(b, 1.9, 'bias without decay');
  });
});

describe('training previews', function () {
  this.timeout(300_000);
  before(useWasm);

  for (const [engine, expected] of [['auto', /^ONNX Runtime, cpu execution provider/], ['tfjs', /^TensorFlow\.js, wasm backend$/]] as const) {
    it(`samples each preview grid with ${engine === 'auto' ? 'ONNX Runtime when it starts' : 'TF.js when asked'} and records which`, async () => {
      const root = tempDir();
      const before = tf.memory().numTensors;
      const r = await runTraining({
        runsRoot: root, workers: 0, previewEngine: engine,
        overrides: { preset: 'JiT-Ti/4', steps: 2, batch: 2, sampleEvery: 1, checkpointEvery: 2, preview: { n: 2, steps: 2 } },
      });
      assert.strictEqual(tf.memory().numTensors, before, 'no tensors left behind');
      const lines = fs.readFileSync(path.join(r.runDir, 'samples', 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepStrictEqual(lines.map((l) => l.step), [1, 2]);
      for (const l of lines) {
        assert.match(l.engine, expected);
        assert.ok(fs.statSync(path.join(r.runDir, 'samples', l.file)).size > 0);
      }
    });
  }
});
