import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { readTrajectory, trajectoryFiles, writeTrajectory, hasTrajectory } from '../../src/analysis/trajectoryFile';
import { packTrajectory, Trajectory } from '../../src/analysis/trajectory';
import { unpackTensor } from '../../src/wire/tensorPack';
import { toRgbBytes } from '../../src/io/png';
import { sampleRecordingTrajectory, trajectoryView } from '../../src/engine/views';
import { allSteps, describeSettings, groupAt, runSampleGroups } from '../../src/extension/sampleGroups';
import { GOLDEN, tempDir, useWasm } from './helpers';

function fakeTrajectory(): Trajectory {
  const per = 3 * 2 * 2;
  const steps = 2;
  return {
    indices: [0, 1],
    imageShape: [3, 2, 2],
    steps: [0, 1].map((s) => ({ step: s, t: s / 2, tNext: (s + 1) / 2, method: 'heun' as const, cfgActive: s === 0, vRms: [1, 2], heunCorrectionRms: s === 0 ? [0.1, 0.2] : null })),
    z: Float32Array.from({ length: (steps + 1) * 2 * per }, (_, i) => i / 10),
    xPred: Float32Array.from({ length: steps * 2 * per }, (_, i) => -i / 10),
  };
}

const SETTINGS = { checkpoint: 'step-5.safetensors', seed: 7, n: 2, steps: 2, method: 'heun' as const, cfgScale: 1.5, intervalMin: 0.1, intervalMax: 1, weights: 'ema1' as const, labels: [0, 1] };

describe('trajectory files next to a grid', () => {
  it('round-trips the frames, the per-step numbers and the settings', () => {
    const dir = tempDir();
    const grid = path.join(dir, 'step-5-heun2.png');
    const t = fakeTrajectory();
    assert.strictEqual(hasTrajectory(grid), false);
    writeTrajectory(grid, packTrajectory(t), SETTINGS);
    assert.ok(hasTrajectory(grid));
    const { header, pack } = readTrajectory(grid);
    assert.deepStrictEqual(header.settings, SETTINGS);
    assert.strictEqual(header.grid, 'step-5-heun2.png');
    assert.deepStrictEqual(header.meta.steps, t.steps);
    assert.deepStrictEqual([...unpackTensor(pack, 'z', 'float32').data], [...t.z]);
    assert.deepStrictEqual([...unpackTensor(pack, 'xPred', 'float32').data], [...t.xPred]);
  });

  it('refuses a truncated frames file and a grid with no trajectory, in one sentence', () => {
    const dir = tempDir();
    const grid = path.join(dir, 'a.png');
    assert.throws(() => readTrajectory(grid), /has no recorded trajectory/);
    writeTrajectory(grid, packTrajectory(fakeTrajectory()), SETTINGS);
    fs.truncateSync(trajectoryFiles(grid).bin, 10);
    assert.throws(() => readTrajectory(grid), /holds 10 bytes/);
  });
});

describe('sampling records the trajectory of every sample (golden model)', function () {
  before(useWasm);

  it('writes the trajectory next to the grid and the viewer gets one frame per step', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'golden.png');
    const r = await sampleRecordingTrajectory({ checkpoint: GOLDEN, n: 3, steps: 4, method: 'heun', cfgScale: 2, intervalMin: 0.1, intervalMax: 1, seed: 3, weights: 'online', out, engine: 'tfjs' });
    assert.strictEqual(r.trajectory, trajectoryFiles(out).json);
    const { header } = readTrajectory(out);
    assert.deepStrictEqual(header.meta.indices, [0, 1, 2]);
    assert.strictEqual(header.meta.steps.length, 4);
    assert.deepStrictEqual(header.settings.labels, r.labels);
    const v = trajectoryView(out);
    const S = v.imageSize;
    assert.deepStrictEqual(unpackTensor(v.tensors, 'z', 'uint8').shape, [5, 3, S, S, 3]);
    assert.deepStrictEqual(unpackTensor(v.tensors, 'xPred', 'uint8').shape, [4, 3, S, S, 3]);
    assert.deepStrictEqual(unpackTensor(v.tensors, 'pca', 'float32').shape, [3, 5, 2]);
    // The last recorded state is the sample: its bytes are the grid's images.
    const last = unpackTensor(v.tensors, 'z', 'uint8').data.subarray(4 * 3 * S * S * 3);
    assert.deepStrictEqual([...last.subarray(0, S * S * 3)], [...toRgbBytes(r.images, 0, S)]);
  });
});

