// Sample-quality metrics: the Fréchet distance against closed forms, precision/recall on point clouds with known
// answers, the patch-seam score on real and blocky images, and the feature network on the built-in shapes.
import * as tf from '@tensorflow/tfjs-core';
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Matrix, matrix, multiply } from '../../src/analysis/linalg';
import { encodePng, toRgbBytes } from '../../src/io/png';
import { Rng } from '../../src/jit/random';
import { loadFolderDataset } from '../../src/train/data/folder';
import { SHAPE_CLASSES, createShapesDataset } from '../../src/train/data/shapes';
import { QualityReference, evaluatorForCheckpoint } from '../../src/quality/evaluate';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint';
import type { WeightsChoice } from '../../src/io/trainerState';
import { TfjsTrainer } from '../../src/train/tfjsTrainer';
import { FeatureNet, featureNetKey, loadOrTrainFeatureNet, trainFeatureNet } from '../../src/quality/featureNet';
import { balancedDraw, realImages, rotateBatch } from '../../src/quality/realImages';
import { Gaussian, frechetDistance, gaussianFit, sqrtPsd } from '../../src/quality/frechet';
import { precisionRecall } from '../../src/quality/precisionRecall';
import { seamEnergy, seamScore } from '../../src/quality/seam';
import { RunSeries } from '../../src/extension/runSeries';
import { LiveQuality, isQualityRecord } from '../../src/quality/live';
import { TrainEvent, runTraining } from '../../src/run/loop';
import { resolveRunConfig } from '../../src/io/runConfig';
import { sharedFeaturesDir, tempDir, useWasm } from './helpers';

/** The training of the trained-checkpoint test (measured: enough to beat the initialisation on both FD and accuracy). */
const TRAINED = { steps: 200, batch: 16, lr: 1e-3, weights: 'ema1' as WeightsChoice };

const gauss = (mean: number[], cov: number[][]): Gaussian => ({ mean: Float64Array.from(mean), cov: matrix(cov.length, cov.length, cov.flat()) });

/** tr((A B)^1/2) for 2 x 2 SPD A, B: the eigenvalues of AB are positive, and tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)). */
function traceSqrt2x2(a: number[][], b: number[][]): number {
  const m = multiply(matrix(2, 2, a.flat()), matrix(2, 2, b.flat())).data;
  const det = m[0] * m[3] - m[1] * m[2];
  return Math.sqrt(m[0] + m[3] + 2 * Math.sqrt(det));
}

/** n draws of N(mean, L L^T) as rows [n, d]. */
function draw(rng: Rng, n: number, mean: number[], chol: number[][]): Float32Array {
  const d = mean.length;
  const out = new Float32Array(n * d);
  const z = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) z[k] = rng.normal();
    for (let r = 0; r < d; r++) {
      let s = mean[r];
      for (let k = 0; k <= r; k++) s += chol[r][k] * z[k];
      out[i * d + r] = s;
    }
  }
  return out;
}

