import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { TrajectoryRecorder, compareEulerHeun, packTrajectory, pathOf, pcaPaths, Trajectory } from '../../src/analysis/trajectory';
import { GoldenSpec, loadGolden } from '../../src/tasks/verifyGolden';
import { unpackTensor } from '../../src/wire/tensorPack';
import { TfDenoiser } from '../../src/jit/denoiser';
import { JiTNetwork } from '../../src/jit/model';
import { paramsFromOfficial, TensorMap } from '../../src/jit/params';
import { Rng } from '../../src/jit/random';
import { SamplerOptions, guidanceAt, sample } from '../../src/jit/sampler';
import { GOLDEN, useWasm } from './helpers';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length, 'same length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function rms(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / a.length);
}

describe('trajectory recorder on the golden model (jit-tiny-a)', function () {
  let g: GoldenSpec;
  let net: JiTNetwork;
  let params: TensorMap;
  let den: TfDenoiser;
  let z0: tf.Tensor4D;
  let labels: Int32Array;
  let settings: Omit<SamplerOptions, 'method' | 'steps'>;
  let heun: Trajectory;

  before(async () => {
    await useWasm();
    // The denoiser as verifyGolden builds it.
    g = loadGolden(GOLDEN);
    net = new JiTNetwork(g.config);
    params = paramsFromOfficial(g.config, g.tensors, '');
    den = new TfDenoiser(net, params, { target: 'x', tEps: g.diffusion.tEps });
    const z = g.tensors.get('case.sample.z0')!;
    z0 = tf.tensor4d(z.data, z.shape as [number, number, number, number]);
    labels = Int32Array.from(g.tensors.get('case.sample.labels')!.data);
    settings = { cfgScale: g.diffusion.cfg, intervalMin: g.diffusion.intervalMin, intervalMax: g.diffusion.intervalMax, tEps: g.diffusion.tEps, numClasses: g.config.numClasses };
    const rec = new TrajectoryRecorder(z.shape[0]);
    const before = tf.memory().numTensors;
    await sample(den, z0, labels, { ...settings, method: 'heun', steps: g.diffusion.steps }, rec.observer);
    assert.strictEqual(tf.memory().numTensors, before, 'recording leaves no tensors behind');
    heun = rec.result();
  });

  after(() => {
    z0.dispose();
    net.dispose();
    tf.dispose([...params.values()]);
  });

  it('records z_t at every step equal to the official Heun trajectory', () => {
    const ref = g.tensors.get('case.sample.heun.trajectory')!; // [steps + 1, B, 3, H, W]
    assert.deepStrictEqual(heun.imageShape, ref.shape.slice(2));
    assert.deepStrictEqual(heun.indices, [0, 1, 2]);
    assert.strictEqual(heun.z.length, ref.data.length);
    const d = maxAbsDiff(heun.z, ref.data);
    assert.ok(d <= 1e-3, `max |d| = ${d}`);
    assert.strictEqual(heun.xPred.length, g.diffusion.steps * 3 * 3 * 32 * 32);
  });

  it('records t, the method, where guidance was active, |v| and the Heun correction of every step', () => {
    const S = g.diffusion.steps;
    assert.deepStrictEqual(heun.steps.map((s) => s.t), Array.from({ length: S }, (_, i) => i / S));
    assert.deepStrictEqual(heun.steps.map((s) => s.method), [...new Array(S - 1).fill('heun'), 'euler']);
    assert.deepStrictEqual(heun.steps.map((s) => s.cfgActive), heun.steps.map((s) => guidanceAt(s.t, settings) !== 1));
    assert.strictEqual(heun.steps[0].cfgActive, false, 'the interval (0.1, 1) leaves t = 0 unguided');
    assert.strictEqual(heun.steps[S - 1].heunCorrectionRms, null, 'the last step is Euler: no correction');
    // Check the statistics against the states: with v = (x_hat - z) / (1 - t), Heun's z' = z + dt (v + v') / 2
    // gives v' - v = 2 ((z' - z) / dt - v); the final Euler step gives v = (z' - z) / dt.
    const per = 3 * 32 * 32;
    const K = 3;
    for (const s of heun.steps) {
      const dt = s.tNext - s.t;
      for (let k = 0; k < K; k++) {
        const z = heun.z.subarray((s.step * K + k) * per, (s.step * K + k + 1) * per);
        const zNext = heun.z.subarray(((s.step + 1) * K + k) * per, ((s.step + 1) * K + k + 1) * per);
        const x = heun.xPred.subarray((s.step * K + k) * per, (s.step * K + k + 1) * per);
        const v = z.map((zi, i) => (x[i] - zi) / Math.max(1 - s.t, settings.tEps));
        const slope = z.map((zi, i) => (zNext[i] - zi) / dt);
        if (s.method === 'heun') {
          const rmsV = rms(v);
          assert.ok(Math.abs(s.vRms[k] - rmsV) <= 1e-4 * (1 + rmsV), `|v| step ${s.step}: ${s.vRms[k]} vs ${rmsV}`);
          const corr = rms(slope.map((sl, i) => 2 * (sl - v[i])));
          assert.ok(Math.abs(s.heunCorrectionRms![k] - corr) <= 1e-3 * (1 + corr), `correction step ${s.step}: ${s.heunCorrectionRms![k]} vs ${corr}`);
        } else {
          assert.ok(Math.abs(s.vRms[k] - rms(slope)) <= 1e-3 * (1 + rms(slope)), `|v| of the Euler step: ${s.vRms[k]} vs ${rms(slope)}`);
        }
      }
    }
  });

  it('records only the chosen images, in the order asked', async () => {
    const rec = new TrajectoryRecorder(3, { indices: [2, 0] });
    await sample(den, z0, labels, { ...settings, method: 'heun', steps: g.diffusion.steps }, rec.observer);
    const t = rec.result();
    assert.deepStrictEqual(t.indices, [2, 0]);
    assert.ok(maxAbsDiff(pathOf(t, 0), pathOf(heun, 2)) === 0 && maxAbsDiff(pathOf(t, 1), pathOf(heun, 0)) === 0);
    assert.deepStrictEqual(t.steps.map((s) => s.vRms), heun.steps.map((s) => [s.vRms[2], s.vRms[0]]));
  });

  it('compares Euler and Heun from the same noise at an equal number of network evaluations', async () => {
    const c = await compareEulerHeun(den, z0, labels, settings, g.diffusion.steps, { indices: [1] });
    assert.deepStrictEqual([c.heun.steps, c.heun.evaluations], [6, 11]);
    assert.deepStrictEqual([c.euler.steps, c.euler.evaluations], [11, 11]);
    assert.strictEqual(c.euler.trajectory.steps.length, 11);
    assert.ok(c.euler.trajectory.steps.every((s) => s.method === 'euler' && s.heunCorrectionRms === null));
    assert.ok(maxAbsDiff(pathOf(c.heun.trajectory, 0), pathOf(heun, 1)) === 0, 'the Heun run is the recorded one');
    assert.ok(maxAbsDiff(c.euler.trajectory.z.subarray(0, 3 * 32 * 32), pathOf(heun, 1).subarray(0, 3 * 32 * 32)) === 0, 'both start from the same noise');
    const per = 3 * 32 * 32;
    const diff = rms(c.heun.images.subarray(per, 2 * per).map((v, i) => v - c.euler.images[per + i]));
    assert.ok(Math.abs(c.finalRmsDifference[0] - diff) < 1e-6 && diff > 0, `final difference ${c.finalRmsDifference[0]} vs ${diff}`);
  });

  it('packs the frames into one buffer with an offset table', () => {
    const { meta, pack } = packTrajectory(heun);
    assert.deepStrictEqual(meta.steps, heun.steps);
    const z = unpackTensor(pack, 'z', 'float32');
    const x = unpackTensor(pack, 'xPred', 'float32');
    assert.deepStrictEqual(z.shape, [7, 3, 3, 32, 32]);
    assert.deepStrictEqual(x.shape, [6, 3, 3, 32, 32]);
    assert.ok(maxAbsDiff(z.data, heun.z) === 0 && maxAbsDiff(x.data, heun.xPred) === 0);
    assert.ok(JSON.stringify(meta).length < 10_000, 'the rest is small JSON');
  });

  it('rejects a recorder used for the wrong run with one clear sentence', async () => {
    assert.throws(() => new TrajectoryRecorder(3, { indices: [3] }), /batch positions 0-2/);
    assert.throws(() => new TrajectoryRecorder(2).result(), /Nothing was recorded/);
    const rec = new TrajectoryRecorder(3);
    await sample(den, z0, labels, { ...settings, method: 'euler', steps: 1 }, rec.observer);
    await assert.rejects(sample(den, z0, labels, { ...settings, method: 'euler', steps: 1 }, rec.observer), /one recorder per sampling run/);
  });
});

