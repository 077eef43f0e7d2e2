// Run folders as the extension sees them: discovery (runs, checkpoints, sample grids), metrics.jsonl with a torn
// last line, the dashboard's metric series (including a resume that rewinds it), run ids from webviews, and
// run configuration files.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { discoverRuns, listCheckpoints, readJsonLines, runPaths } from '../../src/io/runs';
import { parseRunConfigFile } from '../../src/extension/runConfigFile';
import { bestQuality, runChoices, runDirById, runView } from '../../src/extension/runInfo';
import { RunSeries } from '../../src/extension/runSeries';
import type { StepMetrics } from '../../src/train/trainer';
import { packColumns, unpackColumns } from '../../src/wire/columns';
import { lossByTColumn } from '../../src/wire/dashboardMessages';
import { smoothSeries } from '../../webview/shared/smoothing';
import { tempDir } from './helpers';

function metrics(step: number, loss: number): StepMetrics {
  const lossByT = Array.from({ length: 10 }, (_, b) => (b === 3 ? null : loss + b / 100));
  return { step, loss, lr: 1e-4, gradNorm: 1, imagesPerSec: 10, seconds: step, imagesSeen: 32 * step, lossByT };
}

function makeRun(root: string, name: string, o: { steps?: number; checkpoints?: number[]; samples?: number[]; runJson?: string } = {}): string {
  const dir = path.join(root, name);
  const p = runPaths(dir);
  fs.mkdirSync(p.checkpoints, { recursive: true });
  fs.mkdirSync(p.samples, { recursive: true });
  fs.writeFileSync(p.runFile, o.runJson ?? JSON.stringify({
    name, preset: 'JiT-Ti/4', dataset: 'built-in shapes: 8 classes, 32 px', backend: 'wasm', created: '2026-01-01T00:00:00.000Z',
    config: { preset: 'JiT-Ti/4', steps: o.steps ?? 100, diffusion: { pMean: -0.8, pStd: 0.8 } },
  }));
  for (const s of o.checkpoints ?? []) fs.writeFileSync(path.join(p.checkpoints, `step-${s}.safetensors`), '');
  for (const s of o.samples ?? []) fs.writeFileSync(path.join(p.samples, `step-${s}.png`), '');
  return dir;
}

describe('run-folder discovery', () => {
  it('lists runs newest first with their checkpoints and grids in step order, skipping other folders', () => {
    const root = tempDir();
    makeRun(root, '20260101-100000-JiT-Ti-4', { checkpoints: [10, 9, 100], samples: [250, 50] });
    makeRun(root, '20260102-090000-JiT-Ti-16');
    makeRun(root, '20260101-120000-broken', { runJson: '{"name": "half a fi' });
    fs.mkdirSync(path.join(root, 'not-a-run'));
    fs.writeFileSync(path.join(root, 'notes.txt'), 'x');
    const runs = discoverRuns(root);
    assert.deepStrictEqual(runs.map((r) => r.name), ['20260102-090000-JiT-Ti-16', '20260101-120000-broken', '20260101-100000-JiT-Ti-4']);
    assert.strictEqual(runs[1].run, undefined, 'a broken run.json still lists the run');
    assert.deepStrictEqual(runs[2].checkpoints.map((c) => c.step), [9, 10, 100]);
    assert.deepStrictEqual(runs[2].samples.map((c) => c.step), [50, 250]);
    fs.writeFileSync(path.join(runs[2].dir, 'checkpoints', 'step-5.safetensors.tmp-1'), '');
    assert.deepStrictEqual(listCheckpoints(runs[2].dir).map((c) => c.step), [9, 10, 100], 'a half-written checkpoint is not listed');
    assert.deepStrictEqual(runChoices(root).map((r) => [r.id, r.preset, r.steps]), [
      ['20260102-090000-JiT-Ti-16', 'JiT-Ti/4', 100], ['20260101-120000-broken', '?', 0], ['20260101-100000-JiT-Ti-4', 'JiT-Ti/4', 100],
    ]);
    assert.deepStrictEqual(discoverRuns(path.join(root, 'missing')), []);
  });

  it('maps run ids from a webview only to run folders under the runs root', () => {
    const root = tempDir();
    const dir = makeRun(root, 'run-a');
    makeRun(path.dirname(root), path.basename(root) + '-outside');
    assert.strictEqual(runDirById(root, 'run-a'), dir);
    for (const bad of ['../' + path.basename(root) + '-outside', 'run-a/checkpoints', '..', '.', 'missing', '']) {
      assert.strictEqual(runDirById(root, bad), undefined, bad);
    }
    assert.strictEqual(runDirById(undefined, 'run-a'), undefined);
  });

  it('describes a run for the dashboard, and one whose run.json is unreadable', () => {
    const root = tempDir();
    const v = runView(makeRun(root, 'ok'));
    assert.strictEqual(v.preset, 'JiT-Ti/4');
    assert.strictEqual(v.totalSteps, 100);
    assert.strictEqual(v.engine, 'TensorFlow.js, wasm backend', 'a run.json from before the engine choice names its TF.js backend');
    const onnx = runView(makeRun(root, 'onnx', { runJson: JSON.stringify({ preset: 'JiT-Ti/16', engine: 'ONNX Runtime, cpu execution provider, 2 threads', backend: 'wasm' }) }));
    assert.strictEqual(onnx.engine, 'ONNX Runtime, cpu execution provider, 2 threads');
    assert.strictEqual(runView(makeRun(root, 'resumed'), undefined, 'ONNX Runtime, cpu execution provider, 1 thread').engine, 'ONNX Runtime, cpu execution provider, 1 thread', 'the engine of a running training wins');
    assert.deepStrictEqual(v.config.find((r) => r[0] === 'Model'), ['Model', '— px, patch —, depth —, hidden —, — heads, bottleneck —'], 'fields missing from run.json show as —');
    const broken = runView(makeRun(root, 'broken', { runJson: '[' }));
    assert.strictEqual(broken.preset, 'unknown preset');
    assert.deepStrictEqual(broken.config, [['Configuration', 'run.json is missing or unreadable']]);
  });
});