describe('Fréchet distance', () => {
  const s1 = [[2, 0.5], [0.5, 1]];
  const s2 = [[1, -0.3], [-0.3, 0.5]];
  const mu1 = [0, 1];
  const mu2 = [1, -1];
  const closedForm = (1 + 4) + (2 + 1) + (1 + 0.5) - 2 * traceSqrt2x2(s1, s2);

  it('matches the closed form for two 2-D Gaussians whose covariances do not commute', () => {
    const ab = multiply(matrix(2, 2, s1.flat()), matrix(2, 2, s2.flat())).data;
    const ba = multiply(matrix(2, 2, s2.flat()), matrix(2, 2, s1.flat())).data;
    assert.ok(Math.abs(ab[1] - ba[1]) > 0.1, 'the covariances commute; the test would not exercise the square root');
    const fd = frechetDistance(gauss(mu1, s1), gauss(mu2, s2));
    assert.ok(Math.abs(fd - closedForm) < 1e-10, `${fd} vs ${closedForm}`);
    assert.ok(Math.abs(frechetDistance(gauss(mu2, s2), gauss(mu1, s1)) - closedForm) < 1e-10, 'symmetric');
  });

  it('is (1 - c)^2 tr(S) between N(mu, S) and N(mu, c^2 S), and 0 between a Gaussian and itself', () => {
    const rng = new Rng(3);
    const d = 12;
    const a = matrix(d, d);
    for (let i = 0; i < a.data.length; i++) a.data[i] = rng.normal();
    const s = multiply(a, { rows: d, cols: d, data: transposeData(a) }); // A A^T, full rank
    let trace = 0;
    for (let i = 0; i < d; i++) trace += s.data[i * d + i];
    const mean = Array.from({ length: d }, () => rng.normal());
    const scaled: Matrix = { rows: d, cols: d, data: s.data.map((x) => 9 * x) };
    const g = { mean: Float64Array.from(mean), cov: s };
    assert.ok(Math.abs(frechetDistance(g, { mean: Float64Array.from(mean), cov: scaled }) - 4 * trace) < 1e-8 * trace);
    assert.ok(frechetDistance(g, g) < 1e-9 * trace);
  });

  it('approaches the closed form from 20000 samples of each Gaussian', () => {
    const rng = new Rng(5);
    const chol = (s: number[][]) => {
      const l00 = Math.sqrt(s[0][0]);
      const l10 = s[1][0] / l00;
      return [[l00, 0], [l10, Math.sqrt(s[1][1] - l10 * l10)]];
    };
    const n = 20000;
    const fd = frechetDistance(gaussianFit(draw(rng, n, mu1, chol(s1)), n, 2), gaussianFit(draw(rng, n, mu2, chol(s2)), n, 2));
    assert.ok(Math.abs(fd - closedForm) < 0.03 * closedForm, `${fd} vs ${closedForm}`);
  });

  it('takes the square root of a positive semi-definite matrix, also a singular one', () => {
    const rng = new Rng(9);
    const a = matrix(6, 3);
    for (let i = 0; i < a.data.length; i++) a.data[i] = rng.normal();
    const s = multiply(a, { rows: 3, cols: 6, data: transposeData(a) }); // 6 x 6 of rank 3
    const r = sqrtPsd(s);
    const back = multiply(r, r);
    for (let i = 0; i < 36; i++) assert.ok(Math.abs(back.data[i] - s.data[i]) < 1e-9, `entry ${i}`);
  });

  it('refuses NaN features with a sentence that names the cause', () => {
    assert.throws(() => gaussianFit(Float32Array.from([1, 2, NaN, 4]), 2, 2), /NaN or infinity/);
  });
});

function transposeData(a: Matrix): Float64Array {
  const t = new Float64Array(a.rows * a.cols);
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < a.cols; c++) t[c * a.rows + r] = a.data[r * a.cols + c];
  return t;
}

describe('precision and recall (k-nearest-neighbour manifolds)', () => {
  it('gives the hand-computed answer on a 1-D example', () => {
    // Real 0, 1, 2, 3 (each ball reaches its nearest neighbour: radius 1). Generated 0.5, 10, 2.9, 20: 0.5 and 2.9 fall
    // inside real balls (precision 1/2); every real point lies within a generated ball (0.5 and 2.9 have radius 2.4).
    const pr = precisionRecall(Float32Array.from([0, 1, 2, 3]), 4, Float32Array.from([0.5, 10, 2.9, 20]), 4, 1, 1);
    assert.deepStrictEqual(pr, { precision: 0.5, recall: 1 });
  });

  const cloud = (rng: Rng, n: number, x0: number, x1: number) => {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      out[2 * i] = x0 + (x1 - x0) * rng.uniform();
      out[2 * i + 1] = rng.uniform();
    }
    return out;
  };

  it('is near 1 / 1 for two draws of the same distribution and 0 / 0 for disjoint ones', () => {
    const rng = new Rng(1);
    const real = cloud(rng, 400, 0, 1);
    const same = precisionRecall(real, 400, cloud(rng, 400, 0, 1), 400, 2);
    assert.ok(same.precision > 0.9 && same.recall > 0.9, JSON.stringify(same));
    assert.deepStrictEqual(precisionRecall(real, 400, cloud(rng, 400, 5, 6), 400, 2), { precision: 0, recall: 0 });
  });

  it('keeps precision and halves recall when the samples cover half of the data', () => {
    const rng = new Rng(2);
    const pr = precisionRecall(cloud(rng, 400, 0, 1), 400, cloud(rng, 400, 0, 0.5), 400, 2);
    assert.ok(pr.precision > 0.9, JSON.stringify(pr));
    assert.ok(pr.recall > 0.4 && pr.recall < 0.65, JSON.stringify(pr));
  });
});