describe('PCA of trajectories', () => {
  it('projects paths lying in a plane without distorting them, one fit over all paths', () => {
    const rng = new Rng('paths');
    const dim = 50;
    const u = Array.from({ length: dim }, () => rng.normal());
    const w = Array.from({ length: dim }, () => rng.normal());
    const origin = Array.from({ length: dim }, () => rng.normal());
    // Two paths in the plane origin + a u + b w, of different lengths.
    const planar = [[[0, 0], [1, 0.5], [2, 0.7], [2.5, 2]], [[3, -1], [1, -2], [0, 1]]];
    const paths = planar.map((pts) => Float32Array.from(pts.flatMap(([a, b]) => origin.map((o, j) => o + a * u[j] + b * w[j]))));
    const out = pcaPaths(paths, dim);
    assert.deepStrictEqual(out.paths.map((p) => p.length), [8, 6]);
    assert.ok(Math.abs(out.explainedRatio[0] + out.explainedRatio[1] - 1) < 1e-6, 'all the variance lies in the plane');
    const states = planar.flat().map(([a, b]) => origin.map((o, j) => o + a * u[j] + b * w[j]));
    const xy = out.paths.flatMap((p) => Array.from({ length: p.length / 2 }, (_, f) => [p[2 * f], p[2 * f + 1]]));
    for (let i = 0; i < states.length; i++) {
      for (let j = 0; j < i; j++) {
        const d = Math.hypot(...states[i].map((v, k) => v - states[j][k]));
        const e = Math.hypot(xy[i][0] - xy[j][0], xy[i][1] - xy[j][1]);
        assert.ok(Math.abs(d - e) < 1e-3 * (1 + d), `distance ${i}-${j}: ${e} vs ${d}`);
      }
    }
    assert.throws(() => pcaPaths([new Float32Array(7)], dim), /whole states of 50 values/);
  });
});