describe('metrics.jsonl', () => {
  it('skips a torn last line', () => {
    const file = path.join(tempDir(), 'metrics.jsonl');
    fs.writeFileSync(file, [metrics(1, 1), metrics(2, 0.9), metrics(3, 0.8)].map((m) => JSON.stringify(m)).join('\n') + '\n{"step":4,"loss":0.7,"lr":');
    assert.deepStrictEqual(readJsonLines<StepMetrics>(file).map((m) => m.step), [1, 2, 3]);
    const s = RunSeries.fromFile(file);
    assert.strictEqual(s.lastStep, 3);
    assert.deepStrictEqual(readJsonLines(path.join(tempDir(), 'none.jsonl')), []);
  });

  it('keeps the current history when a resume starts again at an earlier step', () => {
    const file = path.join(tempDir(), 'metrics.jsonl');
    const rows = [1, 2, 3, 4, 5].map((s) => metrics(s, 1 / s));
    rows.push(metrics(4, 0.5), metrics(5, 0.4)); // resumed from the checkpoint at step 3
    fs.writeFileSync(file, rows.map((m) => JSON.stringify(m)).join('\n') + '\n');
    const s = RunSeries.fromFile(file);
    assert.deepStrictEqual(s.rows.map((r) => [r.step, r.loss]), [[1, 1], [2, 0.5], [3, 1 / 3], [4, 0.5], [5, 0.4]]);
    assert.strictEqual(s.add(metrics(6, 0.3)), 'append');
    assert.strictEqual(s.add(metrics(2, 0.9)), 'rewind');
    assert.deepStrictEqual(s.rows.map((r) => r.step), [1, 2]);
  });

  it('packs the series as float64 columns, a missing t-bucket or memory reading as NaN', () => {
    const s = new RunSeries();
    for (let i = 1; i <= 4; i++) s.add({ ...metrics(i, 1 / i), ...(i === 4 ? { rssMB: 812.5 } : {}) });
    const cols = unpackColumns(s.pack(2));
    assert.deepStrictEqual([...cols.step], [3, 4]);
    assert.deepStrictEqual([...cols.imagesSeen], [96, 128]);
    assert.deepStrictEqual([...cols.rssMB], [NaN, 812.5]);
    assert.ok(Number.isNaN(cols[lossByTColumn(3)][0]));
    assert.ok(Math.abs(cols[lossByTColumn(2)][1] - 0.27) < 1e-12);
  });

  it('keeps sample-quality records as a series of their own, rewound with the steps, and finds the best FD', () => {
    const dir = makeRun(tempDir(), 'r');
    const q = (step: number, fd: number) => ({ ...quality(step, fd), classAccuracy: step === 4 ? null : 0.5 });
    const lines = [metrics(1, 1), metrics(2, 0.9), q(2, 30), metrics(3, 0.8), metrics(4, 0.7), q(4, 12), metrics(3, 0.75), metrics(4, 0.6), q(4, 20)]; // resumed at 3
    fs.writeFileSync(runPaths(dir).metrics, lines.map((m) => JSON.stringify(m)).join('\n') + '\n');
    const s = RunSeries.fromFile(runPaths(dir).metrics);
    assert.deepStrictEqual(s.rows.map((r) => r.step), [1, 2, 3, 4]);
    assert.deepStrictEqual(s.quality.map((r) => [r.step, r.fd]), [[2, 30], [4, 20]]);
    const cols = unpackColumns(s.packQuality());
    assert.deepStrictEqual([...cols.fd], [30, 20]);
    assert.deepStrictEqual([...cols.classAccuracy], [0.5, NaN]);
    // The file still holds the replaced evaluation at FD 12, which is no longer the run's history.
    assert.deepStrictEqual(bestQuality(dir), { step: 4, fd: 20, fdFloor: 1, classAccuracy: null });
    assert.strictEqual(bestQuality(makeRun(tempDir(), 'none')), undefined);
  });
});

