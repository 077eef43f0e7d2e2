import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { spawnSync } from 'child_process';
import { PatchCoder, analyseBottleneck, basisPatches, bottleneckSpectrum, decodeFromCodes, latentImages, pcaReconstruction } from '../../src/analysis/bottleneck';
import { cfgEmaGrid } from '../../src/analysis/grid';
import {
  Matrix, effectiveRank, matrix, multiply, pca, pcaProject, singularValues, symmetricEigen, transpose,
} from '../../src/analysis/linalg';
import { loadGolden } from '../../src/tasks/verifyGolden';
import { sampleFromCheckpoint } from '../../src/tasks/sampleCheckpoint';
import { unpackTensor } from '../../src/wire/tensorPack';
import { gridView } from '../../src/engine/views';
import { gridCellRequest, sampleCommandLine } from '../../src/extension/gridCells';
import { saveCheckpoint } from '../../src/io/checkpoint';
import { JiTConfig } from '../../src/jit/config';
import { Rng } from '../../src/jit/random';
import { createShapesDataset } from '../../src/train/data/shapes';
import { resolveRunConfig } from '../../src/io/runConfig';
import { TfjsTrainer } from '../../src/train/tfjsTrainer';
import { GOLDEN, tempDir, useWasm } from './helpers';

// ---------------------------------------------------------------------------------------------------------
// Constructions with known answers

function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  return matrix(rows, cols, Array.from({ length: rows * cols }, () => rng.normal()));
}

function randomSymmetric(rng: Rng, n: number): Matrix {
  const a = randomMatrix(rng, n, n);
  return matrix(n, n, a.data.map((_, k) => (a.data[k] + a.data[(k % n) * n + Math.floor(k / n)]) / 2));
}

/** The first k columns of a random orthogonal n x n matrix (a product of Householder reflections), as rows [k, n]. */
function orthonormalRows(rng: Rng, k: number, n: number): Matrix {
  let q = matrix(n, n, Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)));
  for (let r = 0; r < 3; r++) {
    const u = Array.from({ length: n }, () => rng.normal());
    const uu = u.reduce((a, v) => a + v * v, 0);
    const h = matrix(n, n, Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0) - (2 * u[Math.floor(i / n)] * u[i % n]) / uu));
    q = multiply(q, h);
  }
  return matrix(k, n, q.data.subarray(0, k * n));
}

/** Sylvester's Hadamard matrix [n, n] (n a power of 2): entries +-1, orthogonal columns, columns 1.. sum to 0. */
function hadamard(n: number): Matrix {
  let h = [[1]];
  while (h.length < n) h = [...h.map((r) => [...r, ...r]), ...h.map((r) => [...r, ...r.map((v) => -v)])];
  return matrix(n, n, h.flat());
}

/**
 * n rows = mean + sum_i H[:, i + 1] s_i u_i: exactly zero-mean, uncorrelated coefficients, so the sample covariance
 * is exactly sum_i s_i^2 n / (n - 1) u_i u_i^T.
 */
function dataWithKnownPca(rng: Rng, n: number, dim: number, stds: number[]): { x: Matrix; dirs: Matrix; mean: number[]; variances: number[] } {
  const dirs = orthonormalRows(rng, stds.length, dim);
  const h = hadamard(n);
  const mean = Array.from({ length: dim }, () => rng.normal());
  const x = matrix(n, dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) {
      let v = mean[j];
      stds.forEach((s, i) => (v += h.data[r * n + i + 1] * s * dirs.data[i * dim + j]));
      x.data[r * dim + j] = v;
    }
  }
  return { x, dirs, mean, variances: stds.map((s) => (s * s * n) / (n - 1)) };
}

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
const rowOf = (m: Matrix, r: number) => m.data.subarray(r * m.cols, (r + 1) * m.cols);

