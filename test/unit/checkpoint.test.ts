// Checkpoints: a resumed run continues exactly; a process killed while writing leaves every committed checkpoint
// loadable and the run resumable; a checkpoint of another shape is refused by name; keep-last-N spares pinned ones.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { TMP_MARK } from '../../src/io/atomic';
import { PINS_FILE, isPinned, loadCheckpoint, pinCheckpoint, readPins, saveCheckpoint, unpinCheckpoint } from '../../src/io/checkpoint';
import { compareEmaWithOnline, compareSources, histogram, inspectFile, moduleTree, openTensorSource, patchFilters, slice2d, tensorStats } from '../../src/io/inspect';
import { createRunDir, listCheckpoints, writeJson } from '../../src/io/runs';
import { readSafetensors } from '../../src/io/safetensors';
import { paramSpecs } from '../../src/jit/params';
import { createShapesDataset } from '../../src/train/data/shapes';
import { runTraining } from '../../src/run/loop';
import { RunConfig, resolveRunConfig } from '../../src/io/runConfig';
import { OnnxTrainer } from '../../src/train/onnxTrainer';
import { TfjsTrainer } from '../../src/train/tfjsTrainer';
import type { TrainerState } from '../../src/io/trainerState';
import { tempDir, useWasm } from './helpers';

const N = 4;

/** A model small enough to train in seconds: 16 px, patch 4, hidden 32, depth 2, 2 heads, 2 in-context tokens. */
function tinyConfig(model: Partial<RunConfig['model']> = {}): RunConfig {
  const base = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 2 * N, batch: 4, warmupSteps: 2, schedule: 'cosine', seed: 3,
    emaDecay1: 0.9, emaDecay2: 0.99, weightDecay: 0.01, sampleEvery: 1000, checkpointEvery: 1000, keepCheckpoints: 2 });
  return { ...base, preset: 'custom-16px', model: { ...base.model, inputSize: 16, patchSize: 4, hiddenSize: 32, depth: 2, numHeads: 2, bottleneckDim: 8, inContextLen: 2, inContextStart: 1, ...model } };
}

async function train(cfg: RunConfig, steps: number, state?: TrainerState): Promise<TrainerState> {
  const t = new TfjsTrainer(cfg, createShapesDataset(cfg.model.inputSize), state);
  try {
    for (let i = 0; i < steps; i++) await t.trainStep();
    return await t.exportState();
  } finally {
    await t.dispose();
  }
}

/** A run folder as `jit train` makes it, holding one checkpoint of `state`. */
function runWith(root: string, name: string, cfg: RunConfig, state: TrainerState, runConfig = cfg): string {
  const p = createRunDir(root, name);
  writeJson(p.runFile, { name, preset: runConfig.preset, config: runConfig });
  return saveCheckpoint(p.checkpoints, cfg, state, cfg.keepCheckpoints);
}

function assertSameState(a: TrainerState, b: TrainerState): void {
  assert.strictEqual(b.step, a.step);
  assert.strictEqual(b.adamStep, a.adamStep);
  assert.deepStrictEqual(b.dataRng, a.dataRng);
  assert.deepStrictEqual(b.noiseRng, a.noiseRng);
  for (const section of ['online', 'ema1', 'ema2', 'adamM', 'adamV'] as const) {
    assert.deepStrictEqual([...b[section].keys()], [...a[section].keys()], section);
    for (const [name, t] of a[section]) {
      const u = b[section].get(name)!;
      for (let i = 0; i < t.data.length; i++) if (t.data[i] !== u.data[i]) assert.fail(`${section} ${name}[${i}]: ${u.data[i]} after resuming, ${t.data[i]} without`);
    }
  }
}