function quality(step: number, fd: number) {
  return { step, seconds: step, imagesSeen: 32 * step, n: 8, fd, fdFloor: 1, classAccuracy: 0.5, realAccuracy: 1, precision: 0.5, recall: 0.5,
    realPrecision: 0.9, realRecall: 0.9, seam: 1.1, realSeam: 1, weights: 'ema1', cfg: 1, steps: 2, evalSeconds: 1 };
}

describe('webview data helpers', () => {
  it('round-trips columns through one buffer and rejects a bad offset table', () => {
    const pack = packColumns({ a: [1, 2, 3], b: Float64Array.of(-1.5), c: [] });
    assert.strictEqual(pack.buffer.byteLength, 4 * 8);
    const cols = unpackColumns(pack);
    assert.deepStrictEqual([...cols.a], [1, 2, 3]);
    assert.deepStrictEqual([...cols.b], [-1.5]);
    assert.strictEqual(cols.c.length, 0);
    assert.throws(() => unpackColumns({ buffer: pack.buffer, columns: [{ name: 'x', offset: 3, length: 2 }] }), /runs past the end/);
  });

  it('smooths like TensorBoard: debiased, gaps kept, a constant stays constant', () => {
    assert.deepStrictEqual(smoothSeries([2, 2, 2, 2], 0.9).map((v) => +v!.toFixed(12)), [2, 2, 2, 2]);
    assert.deepStrictEqual(smoothSeries([1, 5, 3], 0), [1, 5, 3]);
    const s = smoothSeries([1, null, NaN, 3], 0.5);
    assert.strictEqual(s[0], 1);
    assert.deepStrictEqual([s[1], s[2]], [null, null]);
    // last = 0.5 * 0.5 + 0.5 * 3 = 1.75 after two values; debias 1 - 0.25 = 0.75
    assert.ok(Math.abs(s[3]! - 1.75 / 0.75) < 1e-12);
  });
});

describe('run configuration files', () => {
  const file = path.join(path.sep, 'work', 'configs', 'cats.jitrun.json');

  it('reads RunOverrides, resolving a data folder relative to the file', () => {
    const r = parseRunConfigFile(JSON.stringify({
      $schema: './jitrun.schema.json', name: 'cats', preset: 'JiT-Ti/4', steps: 300, batch: 8, lr: 2e-4, data: { kind: 'folder', dir: '../images', hflip: true },
      preview: { n: 8, method: 'euler' },
    }), file);
    assert.strictEqual(r.name, 'cats');
    assert.deepStrictEqual(r.overrides, {
      preset: 'JiT-Ti/4', steps: 300, batch: 8, lr: 2e-4, data: { kind: 'folder', dir: path.resolve(path.sep, 'work', 'images'), hflip: true }, preview: { n: 8, method: 'euler' },
    });
  });

  it('says in one sentence which field is wrong', () => {
    const bad = (o: unknown) => () => parseRunConfigFile(typeof o === 'string' ? o : JSON.stringify(o), file);
    assert.throws(bad('{"steps": 3,'), /^Error: cats\.jitrun\.json is not valid JSON \(.*\): fix it and run JiT: Start Training again\.$/);
    assert.throws(bad([1]), /must hold one JSON object/);
    assert.throws(bad({ stpes: 3 }), /unknown field "stpes"; allowed are name, preset, steps/);
    assert.throws(bad({ steps: 2.5 }), /In cats\.jitrun\.json, "steps" must be a whole number of at least 1\./);
    assert.throws(bad({ preset: 'JiT-XL/2' }), /"preset" must be one of "JiT-Ti\/16"/);
    assert.throws(bad({ data: { kind: 'folder' } }), /"data\.dir" must be the path of an image folder/);
    assert.throws(bad({ data: { kind: 'imagenet' } }), /"data\.kind" must be "builtin" or "folder"/);
    assert.throws(bad({ preview: { cfg: 2 } }), /unknown field "preview\.cfg"/);
    assert.throws(bad({ emaDecay1: 1 }), /"emaDecay1" must be a number in \[0, 1\)/);
  });
});
