import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/jit/random';
import { sampleToyData, TOY_DATA_NAMES } from '../../src/toy/data';
import { slicedWasserstein, wasserstein1d } from '../../src/toy/distance';
import { embedPoints, projectPoints, randomEmbedding } from '../../src/toy/embed';
import { writeToyFigure } from '../../src/toy/figure';
import { resolveToyOptions, runToyExperiment, ToyResult, TRUTH_POINTS } from '../../src/toy/lab';
import { formatToyTable } from '../../src/toy/cli';
import { tempDir, useWasm } from './helpers';

const f64 = (xs: number[]) => Float64Array.from(xs);

/** n points [n, 2] from N(mean, I). */
function gaussian(rng: Rng, n: number, mean: [number, number]): Float32Array {
  const p = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    p[2 * i] = mean[0] + rng.normal();
    p[2 * i + 1] = mean[1] + rng.normal();
  }
  return p;
}

describe('manifold lab: embedding', () => {
  for (const dim of [2, 8, 16, 512]) {
    it(`P [${dim}, 2] is column-orthogonal (P^T P = I) and projecting undoes embedding`, () => {
      const e = randomEmbedding(dim, new Rng(`embed-test:${dim}`));
      const gram = [0, 0, 0, 0]; // P^T P, row-major [2, 2]
      for (let i = 0; i < dim; i++) {
        for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) gram[2 * a + b] += e.matrix[2 * i + a] * e.matrix[2 * i + b];
      }
      [1, 0, 0, 1].forEach((want, k) => assert.ok(Math.abs(gram[k] - want) < 1e-5, `P^T P[${k}] = ${gram[k]}, expected ${want}`));
      const points = sampleToyData('spiral', new Rng(1), 50);
      const back = projectPoints(embedPoints(points, e), e);
      points.forEach((v, k) => assert.ok(Math.abs(back[k] - v) < 1e-5, `point coordinate ${k}: ${back[k]} after the round trip, expected ${v}`));
    });
  }

  it('rejects a dimension below 2', () => {
    assert.throws(() => randomEmbedding(1, new Rng(0)), /at least 2/);
  });
});

describe('manifold lab: distances', () => {
  it('1-D Wasserstein-1 on hand-checked cases', () => {
    assert.strictEqual(wasserstein1d(f64([3, 1, 2]), f64([2, 3, 1])), 0);
    assert.ok(Math.abs(wasserstein1d(f64([0, 1]), f64([0.5, 1.5])) - 0.5) < 1e-12);
    // {0} against {0, 1}: half the mass moves by 1
    assert.ok(Math.abs(wasserstein1d(f64([0]), f64([0, 1])) - 0.5) < 1e-12);
    // {0, 0, 3} against {1}: |0 - 1| * 2/3 + |3 - 1| * 1/3
    assert.ok(Math.abs(wasserstein1d(f64([0, 0, 3]), f64([1])) - 4 / 3) < 1e-12);
  });

  it('identical samples are at distance 0', () => {
    const p = gaussian(new Rng(2), 500, [0.3, -0.2]);
    assert.strictEqual(slicedWasserstein(p, Float32Array.from(p)), 0);
  });

  it('a shifted copy is 2|s|/pi away (the mean of |s . u| over directions u)', () => {
    const p = gaussian(new Rng(3), 400, [0, 0]);
    const s: [number, number] = [0.6, -0.8]; // |s| = 1
    const q = p.map((v, k) => v + s[k % 2]);
    const d = slicedWasserstein(p, q);
    assert.ok(Math.abs(d - 2 / Math.PI) < 0.01 * (2 / Math.PI), `sliced W1 ${d}, expected ${2 / Math.PI}`);
  });

  it('independent samples of N(0, I) and N(s, I) are about 2|s|/pi apart', () => {
    const s: [number, number] = [1.5, 2];
    const d = slicedWasserstein(gaussian(new Rng(4), 3000, [0, 0]), gaussian(new Rng(5), 2000, s));
    const want = (2 / Math.PI) * 2.5;
    assert.ok(Math.abs(d - want) < 0.06, `sliced W1 ${d}, expected about ${want}`);
  });

  it('a point set with a non-finite coordinate is infinitely far', () => {
    assert.strictEqual(slicedWasserstein([0, 0, NaN, 1], [0, 0]), Infinity);
  });

  it('rejects input that is not a list of 2-D points', () => {
    assert.throws(() => slicedWasserstein([0, 0, 1], [0, 0]), /2-D points/);
  });
});