describe('gallery grouping by run and step', () => {
  function run(name: string, files: string[], index: object[]): string {
    const dir = path.join(tempDir(), name);
    fs.mkdirSync(path.join(dir, 'samples'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'run.json'), '{}');
    for (const f of files) fs.writeFileSync(path.join(dir, 'samples', f), 'png');
    fs.writeFileSync(path.join(dir, 'samples', 'index.jsonl'), index.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return dir;
  }

  it('groups training previews and samples by step, with their settings', () => {
    const a = run('a', ['step-100.png', 'step-200.png', 'step-200-heun50-cfg2-ema1-seed9.png', 'notes.txt'], [
      { step: 100, file: 'step-100.png', seed: 0, n: 16, steps: 50, method: 'heun', cfg: 1, weights: 'ema1' },
      { step: 200, file: 'step-200-heun50-cfg2-ema1-seed9.png', checkpoint: 'step-200.safetensors', seed: 9, n: 16, steps: 50, method: 'heun', cfg: 2, interval: [0.1, 1], weights: 'ema1' },
    ]);
    const g = runSampleGroups(a);
    assert.deepStrictEqual(g.steps.map((s) => s.step), [100, 200]);
    assert.deepStrictEqual(g.steps[1].entries.map((e) => e.origin), ['training', 'sample']);
    assert.strictEqual(g.steps[1].entries[1].settings?.seed, 9);
    assert.strictEqual(g.steps[1].entries[1].trajectory, false);
    assert.strictEqual(describeSettings(g.steps[1].entries[1]), 'step 200, 16 images, 50 heun steps, CFG 2 in t ∈ (0.1, 1), ema1 weights, seed 9, step-200.safetensors');
  });

  it('shows the scores of a CFG x EMA grid beside the grids of its step, skipping a torn line', () => {
    const a = run('a', ['step-200.png'], []);
    const cell = (weights: string, cfgScale: number, fd: number) => ({ weights, cfgScale, intervalMin: 0.1, intervalMax: 1, fd, classAccuracy: 0.5, precision: 0.5, recall: 0.5, seam: 1 });
    const scores = { checkpoint: 'step-200.safetensors', step: 200, n: 64, steps: 20, seed: 0, real: { fdFloor: 0.9, realAccuracy: 0.99 }, cells: [cell('ema1', 1, 5), cell('ema1', 2, 3.2)], best: 1 };
    fs.writeFileSync(path.join(a, 'samples', 'grid-scores.jsonl'), JSON.stringify(scores) + '\n{"step": 300, "cel');
    const g = runSampleGroups(a);
    assert.deepStrictEqual(g.steps[0].scores, ['CFG × EMA scores (2 cells, 64 samples each): best ema1, CFG 2, guidance in t ∈ (0.1, 1): FD 3.20, class accuracy 50%; real images 0.900']);
  });

  it('one slider step moves every run to its latest group at or before it', () => {
    const a = runSampleGroups(run('a', ['step-100.png', 'step-300.png'], []));
    const b = runSampleGroups(run('b', ['step-200.png'], []));
    assert.deepStrictEqual(allSteps([a, b]), [100, 200, 300]);
    assert.strictEqual(groupAt(a, 250)?.step, 100);
    assert.strictEqual(groupAt(b, 250)?.step, 200);
    assert.strictEqual(groupAt(b, 100)?.step, 200, 'a run with only later grids shows its first');
    assert.strictEqual(groupAt(a, 300)?.step, 300);
  });
});