describe('analysis: linear algebra', () => {
  it('decomposes random symmetric matrices: small residual, orthonormal vectors, descending values, trace kept', () => {
    const rng = new Rng('eig');
    for (const [n, k] of [[1, 1], [2, 2], [9, 9], [40, 40], [40, 3], [40, 0]]) {
      const a = randomSymmetric(rng, n);
      const { values, vectors } = symmetricEigen(a, k);
      assert.strictEqual(vectors.rows, k);
      for (let i = 1; i < n; i++) assert.ok(values[i] <= values[i - 1], 'descending');
      let trace = 0;
      for (let i = 0; i < n; i++) trace += a.data[i * n + i];
      close(values.reduce((s, v) => s + v, 0), trace, 1e-10 * n, `trace, n=${n}`);
      for (let c = 0; c < k; c++) {
        const v = rowOf(vectors, c);
        const av = multiply(a, matrix(n, 1, v));
        let res = 0;
        for (let i = 0; i < n; i++) res = Math.max(res, Math.abs(av.data[i] - values[c] * v[i]));
        assert.ok(res < 1e-10, `||A v - lambda v|| = ${res} (n=${n}, vector ${c} of ${k})`);
        for (let c2 = 0; c2 <= c; c2++) close(dot(v, rowOf(vectors, c2)), c === c2 ? 1 : 0, 1e-10, 'orthonormal');
      }
    }
  });

  it('recovers the eigenvalues of Q diag(lambda) Q^T, including repeated ones', () => {
    const rng = new Rng('known-eig');
    const lambda = [7, 3, 3, 0.5, 0, -2];
    const q = orthonormalRows(rng, 6, 6); // rows = eigenvectors
    const a = multiply(transpose(q), multiply(matrix(6, 6, lambda.flatMap((l, i) => lambda.map((_, j) => (i === j ? l : 0)))), q));
    const { values, vectors } = symmetricEigen(a);
    lambda.forEach((l, i) => close(values[i], l, 1e-12, `eigenvalue ${i}`));
    close(Math.abs(dot(rowOf(vectors, 0), rowOf(q, 0))), 1, 1e-12, 'the top eigenvector, up to sign');
  });

  it('recovers the singular values of U diag(s) V^T, wide and tall', () => {
    const rng = new Rng('svd');
    const s = [5, 3, 1, 0.25];
    const u = orthonormalRows(rng, 4, 7); // [4, 7]
    const v = orthonormalRows(rng, 4, 12); // [4, 12]
    const a = multiply(transpose(u), multiply(matrix(4, 4, s.flatMap((x, i) => s.map((_, j) => (i === j ? x : 0)))), v)); // [7, 12]
    for (const m of [a, transpose(a)]) {
      const got = singularValues(m);
      assert.strictEqual(got.length, 7);
      s.forEach((x, i) => close(got[i], x, 1e-7, `singular value ${i}`));
      for (let i = 4; i < 7; i++) assert.ok(got[i] < 1e-6, `singular value ${i} of a rank-4 matrix is ${got[i]}`);
    }
  });

  it('gives the entropy effective rank and the energy counts', () => {
    const id = effectiveRank(singularValues(matrix(10, 10, Array.from({ length: 100 }, (_, i) => (i % 11 === 0 ? 1 : 0)))));
    close(id.effectiveRank, 10, 1e-9, 'identity');
    assert.deepStrictEqual([id.energy90, id.energy99], [9, 10]);
    const rng = new Rng('rank1');
    const a = randomMatrix(rng, 6, 1);
    const b = randomMatrix(rng, 1, 9);
    const one = effectiveRank(singularValues(multiply(a, b)));
    close(one.effectiveRank, 1, 1e-5, 'rank one'); // the zero singular values come out ~1e-8, not 0
    assert.deepStrictEqual([one.energy90, one.energy99], [1, 1]);
    // p = (1/2, 1/4, 1/8, 1/8): H = 1.75 ln 2; energies 16, 4, 1, 1 of 22 -> 90% needs 2, 99% needs 4.
    const known = effectiveRank([1, 4, 1, 2]);
    close(known.effectiveRank, 2 ** 1.75, 1e-12, 'spectrum (4, 2, 1, 1)');
    assert.deepStrictEqual([known.energy90, known.energy99], [2, 4]);
    assert.throws(() => effectiveRank([1, -1]), /non-negative/);
  });

  for (const [rows, dim] of [[32, 6], [16, 40]]) {
    it(`finds the known principal directions and variances (${rows} rows, ${dim} columns)`, () => {
      const rng = new Rng(`pca-${dim}`);
      const stds = [3, 2, 1, 0.5];
      const { x, dirs, mean, variances } = dataWithKnownPca(rng, rows, dim, stds);
      const p = pca(x, 3);
      assert.strictEqual(p.components.rows, 3);
      mean.forEach((m, j) => close(p.mean[j], m, 1e-12, 'mean'));
      variances.slice(0, 3).forEach((v, i) => close(p.variances[i], v, 1e-10, `variance ${i}`));
      close(p.totalVariance, variances.reduce((a, v) => a + v, 0), 1e-10, 'total variance');
      for (let i = 0; i < 3; i++) close(Math.abs(dot(rowOf(p.components, i), rowOf(dirs, i))), 1, 1e-10, `direction ${i}, up to sign`);
      close(p.explainedRatio[0], 9 / (9 + 4 + 1 + 0.25), 1e-12, 'explained ratio');
      // Scores: +-s_i on every row, uncorrelated across components.
      const scores = pcaProject(x, p, 2);
      for (let r = 0; r < rows; r++) close(Math.abs(scores.data[2 * r]), 3, 1e-10, 'score magnitude');
      close(dot(Array.from({ length: rows }, (_, r) => scores.data[2 * r]), Array.from({ length: rows }, (_, r) => scores.data[2 * r + 1])), 0, 1e-9, 'uncorrelated scores');
    });
  }

  it('rejects input it cannot decompose with one clear sentence', () => {
    assert.throws(() => symmetricEigen(matrix(2, 2, [1, 2, 3, 4])), /not symmetric/);
    assert.throws(() => symmetricEigen(matrix(2, 2, [1, NaN, NaN, 1])), /non-finite/);
    assert.throws(() => pca(matrix(1, 3, [1, 2, 3])), /at least 2 data rows/);
  });
});