describe('manifold lab: data and options', () => {
  for (const name of TOY_DATA_NAMES) {
    it(`${name}: seeded, finite and inside about [-1, 1]^2`, () => {
      const a = sampleToyData(name, new Rng(7), 2000);
      assert.deepStrictEqual(a, sampleToyData(name, new Rng(7), 2000));
      assert.ok(a.every((v) => Number.isFinite(v) && Math.abs(v) < 1.25), `${name} has points outside [-1.25, 1.25]^2`);
      const spread = Math.max(...a.map(Math.abs));
      assert.ok(spread > 0.7, `${name} only reaches ${spread}: the data should fill most of [-1, 1]^2`);
    });
  }

  it('explains bad options in one sentence each', () => {
    assert.throws(() => resolveToyOptions({ dims: [1] }), /whole numbers from 2/);
    assert.throws(() => resolveToyOptions({ targets: ['z' as 'x'] }), /Prediction targets must be some of x, eps, v/);
    assert.throws(() => resolveToyOptions({ steps: 0 }), /steps must be a positive whole number/);
    assert.throws(() => resolveToyOptions({ data: 'circles' as 'spiral' }), /Unknown toy data "circles"/);
    assert.throws(() => resolveToyOptions({ samples: 4, trajectories: 5 }), /trajectories must be/);
    assert.throws(() => resolveToyOptions({ dims: [8, 8] }), /each dimension and each target once/);
  });
});