describe('patch-seam score', () => {
  const S = 64;
  const P = 16;
  const n = 64;
  const ds = createShapesDataset(S);
  const realA = ds.batch(new Rng('seam-a'), n).images;
  const realB = ds.batch(new Rng('seam-b'), n).images;

  it('is about 1 on real images', () => {
    const score = seamScore(seamEnergy(realB, n, 3, S, P), seamEnergy(realA, n, 3, S, P))!;
    assert.ok(Math.abs(score - 1) < 0.15, String(score));
  });

  it('is clearly above 1 on images with block edges at the patch boundaries, and not when the edges lie inside patches', () => {
    /** Real images plus a random offset per P x P block, the blocks shifted by `shift` pixels. */
    const blocky = (shift: number) => {
      const out = Float32Array.from(realB);
      const rng = new Rng('blocks');
      const side = S / P + 1;
      for (let plane = 0; plane < 3 * n; plane++) {
        const offsets = Array.from({ length: side * side }, () => 0.15 * rng.normal());
        const block = (v: number) => Math.floor((v + shift) / P);
        for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[plane * S * S + y * S + x] += offsets[block(y) * side + block(x)];
      }
      return out;
    };
    const real = seamEnergy(realA, n, 3, S, P);
    const atPatch = seamScore(seamEnergy(blocky(0), n, 3, S, P), real)!;
    assert.ok(atPatch > 2, String(atPatch));
    const halfwayInside = seamScore(seamEnergy(blocky(P / 2), n, 3, S, P), real)!;
    assert.ok(halfwayInside < 1, String(halfwayInside));
  });

  it('is undefined (null) for flat images and for a single patch', () => {
    const flat = new Float32Array(4 * 3 * S * S);
    assert.strictEqual(seamScore(seamEnergy(flat, 4, 3, S, P), seamEnergy(realA, n, 3, S, P)), null);
    assert.strictEqual(seamScore(seamEnergy(realB, n, 3, S, S), seamEnergy(realA, n, 3, S, S)), null);
  });
});