describe('analysis: what a linear bottleneck keeps', () => {
  it('loses nothing when proj1 spans the subspace the patches lie in', () => {
    const rng = new Rng('span');
    const dim = 48;
    const width = 5;
    const basis = orthonormalRows(rng, width, dim); // the patches' subspace [5, 48]
    const coeff = randomMatrix(rng, 60, width);
    const offset = Array.from({ length: dim }, () => rng.normal());
    const x = multiply(coeff, basis);
    for (let r = 0; r < x.rows; r++) for (let j = 0; j < dim; j++) x.data[r * dim + j] += offset[j];
    const proj1 = multiply(randomMatrix(rng, width, width), basis); // a mixed basis of the same subspace [d', 48]
    const codes = multiply(x, transpose(proj1));
    const rec = decodeFromCodes(x, codes);
    assert.ok(rec.error < 1e-12, `error ${rec.error}`);
    let worst = 0;
    for (let i = 0; i < x.data.length; i++) worst = Math.max(worst, Math.abs(rec.patches.data[i] - x.data[i]));
    assert.ok(worst < 1e-9, `reconstruction off by ${worst}`);
    assert.ok(pcaReconstruction(x, width).error < 1e-12, 'PCA also keeps everything');
  });

  it('PCA error is the discarded variance, and a random bottleneck of the same width does no better', () => {
    const rng = new Rng('discard');
    const stds = [4, 2, 1, 0.5, 0.25];
    const { x } = dataWithKnownPca(rng, 64, 30, stds);
    const energy = stds.map((s) => s * s);
    const total = energy.reduce((a, v) => a + v, 0);
    const best = pcaReconstruction(x, 2);
    close(best.error, (energy[2] + energy[3] + energy[4]) / total, 1e-12, 'sum of discarded variances / total');
    assert.strictEqual(best.kept, 2);
    close(best.errorByDim[2], best.error, 1e-15, 'the error curve at the kept width');
    close(best.errorByDim[0], 1, 0, 'nothing kept');
    close(best.errorByDim[5], 0, 1e-12, 'all five directions kept');
    // The same number, measured on the returned patches.
    const mean = pca(x, 1).mean;
    let num = 0;
    let den = 0;
    for (let r = 0; r < x.rows; r++) {
      for (let j = 0; j < x.cols; j++) {
        num += (x.data[r * x.cols + j] - best.patches.data[r * x.cols + j]) ** 2;
        den += (x.data[r * x.cols + j] - mean[j]) ** 2;
      }
    }
    close(num / den, best.error, 1e-12, 'measured reconstruction error');
    const random = decodeFromCodes(x, multiply(x, transpose(randomMatrix(rng, 2, 30))));
    assert.ok(random.error >= best.error - 1e-12 && random.error <= 1, `random bottleneck ${random.error} vs PCA ${best.error}`);
  });

  it('draws proj1 rows as tiles scaled into [-1, 1] and reports their singular values', () => {
    const rng = new Rng('tiles');
    const data = Float32Array.from({ length: 4 * 3 * 2 * 2 }, () => rng.normal());
    data.fill(0, 12, 24); // row 1 all zero
    const proj1 = { shape: [4, 3, 2, 2], data };
    const b = basisPatches(proj1);
    assert.strictEqual(b.tiles.length, data.length);
    for (let r = 0; r < 4; r++) {
      const tile = b.tiles.subarray(r * 12, (r + 1) * 12);
      if (r === 1) {
        assert.ok(tile.every((v) => v === 0) && b.scales[1] === 0, 'a zero row stays zero');
        continue;
      }
      close(Math.max(...tile.map(Math.abs)), 1, 1e-6, 'tile peak');
      for (let j = 0; j < 12; j++) close(tile[j] * b.scales[r], data[r * 12 + j], 1e-6, 'tile * scale = row');
    }
    const s = bottleneckSpectrum(proj1);
    assert.strictEqual(s.singularValues.length, 4);
    assert.ok(s.singularValues[3] < 1e-6, 'the zero row makes proj1 rank 3');
    assert.ok(s.effectiveRank > 1 && s.effectiveRank < 3, `effective rank ${s.effectiveRank}`);
    assert.throws(() => basisPatches({ shape: [4, 12], data: new Float32Array(48) }), /\[d', C, p, p\]/);
  });

  it('maps the codes\' first three principal components to a latent image per image', () => {
    const rng = new Rng('latent');
    const g = 4;
    const { x } = dataWithKnownPca(rng, 2 * g * g, 8, [3, 2, 1]); // 2 images of 4 x 4 patches, 8-dim codes
    const lat = latentImages(x, g);
    assert.strictEqual(lat.images.length, 2 * 3 * g * g);
    // Every score is +-s_i and the scale is 3 standard deviations = 3 s_i sqrt(n / (n - 1)).
    const expected = Math.sqrt(31 / 32) / 3;
    for (const v of lat.images) close(Math.abs(v), expected, 1e-6, 'latent pixel (float32)');
    close(lat.scales[0], 3 * 3 * Math.sqrt(32 / 31), 1e-9, 'scale of PC1');
    close(lat.explainedRatio[0], 9 / 14, 1e-12, 'share of PC1');
  });
});

describe('analysis: bottleneck codes of the network', () => {
  before(useWasm);

  it('codes patches exactly as the official proj1 (golden bottleneck activation) and decodes them back', async () => {
    const g = loadGolden(GOLDEN);
    const z = g.tensors.get('case.forward.z')!;
    const ref = g.tensors.get('case.forward.act.bottleneck')!; // [B, d', gh, gw]
    const coder = new PatchCoder(g.config, g.tensors.get('net.x_embedder.proj1.weight')!);
    const x = tf.tensor4d(z.data, z.shape as [number, number, number, number]);
    const before = tf.memory().numTensors;
    const { patches, codes } = await coder.encode(x);
    const [B, D, gh, gw] = ref.shape;
    const n = gh * gw;
    let worst = 0;
    for (let b = 0; b < B; b++) for (let c = 0; c < D; c++) for (let j = 0; j < n; j++) {
      const want = ref.data[(b * D + c) * n + j];
      worst = Math.max(worst, Math.abs(codes.data[(b * n + j) * D + c] - want) / (1 + Math.abs(want)));
    }
    assert.ok(worst <= 1e-4, `codes vs the official bottleneck: ${worst}`);
    const back = await coder.decode(patches);
    assert.ok(back.every((v, i) => v === z.data[i]), 'decode inverts encode exactly');
    assert.strictEqual(tf.memory().numTensors, before, 'no tensors left behind');
    x.dispose();
    coder.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------
// On a checkpoint of a tiny model trained for a few steps

const TINY: JiTConfig = { inputSize: 16, patchSize: 4, inChannels: 3, hiddenSize: 32, depth: 2, numHeads: 2, mlpRatio: 4, bottleneckDim: 8, numClasses: 8, inContextLen: 2, inContextStart: 1, freezePatchEmbed: false };

describe('analysis: on a trained checkpoint', function () {
  let checkpoint: string;
  before(async () => {
    await useWasm();
    const cfg = { ...resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 4, batch: 4, seed: 3 }), model: TINY };
    const tr = new TfjsTrainer(cfg, createShapesDataset(16));
    for (let i = 0; i < 4; i++) await tr.trainStep();
    const dir = path.join(tempDir(), 'checkpoints');
    fs.mkdirSync(dir);
    checkpoint = saveCheckpoint(dir, cfg, await tr.exportState(), 3);
    await tr.dispose();
  });

  it('analyses the bottleneck: every panel with consistent shapes, and the codes never beat PCA', async () => {
    const before = tf.memory().numTensors;
    const a = await analyseBottleneck(checkpoint, { weights: 'online', images: 6, tValues: [0, 0.5, 1] });
    assert.strictEqual(tf.memory().numTensors, before, 'no tensors left behind');
    const N = 16; // 4 x 4 patches of 4 px
    assert.deepStrictEqual([a.gridSize, a.bottleneckDim, a.patchDim, a.step], [4, 8, 48, 4]);
    assert.strictEqual(a.basis.tiles.length, 8 * 48);
    assert.strictEqual(a.spectrum.singularValues.length, 8);
    assert.ok(a.spectrum.effectiveRank >= 1 && a.spectrum.effectiveRank <= 8);
    assert.ok(a.spectrum.energy90 <= a.spectrum.energy99 && a.spectrum.energy99 <= 8);
    assert.strictEqual(a.images.length, 6 * 3 * 16 * 16);
    assert.strictEqual(a.labels.length, 6);
    assert.deepStrictEqual(a.classNames.length, 8);
    assert.strictEqual(a.latent.images.length, 6 * 3 * 4 * 4);
    assert.ok(a.latent.images.every((v) => v >= -1 && v <= 1));
    assert.strictEqual(a.classScatter.points.length, 6 * N * 2);
    assert.deepStrictEqual([...new Set(a.classScatter.values)].sort(), [...new Set(a.labels)].sort());
    assert.strictEqual(a.tScatter.points.length, 3 * 6 * N * 2);
    assert.deepStrictEqual([...new Set(a.tScatter.values)], [0, 0.5, 1]);
    assert.ok(a.pca.error >= 0 && a.pca.error < 1, `PCA error ${a.pca.error}`);
    assert.strictEqual(a.pca.kept, 8);
    close(a.pca.errorByDim[8], a.pca.error, 1e-12, 'PCA curve at d\'');
    assert.ok(a.bottleneck.error >= a.pca.error - 1e-9 && a.bottleneck.error <= 1, `bottleneck ${a.bottleneck.error} vs PCA ${a.pca.error}`);
    assert.strictEqual(a.bottleneck.images.length, a.images.length);
    assert.strictEqual(a.pca.images.length, a.images.length);
    // The same seed draws the same images, so checkpoints compare on equal terms.
    const again = await analyseBottleneck(checkpoint, { weights: 'ema1', images: 6, tValues: [1] });
    assert.ok(again.images.every((v, i) => v === a.images[i]));
  });

  it('samples the CFG x EMA grid: rows x columns per interval, each cell as `jit sample` would', async () => {
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const grid = await cfgEmaGrid(checkpoint, { cfgScales: [1, 3], n: 2, steps: 3, seed: 5 }, (done) => progress.push(done));
    assert.strictEqual(tf.memory().numTensors, before, 'no tensors left behind');
    assert.deepStrictEqual(grid.weights, ['ema1', 'ema2', 'online']);
    assert.deepStrictEqual(grid.intervals, [{ min: 0.1, max: 1 }, { min: 0, max: 1 }]);
    assert.deepStrictEqual(progress, Array.from({ length: 12 }, (_, i) => i + 1));
    assert.strictEqual(grid.cells.length, 2);
    for (const [k, interval] of grid.cells.entries()) {
      assert.strictEqual(interval.length, 3);
      for (const [r, row] of interval.entries()) {
        assert.strictEqual(row.length, 2);
        for (const [c, cell] of row.entries()) {
          assert.deepStrictEqual([cell.weights, cell.cfgScale, cell.intervalMin, cell.seed, cell.steps], [grid.weights[r], grid.cfgScales[c], grid.intervals[k].min, 5, 3]);
          assert.strictEqual(cell.images.length, 2 * 3 * 16 * 16);
          assert.ok(cell.images.every(Number.isFinite));
        }
      }
    }
    const same = (a: Float32Array, b: Float32Array) => a.every((v, i) => v === b[i]);
    for (let r = 0; r < 3; r++) assert.ok(same(grid.cells[0][r][0].images, grid.cells[1][r][0].images), 'CFG 1 is guidance 1 at every t, interval or not');
    assert.ok(!same(grid.cells[0][2][1].images, grid.cells[1][2][1].images), 'CFG 3 at t = 0 only when the interval is off');
    assert.ok(!same(grid.cells[0][0][0].images, grid.cells[0][2][0].images), 'EMA and online weights differ');
    assert.strictEqual(grid.engine.engine, 'onnx', `the grid runs on ONNX Runtime when it loads: ${JSON.stringify(grid.engine)}`);
    const ref = await sampleFromCheckpoint({ checkpoint, n: 2, steps: 3, method: 'heun', cfgScale: 3, intervalMin: 0, intervalMax: 1, seed: 5, weights: 'ema2', out: path.join(tempDir(), 'ref.png') });
    let worst = 0;
    ref.images.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - grid.cells[1][1][1].images[i]))));
    assert.ok(worst < 1e-6, `grid cell vs jit sample: ${worst}`);
    // The TensorFlow.js network gives the same grid (to float rounding).
    const onTfjs = await cfgEmaGrid(checkpoint, { weights: ['ema2'], cfgScales: [3], intervals: [{ min: 0, max: 1 }], n: 2, steps: 3, seed: 5, engine: 'tfjs' });
    assert.strictEqual(onTfjs.engine.engine, 'tfjs');
    worst = 0;
    onTfjs.cells[0][0][0].images.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - grid.cells[1][1][1].images[i]))));
    assert.ok(worst < 1e-4, `TF.js vs ONNX grid cell: ${worst}`);
  });

  it('a grid cell\'s copied `jit sample` command reproduces the cell through the real CLI', async () => {
    const view = await gridView({ checkpoint, cfgScales: [1, 2.5], n: 3, steps: 4, seed: 11 });
    assert.strictEqual(view.engine.split(',')[0], 'ONNX Runtime');
    assert.ok(view.seconds > 0);
    const at = { interval: 0, row: 2, column: 1 };
    const line = sampleCommandLine(gridCellRequest(view, checkpoint, at));
    assert.match(line, /^npm run jit -- sample --checkpoint \S+ --n 3 --steps 4 --method heun --cfg 2\.5 --interval 0\.1,1 --seed 11 --ema none --classes 0,1,2$/);
    const out = path.join(tempDir(), 'cell.png');
    // Run as written, by a shell in the checkout.
    const r = spawnSync('sh', ['-c', `${line} --out ${out}`], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', env: { ...process.env, JIT_BACKEND: 'wasm' }, timeout: 300_000 });
    assert.strictEqual(r.status, 0, r.stderr);
    // The CLI's grid: 2 columns of 16 px images drawn at 2x with 2 px of padding; the view's cell: [n, S, S, 3] bytes.
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const cells = unpackTensor(view.tensors, 'cells', 'uint8');
    const [, R, C, n, S] = cells.shape;
    const base = ((at.interval * R + at.row) * C + at.column) * n * S * S * 3;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const x0 = 2 + (i % 2) * (2 * S + 2);
      const y0 = 2 + Math.floor(i / 2) * (2 * S + 2);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let ch = 0; ch < 3; ch++) {
        const png = data[((y0 + 2 * y) * info.width + x0 + 2 * x) * info.channels + ch];
        worst = Math.max(worst, Math.abs(png - cells.data[base + ((i * S + y) * S + x) * 3 + ch]));
      }
    }
    assert.ok(worst <= 1, `the CLI's PNG and the grid cell differ by ${worst} levels`);
  });

  it('rejects a grid it cannot sample with one clear sentence', async () => {
    await assert.rejects(cfgEmaGrid(checkpoint, { intervals: [{ min: 0.5, max: 0.2 }] }), /0 <= min < max <= 1/);
    await assert.rejects(cfgEmaGrid(checkpoint, { classes: [9] }), /Class 9 is out of range/);
  });
});