describe('manifold lab: runs, events and the figure', function () {
  before(useWasm);

  const tiny = { dims: [4, 3], targets: ['x', 'v'] as ('x' | 'v')[], steps: 6, batch: 16, samples: 24, sampleSteps: 3, trajectories: 2, progressEvery: 4, seed: 5 };

  it('reports progress, returns plain arrays for every cell and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const events: string[] = [];
    const r = await runToyExperiment(tiny, { onProgress: (e) => events.push(e.type === 'cell' ? `cell ${e.result.dim} ${e.result.target}` : `${e.type} ${e.dim} ${e.target}${e.type === 'train' ? ` ${e.step}` : ''}`) });
    assert.strictEqual(tf.memory().numTensors, before, 'tensors leaked');
    assert.deepStrictEqual(events, [
      'train 4 x 4', 'train 4 x 6', 'sampling 4 x', 'cell 4 x', 'train 4 v 4', 'train 4 v 6', 'sampling 4 v', 'cell 4 v',
      'train 3 x 4', 'train 3 x 6', 'sampling 3 x', 'cell 3 x', 'train 3 v 4', 'train 3 v 6', 'sampling 3 v', 'cell 3 v',
    ]);
    assert.strictEqual(r.truth.length, TRUTH_POINTS);
    assert.deepStrictEqual(r.cells.map((c) => `${c.dim} ${c.target}`), ['4 x', '4 v', '3 x', '3 v']);
    for (const c of r.cells) {
      assert.strictEqual(c.samples.length, 24);
      assert.ok(c.samples.every((p) => p.length === 2 && p.every(Number.isFinite)));
      assert.strictEqual(c.trajectories.length, 2);
      assert.ok(c.trajectories.every((t) => t.length === tiny.sampleSteps + 1), 'a path has a point per sampler step plus the end');
      assert.deepStrictEqual(c.trajectories[0][tiny.sampleSteps], c.samples[0], 'a path ends at its sample');
      assert.ok(Number.isFinite(c.distance) && Number.isFinite(c.finalLoss));
    }
    // the same seed gives the same run
    const again = await runToyExperiment({ ...tiny, dims: [3], targets: ['v'] });
    assert.deepStrictEqual(again.cells[0].samples, r.cells[3].samples);
    assert.match(formatToyTable(r), /^target\s+D=4\s+D=3\nx\s+\d\.\d{3}\s+\d\.\d{3}\nv\s+\d\.\d{3}\s+\d\.\d{3}$/);
  });

  it('stops when its signal is aborted, leaking no tensors', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    await assert.rejects(
      runToyExperiment({ ...tiny, steps: 1000 }, { signal: controller.signal, onProgress: (e) => e.type === 'train' && controller.abort() }),
      { name: 'ToyRunCancelled' },
    );
    assert.strictEqual(tf.memory().numTensors, before, 'tensors leaked');
  });

  it('draws the D x target grid: generated points dark where they are, the true points light', async () => {
    const r: ToyResult = {
      options: resolveToyOptions({ dims: [2, 8], targets: ['x', 'eps'] }),
      truth: [[-1, -1], [1, 1], [0.5, 0]],
      referenceDistance: 0,
      cells: [{ dim: 8, target: 'eps', distance: 0.25, finalLoss: 1, samples: [[0.5, 0.5]], trajectories: [[[0, 0], [0.3, -0.3]]], trainSeconds: 0, sampleSeconds: 0 }],
    };
    const file = path.join(tempDir(), 'toy.png');
    await writeToyFigure(file, r);
    const { data, info } = await sharp(fs.readFileSync(file)).raw().toBuffer({ resolveWithObject: true });
    // 2 columns and 2 rows of 220 px cells with 8 px gaps, plus 44 px of row labels and 28 px of column labels
    assert.deepStrictEqual([info.width, info.height], [44 + 2 * 228, 28 + 2 * 228]);
    const at = (x: number, y: number) => [...data.subarray(3 * (y * info.width + x), 3 * (y * info.width + x) + 3)];
    // view: +-1.2 around the origin over the 213 px span inside a 3 px inset; the eps row is the second, D=8 the second column
    const px = (left: number, top: number, x: number, y: number) => [Math.round(left + 3 + ((x / 1.2 + 1) / 2) * 213), Math.round(top + 3 + ((1 - y / 1.2) / 2) * 213)];
    const [sx, sy] = px(44 + 228, 28 + 228, 0.5, 0.5);
    assert.deepStrictEqual(at(sx, sy), [20, 40, 120], 'a generated point is drawn dark');
    const [tx, ty] = px(44, 28, 0.5, 0);
    assert.deepStrictEqual(at(tx, ty), [190, 205, 225], 'a true point is drawn light in every cell');
    const [ox, oy] = px(44 + 228, 28 + 228, 0.3, -0.3);
    assert.deepStrictEqual(at(ox, oy), [235, 125, 30], 'a sampling path ends in an orange dot');
    const [ex, ey] = px(44, 28, -0.6, 0.6);
    assert.deepStrictEqual(at(ex, ey), [246, 246, 246], 'empty space in a cell is the cell background');
  });
});

// The paper's claim (sec. 3.3, Fig. 2), measured with the lab's default recipe on the spiral. For scale: pure
// Gaussian noise is ~0.39 from the true spiral, and 256 independent true points are ~0.03-0.07 from it.
describe('manifold lab: the paper\'s x / eps / v experiment', function () {
  before(useWasm);

  const noiseDistance = () => slicedWasserstein(new Rng('noise').fillNormal(new Float32Array(512)), sampleToyData('spiral', new Rng('truth'), TRUTH_POINTS));

  it('at D = 2 every target gets well below the distance of pure noise', async () => {
    const r = await runToyExperiment({ dims: [2], targets: ['x', 'eps', 'v'], seed: 0 });
    const limit = noiseDistance() / 2;
    for (const c of r.cells) assert.ok(c.distance < limit, `D=2 ${c.target}: distance ${c.distance.toFixed(3)}, expected below ${limit.toFixed(3)}`);
  });

  it('at D = 512 x-prediction still works while eps-prediction fails', async () => {
    const r = await runToyExperiment({ dims: [512], targets: ['x', 'eps'], steps: 400, seed: 0 });
    const [x, eps] = r.cells.map((c) => c.distance);
    assert.ok(x < noiseDistance() / 2, `D=512 x: distance ${x.toFixed(3)}, expected well below pure noise`);
    assert.ok(eps > x + 1, `D=512: eps-prediction's distance ${eps.toFixed(3)} should exceed x-prediction's ${x.toFixed(3)} by more than 1`);
  });
});