describe('checkpoints', () => {
  const root = tempDir('jit-checkpoint-');
  before(useWasm);
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  describe('exact resume', () => {
    let straight: TrainerState;
    before(async () => {
      straight = await train(tinyConfig(), 2 * N);
    });

    it(`training ${2 * N} steps equals ${N} steps, a checkpoint file, and ${N} more (bit for bit)`, async () => {
      const cfg = tinyConfig();
      const file = saveCheckpoint(path.join(root, 'halfway', 'checkpoints'), cfg, await train(cfg, N), 3);
      const resumed = await train(cfg, N, loadCheckpoint(file).state);
      assertSameState(straight, resumed);
    });

    it('runTraining resumes a run folder from its checkpoint to the same weights (TF.js)', async () => {
      const cfg = tinyConfig();
      const file = runWith(root, 'resume', cfg, await train(cfg, N));
      const r = await runTraining({ runsRoot: root, resumeFrom: file, engine: 'tfjs' });
      assert.strictEqual(r.step, 2 * N);
      assertSameState(straight, loadCheckpoint(path.join(path.dirname(file), `step-${2 * N}.safetensors`)).state);
    });

    it('runTraining resumes a run folder from its checkpoint to the same weights (ONNX Runtime, the default engine)', async () => {
      const cfg = tinyConfig();
      const onnx = async (steps: number, state?: TrainerState) => {
        const t = await OnnxTrainer.create(cfg, createShapesDataset(16), state, { threads: 2 });
        try {
          for (let i = 0; i < steps; i++) await t.trainStep();
          return await t.exportState();
        } finally {
          await t.dispose();
        }
      };
      const all = await onnx(2 * N);
      const file = runWith(root, 'resume-onnx', cfg, await onnx(N));
      const r = await runTraining({ runsRoot: root, resumeFrom: file, onnx: { threads: 2 } });
      assert.strictEqual(r.step, 2 * N);
      assertSameState(all, loadCheckpoint(path.join(path.dirname(file), `step-${2 * N}.safetensors`)).state);
    });
  });

  describe('a checkpoint of another shape', () => {
    let tinyState: TrainerState;
    before(async () => {
      tinyState = await train(tinyConfig(), 1);
    });

    it('is refused by the trainer, naming the first mismatching tensor', async () => {
      const wide = await train(tinyConfig({ hiddenSize: 64 }), 1);
      assert.throws(() => new TfjsTrainer(tinyConfig(), createShapesDataset(16), wide),
        /^Error: Tensor net\.pos_embed has shape \[1, 16, 64\] but this model needs \[1, 16, 32\]: the checkpoint belongs to another preset or configuration\.$/);
    });

    it('is refused when resuming a run folder made for another model', async () => {
      const wideCfg = tinyConfig({ hiddenSize: 64 });
      const wide = runWith(root, 'wide-in-tiny', wideCfg, await train(wideCfg, 1), tinyConfig());
      await assert.rejects(runTraining({ runsRoot: root, resumeFrom: wide }), /^Error: Tensor net\.pos_embed has shape \[1, 16, 64\] but this model needs \[1, 16, 32\]/);
      const deepCfg = tinyConfig({ depth: 3 });
      const deep = runWith(root, 'deep-in-tiny', deepCfg, await train(deepCfg, 1), tinyConfig());
      await assert.rejects(runTraining({ runsRoot: root, resumeFrom: deep }), /holds tensor net\.blocks\.2\.norm1\.weight, which this model does not have/);
      const fine = runWith(root, 'tiny-in-tiny', tinyConfig(), tinyState);
      assert.strictEqual(loadCheckpoint(fine).state.step, 1);
    });
  });

  describe('keep-last-N and pins', () => {
    let state: TrainerState;
    let dir: string;
    const save = (step: number) => saveCheckpoint(dir, tinyConfig(), { ...state, step }, 2);
    const steps = () => listCheckpoints(path.dirname(dir)).map((c) => c.step);
    before(async () => {
      state = await train(tinyConfig(), 1);
      dir = createRunDir(root, 'keep').checkpoints;
    });

    it('keeps the newest N plus pinned checkpoints, and prunes an unpinned one at the next save', () => {
      save(1);
      pinCheckpoint(save(2));
      for (const s of [3, 4, 5]) save(s);
      assert.deepStrictEqual(steps(), [2, 4, 5]);
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(dir, PINS_FILE), 'utf8')), { pinned: ['step-2.safetensors'] });
      assert.ok(isPinned(path.join(dir, 'step-2.safetensors')));
      unpinCheckpoint(path.join(dir, 'step-2.safetensors'));
      assert.deepStrictEqual([...readPins(dir)], []);
      assert.deepStrictEqual(steps(), [2, 4, 5], 'unpinning alone deletes nothing');
      save(6);
      assert.deepStrictEqual(steps(), [5, 6]);
    });

    it('prunes only after the new checkpoint is committed', () => {
      // A folder where step-7's file should go makes the final rename fail.
      fs.mkdirSync(path.join(dir, 'step-7.safetensors', 'blocker'), { recursive: true });
      assert.throws(() => save(7));
      fs.rmSync(path.join(dir, 'step-7.safetensors'), { recursive: true });
      assert.deepStrictEqual(steps(), [5, 6]);
      assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.includes(TMP_MARK)), [], 'the failed write left no temporary file');
    });

    it('keeps every checkpoint while pins.json is unreadable, and removes stale temporaries', () => {
      fs.writeFileSync(path.join(dir, PINS_FILE), '{"pinned": [');
      const stale = path.join(dir, `step-99.safetensors${TMP_MARK}12345-1`);
      fs.writeFileSync(stale, 'half a checkpoint');
      save(8);
      assert.deepStrictEqual(steps(), [5, 6, 8]);
      assert.ok(!fs.existsSync(stale));
      assert.throws(() => readPins(dir), /pins\.json is not valid JSON; fix or delete it/);
    });
  });

  describe('inspecting checkpoints', () => {
    let early: string;
    let late: string;
    before(async () => {
      const cfg = tinyConfig();
      const dir = createRunDir(root, 'inspect').checkpoints;
      const s1 = await train(cfg, 1);
      early = saveCheckpoint(dir, cfg, s1, 5);
      late = saveCheckpoint(dir, cfg, await train(cfg, 2, s1), 5);
    });

    it('summarises every tensor with the documented statistics', async () => {
      const report = await inspectFile(late);
      assert.strictEqual(report.format, 'safetensors');
      assert.strictEqual(report.metadata.step, '3');
      const { tensors } = readSafetensors(late);
      assert.deepStrictEqual(report.tensors.map((t) => t.name), [...tensors.keys()]);
      const qkv = report.tensors.find((t) => t.name === 'ema2.net.blocks.1.attn.qkv.weight')!;
      const data = tensors.get(qkv.name)!.data;
      let sum = 0;
      let sq = 0;
      for (const x of data) {
        sum += x;
        sq += x * x;
      }
      const mean = sum / data.length;
      assert.ok(Math.abs(qkv.mean - mean) < 1e-12);
      assert.ok(Math.abs(qkv.l2 - Math.sqrt(sq)) < 1e-9);
      assert.ok(Math.abs(qkv.std - Math.sqrt(sq / data.length - mean * mean)) < 1e-6);
      assert.strictEqual(qkv.min, Math.min(...data));
      assert.strictEqual(qkv.max, Math.max(...data));
      assert.strictEqual(qkv.nan + qkv.inf, 0);
    });

    it('counts NaN and Inf apart from the finite statistics, and bins every finite value', () => {
      const d = Float32Array.from([1, NaN, 3, Infinity, -Infinity, 2, 2]);
      const s = tensorStats(d);
      assert.deepStrictEqual({ ...s }, { count: 4, min: 1, max: 3, mean: 2, std: Math.sqrt(0.5), l2: Math.sqrt(18), nan: 1, inf: 2 });
      const h = histogram(d, 4);
      assert.deepStrictEqual(h, { lo: 1, hi: 3, counts: [1, 0, 2, 1] });
      assert.deepStrictEqual(histogram(Float32Array.from([5, 5]), 2), { lo: 4.5, hi: 5.5, counts: [0, 2] });
    });

    it('groups tensors by module with totals, and cuts 2-D slices and patch filters', async () => {
      const src = await openTensorSource(late);
      try {
        const tree = moduleTree(src.tensors);
        assert.strictEqual(tree.params, src.tensors.reduce((a, t) => a + t.numel, 0));
        const net = tree.children.find((c) => c.name === 'net')!;
        const block1 = net.children.find((c) => c.name === 'blocks')!.children.find((c) => c.name === '1')!;
        assert.strictEqual(block1.path, 'net.blocks.1');
        assert.strictEqual(block1.params, src.tensors.filter((t) => t.name.startsWith('net.blocks.1.')).reduce((a, t) => a + t.numel, 0));
        const qkv = await src.read('net.blocks.0.attn.qkv.weight'); // [96, 32]
        const sl = slice2d(qkv, [96, 32], 1, 0);
        assert.deepStrictEqual([sl.rows, sl.cols], [32, 96]);
        assert.strictEqual(sl.values[5 * 96 + 7], qkv[7 * 32 + 5]);
        const proj1 = await src.read('net.x_embedder.proj1.weight'); // [8, 3, 4, 4]
        const one = slice2d(proj1, [8, 3, 4, 4], 2, 3, [6, 1]);
        assert.strictEqual(one.values[2 * 4 + 3], proj1[((6 * 3 + 1) * 4 + 2) * 4 + 3]);
        const tiles = patchFilters(proj1, [8, 3, 4, 4]);
        assert.deepStrictEqual([tiles.count, tiles.size, tiles.channels, tiles.pixels.length], [8, 4, 3, 8 * 48]);
        assert.ok(tiles.pixels.every((p) => p >= 0 && p <= 1));
        assert.ok(tiles.pixels.some((p) => p === 0 || p === 1), 'each tile spans the full range around 0.5');
      } finally {
        src.close();
      }
    });

    it('compares two checkpoints and EMA against online weights by ||dW|| / ||W||', async () => {
      const a = await openTensorSource(early);
      const b = await openTensorSource(late);
      try {
        const cmp = await compareSources(a, b);
        assert.strictEqual(cmp.pairs.length, a.tensors.length);
        assert.deepStrictEqual([cmp.onlyInReference, cmp.onlyInOther, cmp.shapeMismatches], [[], [], []]);
        const pos = cmp.pairs.find((p) => p.name === 'net.pos_embed')!;
        assert.strictEqual(pos.relChange, 0, 'the frozen sin-cos table does not change');
        const w = await a.read('net.final_layer.linear.weight');
        const w2 = await b.read('net.final_layer.linear.weight');
        let dd = 0;
        let ww = 0;
        for (let i = 0; i < w.length; i++) {
          dd += (w2[i] - w[i]) ** 2;
          ww += w[i] ** 2;
        }
        const pair = cmp.pairs.find((p) => p.name === 'net.final_layer.linear.weight')!;
        assert.strictEqual(pair.relChange, Math.sqrt(dd) / Math.sqrt(ww));
        assert.strictEqual(pair.histogram.counts.reduce((x, y) => x + y, 0), w.length);
        const ema = await compareEmaWithOnline(b, 'ema2');
        assert.strictEqual(ema.pairs.length, paramSpecs(tinyConfig().model).length);
        assert.ok(ema.pairs.every((p) => p.other === `ema2.${p.name}`));
      } finally {
        a.close();
        b.close();
      }
    });
  });

  describe('SIGKILL while writing', () => {
    const CHILD = path.join(__dirname, 'checkpoint-child.ts');

    /** A child process running checkpoint-child.ts, with its stdout events in order. */
    function startChild(...args: string[]) {
      const proc: ChildProcess = spawn(process.execPath, ['--require', 'tsx/cjs', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const events: { type: string; step: number; runDir?: string; file?: string }[] = [];
      const waiters: (() => void)[] = [];
      let stderr = '';
      proc.stderr!.on('data', (d) => (stderr += d));
      readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
        events.push(JSON.parse(l));
        waiters.splice(0).forEach((w) => w());
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => {
        waiters.splice(0).forEach((w) => w());
        resolve(signal);
      }));
      const next = async (type: string) => {
        for (;;) {
          const e = events.find((x) => x.type === type);
          if (e) {
            events.splice(events.indexOf(e), 1);
            return e;
          }
          if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the training process ended early: ${stderr}`);
          await new Promise<void>((r) => waiters.push(r));
        }
      };
      return { proc, next, exited };
    }

    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const temporaries = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes(TMP_MARK));

    it('leaves every committed checkpoint loadable and the run resumable; the next save removes the leftovers', async () => {
      let child = startChild('new', root);
      const runDir = (await child.next('started')).runDir!;
      const dir = path.join(runDir, 'checkpoints');
      let leftovers: string[] = [];
      let killedMidWrite = 0;
      for (let round = 0; round < 4; round++) {
        const first = await child.next('checkpoint');
        // The first save after a restart has removed what the killed process left behind.
        for (const f of leftovers) assert.ok(!fs.existsSync(path.join(dir, f)), `${f} survived the next save`);
        assert.ok(fs.existsSync(first.file!));
        if (round % 2 === 0) {
          // Kill while a checkpoint is being written: as soon as its temporary file appears, or a little later.
          while (temporaries(dir).length === 0) await sleep(2);
          await sleep(Math.random() * 40 * round);
        } else {
          await sleep(Math.random() * 2000);
        }
        child.proc.kill('SIGKILL');
        assert.strictEqual(await child.exited, 'SIGKILL');
        leftovers = temporaries(dir);
        if (leftovers.length) killedMidWrite++;
        const committed = listCheckpoints(runDir);
        assert.ok(committed.length > 0);
        for (const c of committed) assert.strictEqual(loadCheckpoint(c.file).state.step, c.step, `${c.file} does not load`);
        const latest = committed[committed.length - 1];
        child = startChild('resume', latest.file);
        assert.strictEqual((await child.next('started')).step, latest.step, 'the run resumes from its latest checkpoint');
      }
      const last = await child.next('checkpoint');
      for (const f of leftovers) assert.ok(!fs.existsSync(path.join(dir, f)), `${f} survived the next save`);
      child.proc.kill('SIGKILL');
      await child.exited;
      assert.ok(killedMidWrite > 0, 'at least one kill should land while a checkpoint was being written');
      assert.strictEqual(loadCheckpoint(last.file!).state.step, last.step);
    });
  });
});