describe('feature network and quality reference', function () {
  const cacheDir = tempDir('jit-features-');
  const shapes64 = realImages(createShapesDataset(64));
  let net: FeatureNet;
  const logs: string[] = [];

  before(async function () {
    await useWasm();
    net = await loadOrTrainFeatureNet(shapes64, { dir: cacheDir, onLog: (m) => logs.push(m) });
  });
  after(() => {
    net?.dispose();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('classifies held-out built-in shapes with at least 97% accuracy and records it beside the cached weights', () => {
    const r = net.record;
    assert.strictEqual(r.task, 'classes');
    assert.strictEqual(r.classes, 8);
    assert.strictEqual(r.heldOutImages, 1024);
    assert.ok(r.heldOutAccuracy >= 0.97, `held-out accuracy ${r.heldOutAccuracy}`);
    const json = JSON.parse(fs.readFileSync(path.join(cacheDir, `${r.key}.json`), 'utf8'));
    assert.strictEqual(json.heldOutAccuracy, r.heldOutAccuracy);
    assert.ok(fs.existsSync(path.join(cacheDir, `${r.key}.safetensors`)));
    assert.match(r.key, /^shapes-64px-[0-9a-f]{16}$/);
    assert.ok(logs.some((l) => /held-out accuracy/.test(l)), logs.join('\n'));
  });

  it('loads the cached network instead of training again, with the same features', async () => {
    const seen: string[] = [];
    const again = await loadOrTrainFeatureNet(shapes64, { dir: cacheDir, onLog: (m) => seen.push(m) });
    try {
      assert.deepStrictEqual(seen, []);
      assert.deepStrictEqual(again.record, net.record);
      const batch = shapes64.reference('a', 8);
      assert.deepStrictEqual(await again.embed(batch.images, 8), await net.embed(batch.images, 8));
    } finally {
      again.dispose();
    }
  });

  it('keys the cache by resolution and content: 32 px shapes get another key', () => {
    const k32 = featureNetKey(realImages(createShapesDataset(32)));
    assert.notStrictEqual(k32, net.record.key);
    assert.match(k32, /^shapes-32px-/);
  });

  it('trains deterministically from the seed', async () => {
    const short = { steps: 6, batch: 8, lr: 5e-3, seed: 1 };
    const [a, b, c] = [await trainFeatureNet(shapes64, 'k', short), await trainFeatureNet(shapes64, 'k', short), await trainFeatureNet(shapes64, 'k', { ...short, seed: 2 })];
    try {
      const [wa, wb, wc] = [await a.arrays(), await b.arrays(), await c.arrays()];
      assert.deepStrictEqual(wa, wb);
      assert.notDeepStrictEqual(wa, wc);
    } finally {
      [a, b, c].forEach((n) => n.dispose());
    }
  });

  it('trains again over an unreadable cached file and says so', async () => {
    const training = { steps: 4, batch: 8, lr: 5e-3, seed: 0 };
    const file = path.join(cacheDir, `${featureNetKey(shapes64, training)}.safetensors`);
    fs.writeFileSync(file, 'not a safetensors file');
    const seen: string[] = [];
    const fresh = await loadOrTrainFeatureNet(shapes64, { dir: cacheDir, training, onLog: (m) => seen.push(m) });
    fresh.dispose();
    assert.match(seen[0], /unreadable/);
    const reread = await loadOrTrainFeatureNet(shapes64, { dir: cacheDir, training });
    reread.dispose();
  });

  it('scores other real images near the floor and pure noise far worse', async () => {
    const n = 256;
    const ref = await QualityReference.create(shapes64, net, n, 16);
    assert.strictEqual(ref.n, n);
    assert.ok(ref.real.fdFloor > 0);
    // Real images with the same class counts as the samples would have: the floor's situation with another draw.
    const other = balancedDraw(createShapesDataset(64), new Rng('another real set'), n).images;
    const real = await ref.score(other);
    assert.ok(real.fd < 2.5 * ref.real.fdFloor && real.fd > 0.4 * ref.real.fdFloor, `FD of real images ${real.fd}, floor ${ref.real.fdFloor}`);
    assert.ok(real.precision > 0.6 && real.recall > 0.6, JSON.stringify(real));
    assert.ok(Math.abs(real.seam! - 1) < 0.15, `seam ${real.seam}`);
    assert.ok(ref.real.realAccuracy! >= 0.95, `accuracy on set B ${ref.real.realAccuracy}`);

    const rng = new Rng('noise');
    const noise = rng.fillUniform(new Float32Array(n * 3 * 64 * 64), -1, 1);
    const bad = await ref.score(noise);
    assert.ok(bad.fd > 10 * ref.real.fdFloor, `FD of noise ${bad.fd}, floor ${ref.real.fdFloor}`);
    // Noise maps to a few nearly equal feature vectors: they may sit inside a real image's neighbourhood (precision
    // does not see that), but they cover none of the real variety.
    assert.ok(bad.recall < 0.1, `recall of noise ${bad.recall}`);
    assert.ok(bad.classAccuracy! < 0.4, `accuracy on noise ${bad.classAccuracy}`);
  });
});

describe('quality on image folders', function () {
  const root = tempDir('jit-quality-folder-');
  const cacheDir = path.join(root, '.features');
  const training = { steps: 30, batch: 16, lr: 5e-3, seed: 0 };

  /** Writes the first `count` built-in shapes of the given classes as PNGs into <dir>/<class name>/. */
  async function writeShapes(dir: string, classes: number[], count: number, oneFolder?: string): Promise<void> {
    const ds = createShapesDataset(32);
    const batch = ds.batch(new Rng('folder images'), 8 * count);
    let written = 0;
    for (let i = 0; i < batch.labels.length && written < count; i++) {
      if (!classes.includes(batch.labels[i])) continue;
      const sub = path.join(dir, oneFolder ?? SHAPE_CLASSES[batch.labels[i]]);
      fs.mkdirSync(sub, { recursive: true });
      fs.writeFileSync(path.join(sub, `${i}.png`), await encodePng(toRgbBytes(batch.images, i, 32), 32, 32));
      written++;
    }
  }

  before(async () => {
    await useWasm();
    await writeShapes(path.join(root, 'two'), [0, 1], 40);
    await writeShapes(path.join(root, 'one'), [0, 1, 2], 30, 'all');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('learns the class folders, draws disjoint reference sets, and shrinks n to what the folder holds', async () => {
    const ds = await loadFolderDataset(path.join(root, 'two'), 32);
    const real = realImages(ds);
    assert.strictEqual(real.task, 'classes');
    const half = ds.imagesPerClass.reduce((acc, c) => acc + Math.floor(c / 2), 0);
    assert.strictEqual(real.maxReference, half);
    const a = real.reference('a', half);
    const b = real.reference('b', half);
    assert.deepStrictEqual([...a.labels].sort(), [...b.labels].sort(), 'both sets have the same class counts');
    const stride = 3 * 32 * 32;
    const keys = (x: Float32Array) => new Set(Array.from({ length: half }, (_, i) => x.subarray(i * stride, (i + 1) * stride).join(',')));
    const ka = keys(a.images);
    for (const k of keys(b.images)) assert.ok(!ka.has(k), 'an image is in both reference sets');
    assert.throws(() => real.reference('a', half + 1), /disjoint sets of \d+ real images with the same classes need \d+ images/);
    const net = await loadOrTrainFeatureNet(real, { dir: cacheDir, training });
    try {
      const ref = await QualityReference.create(real, net, 256, 4);
      assert.strictEqual(ref.n, half);
      const scores = await ref.score(real.reference('b', half).images);
      assert.strictEqual(scores.fd, ref.real.fdFloor);
      assert.strictEqual(typeof scores.classAccuracy, 'number');
    } finally {
      net.dispose();
    }
  });

  it('uses a rotation task for a one-class folder, and reports no class accuracy', async () => {
    const real = realImages(await loadFolderDataset(path.join(root, 'one'), 32));
    assert.strictEqual(real.task, 'rotation');
    assert.strictEqual(real.taskClasses, 4);
    const held = real.heldOut();
    assert.deepStrictEqual([...held.labels.subarray(0, 8)], [0, 1, 2, 3, 0, 1, 2, 3]);
    const net = await loadOrTrainFeatureNet(real, { dir: cacheDir, training });
    try {
      assert.strictEqual(net.record.task, 'rotation');
      const ref = await QualityReference.create(real, net, 15, 4);
      const scores = await ref.score(real.reference('b', 15).images);
      assert.strictEqual(scores.classAccuracy, null);
      assert.strictEqual(scores.realAccuracy, null);
    } finally {
      net.dispose();
    }
  });

  it('rotates images by quarter turns', () => {
    // A 2 x 2 image with pixels a b / c d in every channel.
    const img = Float32Array.from([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
    const out = rotateBatch({ images: img, labels: new Int32Array(1) }, 2, Int32Array.from([1]));
    assert.deepStrictEqual([...out.images.subarray(0, 4)], [2, 4, 1, 3]); // counter-clockwise: b d / a c
    assert.deepStrictEqual([...out.labels], [1]);
  });
});

describe('sample quality during training', function () {
  let features: string;
  before(async () => {
    await useWasm();
    features = await sharedFeaturesDir();
  });

  it('writes quality records to metrics.jsonl between steps, which the step series skips', async () => {
    const root = tempDir();
    fs.cpSync(features, path.join(root, '.features'), { recursive: true }); // the runs folder's feature cache
    const events: TrainEvent[] = [];
    const before = tf.memory().numTensors;
    const r = await runTraining({
      runsRoot: root, workers: 0,
      overrides: { preset: 'JiT-Ti/16', steps: 2, batch: 2, sampleEvery: 100, checkpointEvery: 100, preview: { n: 2, steps: 2 }, quality: { every: 1, n: 8, steps: 2 } },
    }, { onEvent: (e) => events.push(e) });
    assert.strictEqual(tf.memory().numTensors, before, 'no tensors left behind');
    const lines = fs.readFileSync(path.join(r.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const quality = lines.filter(isQualityRecord);
    assert.deepStrictEqual(quality.map((q) => q.step), [1, 2]);
    for (const q of quality) {
      for (const k of ['fd', 'fdFloor', 'classAccuracy', 'precision', 'recall', 'seam', 'n', 'step', 'seconds', 'imagesSeen']) assert.ok(k in q, k);
      assert.strictEqual(q.n, 8);
    }
    assert.deepStrictEqual(events.filter((e) => e.type === 'quality').length, 2);
    assert.deepStrictEqual(RunSeries.fromFile(path.join(r.runDir, 'metrics.jsonl')).rows.map((row) => row.step), [1, 2]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("under 'auto' evaluates only when it keeps to a tenth of the training time", () => {
    const cfg = resolveRunConfig({ preset: 'JiT-Ti/16', numClasses: 8, batch: 32 });
    const q = new LiveQuality(cfg, createShapesDataset(64), features, () => undefined);
    // 256 samples x 39 evaluations at 1/20 of a training image each: about 16 steps' worth of images, per 10% of time.
    assert.strictEqual(q.due(100, 100), false);
    assert.strictEqual(q.due(200, 200), true);
    const off = new LiveQuality(resolveRunConfig({ preset: 'JiT-Ti/16', numClasses: 8, quality: { every: 0 } }), createShapesDataset(64), features, () => undefined);
    assert.strictEqual(off.due(10_000, 10_000), false);
    const every = new LiveQuality(resolveRunConfig({ preset: 'JiT-Ti/16', numClasses: 8, quality: { every: 50 } }), createShapesDataset(64), features, () => undefined);
    assert.deepStrictEqual([49, 50, 100].map((s) => every.due(s, 1)), [false, true, true]);
  });
});

describe('sample quality of a checkpoint trained here', function () {
  let features: string;
  before(async () => {
    await useWasm();
    features = await sharedFeaturesDir();
  });

  it('scores better than its initialisation on FD and class accuracy, and the same seed gives the same metrics', async () => {
    const root = tempDir();
    const r = await runTraining({
      runsRoot: root,
      overrides: { preset: 'JiT-Ti/16', steps: TRAINED.steps, batch: TRAINED.batch, lr: TRAINED.lr, sampleEvery: 10_000, checkpointEvery: 10_000, quality: { every: 0 }, preview: { n: 2, steps: 2 } },
    });
    const trained = path.join(r.runDir, 'checkpoints', `step-${TRAINED.steps}.safetensors`);
    // The same run's initialisation (the seed's weights before the first step) as step-0.
    const { config } = loadCheckpoint(trained);
    const start = new TfjsTrainer(config, createShapesDataset(64));
    const initial = saveCheckpoint(path.dirname(trained), config, await start.exportState(), 10);
    await start.dispose();

    const evaluator = await evaluatorForCheckpoint(trained, 128, { featuresDir: features });
    try {
      const settings = { steps: 10, method: 'heun' as const, cfgScale: 1, intervalMin: 0.1, intervalMax: 1, seed: 0 };
      const before = await evaluator.evaluateCheckpoint(initial, TRAINED.weights, settings);
      const after = await evaluator.evaluateCheckpoint(trained, TRAINED.weights, settings);
      assert.strictEqual(before.step, 0);
      assert.ok(after.fd < before.fd, `FD ${after.fd} after ${TRAINED.steps} steps, ${before.fd} at the start`);
      assert.ok(after.classAccuracy! > before.classAccuracy!, `class accuracy ${after.classAccuracy} after ${TRAINED.steps} steps, ${before.classAccuracy} at the start`);
      const again = await evaluator.evaluateCheckpoint(trained, TRAINED.weights, settings);
      assert.deepStrictEqual({ ...again, evalSeconds: 0 }, { ...after, evalSeconds: 0 });
    } finally {
      evaluator.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
