// The `jit` command as a user runs it: the built bundle in a real child process.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { encodeSafetensors, readSafetensors } from '../../src/io/safetensors';
import sharp from 'sharp';
import { GOLDEN, sharedFeaturesDir, tempDir, useWasm } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const JIT = path.join(ROOT, 'bin', 'jit.js');

function jit(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [JIT, ...args], { cwd, encoding: 'utf8', env: { ...process.env, JIT_BACKEND: 'wasm' }, timeout: 600_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('jit CLI', function () {
  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
  });

  it('verify-golden passes on the official vectors and prints each case', () => {
    const r = jit(['verify-golden', GOLDEN]);
    assert.strictEqual(r.code, 0, r.out + r.err);
    assert.match(r.out, /82 of 82 cases within tolerance/);
    assert.match(r.out, /ok +sample\.heun\.trajectory/);
  });

  it('verify-golden exits non-zero when a reference value is off', () => {
    const dir = tempDir();
    const { metadata, tensors } = readSafetensors(GOLDEN);
    const list = [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: Float32Array.from(t.data) }));
    list.find((t) => t.name === 'case.loss.loss')!.data[0] *= 1.01; // a 1% wrong loss
    // labels are stored as I32 in the original; float32 holds these small integers exactly
    fs.writeFileSync(path.join(dir, 'off.safetensors'), encodeSafetensors(list, metadata));
    fs.copyFileSync(GOLDEN.replace(/\.safetensors$/, '.json'), path.join(dir, 'off.json'));
    const r = jit(['verify-golden', path.join(dir, 'off.safetensors')]);
    assert.strictEqual(r.code, 1, r.out + r.err);
    assert.match(r.out, /FAIL loss/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trains, writes a run folder with metrics, a sample grid and a checkpoint, then samples from it', () => {
    const dir = tempDir();
    const r = jit(['train', '--preset', 'JiT-Ti/4', '--steps', '4', '--batch', '2', '--sample-every', '2', '--checkpoint-every', '2', '--preview-steps', '3', '--preview-n', '4', '--out', 'runs'], dir);
    assert.strictEqual(r.code, 0, r.out + r.err);
    const [run] = fs.readdirSync(path.join(dir, 'runs'));
    const runDir = path.join(dir, 'runs', run);
    const metrics = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepStrictEqual(metrics.map((m) => m.step), [1, 2, 3, 4]);
    for (const k of ['loss', 'lr', 'gradNorm', 'imagesPerSec', 'lossByT']) assert.ok(k in metrics[0], k);
    assert.deepStrictEqual(fs.readdirSync(path.join(runDir, 'samples')).sort(), ['index.jsonl', 'step-2.png', 'step-4.png']);
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'step-4.safetensors')));
    const s = jit(['sample', '--checkpoint', path.join(runDir, 'checkpoints', 'step-4.safetensors'), '--n', '2', '--steps', '3', '--out', path.join(dir, 'grid.png')]);
    assert.strictEqual(s.code, 0, s.out + s.err);
    assert.ok(fs.statSync(path.join(dir, 'grid.png')).size > 100);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('explains a missing image folder in one sentence', () => {
    const r = jit(['train', '--data', path.join(tempDir(), 'nope'), '--steps', '1']);
    assert.notStrictEqual(r.code, 0);
    assert.strictEqual(r.err.trim().split('\n').length, 1, r.err);
  });

  it('bench --smoke prints every field of the benchmark JSON', () => {
    const dir = tempDir();
    const r = jit(['bench', '--smoke', '--out', path.join(dir, 'bench.json')]);
    assert.strictEqual(r.code, 0, r.err);
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'bench.json'), 'utf8'));
    for (const k of ['backend', 'devices', 'matmulGflops', 'presets']) assert.ok(k in j, k);
    assert.strictEqual(j.defaultTrainingEngine, 'onnx');
    assert.ok(j.onnx.matmulGflops > 0 && /^ONNX Runtime, cpu execution provider/.test(j.onnx.description), JSON.stringify(j.onnx));
    for (const k of ['preset', 'batch', 'trainImagesPerSec', 'trainFlopsPerImage', 'trainEfficiency', 'sampleEvalsPerSec', 'heun50Batch16Seconds', 'peakRssMb', 'tensorsLeaked']) {
      assert.ok(k in j.presets[0], k);
    }
    assert.deepStrictEqual(j.presets[0].trainEngines.map((e: { engine: string }) => e.engine), ['onnx', 'tfjs']);
    for (const e of j.presets[0].trainEngines) assert.ok(e.trainImagesPerSec > 0 && e.trainEfficiency > 0, JSON.stringify(e));
    assert.strictEqual(j.presets[0].trainImagesPerSec, j.presets[0].trainEngines[0].trainImagesPerSec, 'the headline number is the default engine\'s');
    assert.strictEqual(j.presets[0].tensorsLeaked, 0);
    assert.deepStrictEqual(j.presets[0].samplingEngines.map((e: { engine: string }) => e.engine), ['tfjs', 'onnx']);
    for (const e of j.presets[0].samplingEngines) assert.ok(e.heun50Batch16Seconds > 0, `a Heun run timed on ${e.engine}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('sample quality', function () {
    let dir: string;
    let runDir: string;
    let features: string;
    const QUALITY_KEYS = ['fd', 'fdFloor', 'classAccuracy', 'precision', 'recall', 'seam', 'n', 'step'];

    before(async () => {
      await useWasm();
      features = await sharedFeaturesDir();
      dir = tempDir();
      const r = jit(['train', '--preset', 'JiT-Ti/16', '--steps', '2', '--batch', '2', '--checkpoint-every', '1', '--keep-checkpoints', '5', '--preview-steps', '2', '--preview-n', '2', '--eval-every', '0', '--out', 'runs'], dir);
      assert.strictEqual(r.code, 0, r.out + r.err);
      runDir = path.join(dir, 'runs', fs.readdirSync(path.join(dir, 'runs'))[0]);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('eval prints every metric of a checkpoint beside its floor, and the same as JSON', () => {
      const ck = path.join(runDir, 'checkpoints', 'step-2.safetensors');
      const text = jit(['eval', '--checkpoint', ck, '--n', '16', '--steps', '2', '--features', features]);
      assert.strictEqual(text.code, 0, text.out + text.err);
      for (const name of ['Fréchet distance', 'class accuracy', 'precision', 'recall', 'patch-seam score']) assert.match(text.out, new RegExp(`${name} +\\S+ +\\S+`), text.out);
      const r = jit(['eval', '--checkpoint', ck, '--n', '16', '--steps', '2', '--features', features, '--json']);
      assert.strictEqual(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      for (const k of QUALITY_KEYS) assert.ok(k in j, k);
      assert.strictEqual(j.step, 2);
      assert.strictEqual(j.n, 16);
      assert.ok(j.fd > j.fdFloor, `an untrained model scores ${j.fd}, real images ${j.fdFloor}`);
    });

    it('eval --run evaluates every checkpoint of a run, with its training seconds', () => {
      const r = jit(['eval', '--run', runDir, '--n', '8', '--steps', '2', '--features', features, '--json']);
      assert.strictEqual(r.code, 0, r.err);
      const all = JSON.parse(r.out);
      assert.deepStrictEqual(all.map((m: { step: number }) => m.step), [1, 2]);
      for (const m of all) {
        for (const k of QUALITY_KEYS) assert.ok(k in m, k);
        assert.ok(m.seconds > 0, 'training seconds from the checkpoint');
      }
    });

    it('eval --grid scores every cell of the CFG x EMA grid, marks the lowest FD and saves the scores in the run', () => {
      const ck = path.join(runDir, 'checkpoints', 'step-2.safetensors');
      const r = jit(['eval', '--checkpoint', ck, '--grid', '--n', '8', '--steps', '2', '--cfg-scales', '1,2', '--features', features, '--json']);
      assert.strictEqual(r.code, 0, r.err);
      const g = JSON.parse(r.out);
      assert.strictEqual(g.cells.length, 3 * 2 * 2, 'ema1, ema2, online x CFG 1, 2 x interval on, off');
      assert.strictEqual(g.n, 8);
      const fds = g.cells.map((c: { fd: number }) => c.fd);
      assert.strictEqual(g.cells[g.best].fd, Math.min(...fds));
      const saved = fs.readFileSync(path.join(runDir, 'samples', 'grid-scores.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepStrictEqual(saved.map((x) => x.best), [g.best]);
    });

    it('eval explains a wrong call in one line', () => {
      for (const args of [['eval'], ['eval', '--run', dir]]) {
        const r = jit(args);
        assert.notStrictEqual(r.code, 0);
        assert.strictEqual(r.err.trim().split('\n').length, 1, r.err);
      }
    });

    it('sample --out-dir writes one PNG per image with class-balanced labels, the layout torch-fidelity reads', async () => {
      const out = path.join(dir, 'fid');
      const ck = path.join(runDir, 'checkpoints', 'step-2.safetensors');
      const r = jit(['sample', '--checkpoint', ck, '--n', '10', '--steps', '2', '--out-dir', out]);
      assert.strictEqual(r.code, 0, r.out + r.err);
      const pngs = fs.readdirSync(out).filter((f) => f.endsWith('.png')).sort();
      assert.deepStrictEqual(pngs, Array.from({ length: 10 }, (_, i) => `${String(i).padStart(6, '0')}.png`));
      const meta = await sharp(path.join(out, pngs[0])).metadata();
      assert.deepStrictEqual([meta.width, meta.height, meta.channels], [64, 64, 3]);
      const info = JSON.parse(fs.readFileSync(path.join(out, 'samples.json'), 'utf8'));
      assert.deepStrictEqual(info.labels, [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]);
      const again = jit(['sample', '--checkpoint', ck, '--n', '2', '--steps', '2', '--out-dir', out]);
      assert.notStrictEqual(again.code, 0);
      assert.match(again.err, /already holds PNG files/);
    });
  });
});
