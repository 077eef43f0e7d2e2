// Official output folders as runs: discovery in a folder and in a folder of folders, their checkpoints and what
// they say (args, epoch, step), the training curve from event files written as the official code writes them,
// sampling straight from checkpoint-last.pth into <output_dir>/samples, and the sanity checks (weights still at
// the initialisation, an EMA equal to the online weights, a loss that starts over after a wrong resume).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { lossRestarts, checkpointSanity } from '../../src/io/checkpointSanity';
import { encodeCheckpoint, loadCheckpoint } from '../../src/io/checkpoint';
import { importPth } from '../../src/io/convert';
import { OfficialCurve, discoverOfficialRuns, isOfficialOutput, isRunFolder, latestCheckpoint, listOfficialCheckpoints, readOfficialRunInfo, runDirOfCheckpoint } from '../../src/io/officialOutput';
import { exportOfficial } from '../../src/io/officialRun';
import { readJsonLines, runPaths } from '../../src/io/runs';
import { EventLogReader } from '../../src/io/tensorboard/reader';
import { InspectorService } from '../../src/engine/inspectorService';
import { sampleFromCheckpoint } from '../../src/tasks/sampleCheckpoint';
import { OfficialTensor } from '../../src/jit/params';
import { tempDir, useWasm } from './helpers';
import { OFFICIAL_PTH, fixtureLoss, logOfficialEpochs, makeOfficialRun } from './officialFixture';

const f32 = Math.fround;

async function curveOf(dir: string): Promise<OfficialCurve> {
  const c = new OfficialCurve();
  await new EventLogReader(dir).read((e) => c.add(e));
  return c;
}

describe('official output folders as runs', () => {
  const dir = tempDir('jit-official-runs-');
  before(useWasm);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds output folders, alone or inside a synced folder, with their checkpoints in order', () => {
    const cluster = path.join(dir, 'cluster');
    const a = makeOfficialRun(path.join(cluster, 'b16-a'));
    const b = path.join(cluster, 'b16-b');
    fs.mkdirSync(b);
    for (const n of ['checkpoint-200.pth', 'checkpoint-100.pth', 'checkpoint-last.pth', 'checkpoint-x.pth', 'notes.txt']) fs.writeFileSync(path.join(b, n), '');
    fs.mkdirSync(path.join(cluster, 'empty'));
    const ours = path.join(cluster, 'ours');
    fs.mkdirSync(ours);
    fs.writeFileSync(path.join(ours, 'run.json'), '{}');
    fs.writeFileSync(path.join(ours, 'events.out.tfevents.1.h.1.0'), '');
    assert.deepStrictEqual(discoverOfficialRuns([cluster]).map((r) => r.name), ['b16-a', 'b16-b'], 'a run of this project with event files is not an official one');
    assert.deepStrictEqual(discoverOfficialRuns([a, path.join(dir, 'missing')]).map((r) => r.dir), [a]);
    assert.deepStrictEqual(listOfficialCheckpoints(b).map((c) => [path.basename(c.file), c.epoch]), [['checkpoint-100.pth', 100], ['checkpoint-200.pth', 200], ['checkpoint-last.pth', undefined]]);
    assert.strictEqual(latestCheckpoint(b), path.join(b, 'checkpoint-last.pth'));
    assert.strictEqual(runDirOfCheckpoint(path.join(b, 'checkpoint-100.pth')), b);
    assert.strictEqual(runDirOfCheckpoint(path.join(ours, 'checkpoints', 'step-5.safetensors')), ours);
    assert.ok(isOfficialOutput(a) && isRunFolder(a) && isRunFolder(ours) && !isOfficialOutput(ours) && !isRunFolder(path.join(cluster, 'empty')));
  });

  it('reads args, epoch and iterations from a checkpoint without its weights', async () => {
    const info = await readOfficialRunInfo(OFFICIAL_PTH);
    assert.strictEqual(info.epoch, 2);
    assert.strictEqual(info.step, 2);
    assert.strictEqual(info.itersPerEpoch, 2 / 3);
    assert.deepStrictEqual([info.args.model, info.args.img_size, info.args.batch_size, info.args.blr], ['JiT-golden', 32, 4, 5e-5]);
  });

  it('makes the training curve of the event files: train_loss and lr by x, epoch = x / 1000, restarts purged', async () => {
    const run = makeOfficialRun(path.join(dir, 'curve'));
    let c = await curveOf(run);
    assert.strictEqual(c.rows.length, 15);
    assert.deepStrictEqual(c.rows[6], { x: 1200, epoch: 1.2, loss: f32(fixtureLoss(1.2)), lr: f32(5e-5) });
    // A resume from the checkpoint of epoch 1 logs epoch 2 again: the rows after it are replaced, as TensorBoard does.
    logOfficialEpochs(run, 2, 4, (e) => fixtureLoss(e) - 0.01);
    c = await curveOf(run);
    assert.strictEqual(c.rows.length, 20);
    assert.deepStrictEqual(c.rows.map((r) => r.x), Array.from({ length: 20 }, (_, i) => i * 200));
    assert.strictEqual(c.rows[12].loss, f32(fixtureLoss(2.4) - 0.01));
  });

  it('samples straight from checkpoint-last.pth into the output folder\'s samples/, indexed for the gallery', async () => {
    const run = makeOfficialRun(path.join(dir, 'sampled'));
    const r = await sampleFromCheckpoint({ checkpoint: path.join(run, 'checkpoint-last.pth'), n: 2, steps: 2, method: 'euler', cfgScale: 1, intervalMin: 0.1, intervalMax: 1, seed: 3, weights: 'ema1' });
    assert.strictEqual(path.dirname(r.file), runPaths(run).samples);
    assert.match(path.basename(r.file), /^step-2-euler2-cfg1-ema1-seed3\.png$/, 'step is the optimizer\'s');
    assert.ok(r.images.every(Number.isFinite));
    const index = readJsonLines<{ checkpoint: string; step: number }>(runPaths(run).samplesIndex);
    assert.deepStrictEqual(index.map((l) => [l.checkpoint, l.step]), [['checkpoint-last.pth', 2]]);
    assert.deepStrictEqual(discoverOfficialRuns([run]).map((o) => o.name), ['sampled'], 'its samples/ folder is not a run');
  });

  describe('sanity checks', () => {
    let base: ReturnType<typeof loadCheckpoint>;
    const variant = (name: string, edit: (s: typeof base.state) => void): string => {
      const st = { ...base.state, online: new Map(base.state.online), ema1: new Map(base.state.ema1), ema2: new Map(base.state.ema2) };
      edit(st);
      const ck = path.join(dir, `${name}.safetensors`);
      fs.writeFileSync(ck, encodeCheckpoint(base.config, st));
      return exportOfficial(ck, path.join(dir, name), { datasetSize: 4 }).file;
    };
    const zero = (t: OfficialTensor) => ({ shape: t.shape, data: new Float32Array(t.data.length) });

    before(async () => {
      const r = await importPth(OFFICIAL_PTH, path.join(dir, 'sanity.safetensors'), { inContextStart: 2 });
      base = loadCheckpoint(r.file);
    });

    it('passes a trained checkpoint of either format', async () => {
      assert.deepStrictEqual(await checkpointSanity(OFFICIAL_PTH), []);
      assert.deepStrictEqual(await checkpointSanity(path.join(dir, 'sanity.safetensors')), []);
    });

    it('flags weights still at the official initialisation past epoch 0', async () => {
      const file = variant('at-init', (s) => {
        for (const m of [s.online, s.ema1, s.ema2]) for (const [k, t] of m) if (/final_layer|adaLN/.test(k)) m.set(k, zero(t));
      });
      const w = await checkpointSanity(file);
      assert.deepStrictEqual(w.map((x) => x.kind), ['initialWeights']);
      assert.match(w[0].message, /is at epoch 1, but in the online weights the output head and adaLN are still exactly zero/);
      // The inspector says so when it opens the file.
      const inspector = new InspectorService();
      const opened = await inspector.open({ file });
      assert.deepStrictEqual(opened.warnings, [w[0].message]);
      inspector.close(opened.session);
    });

    it('flags an EMA copy equal to the online weights after many steps', async () => {
      const file = variant('ema-reset', (s) => {
        s.step = 5000;
        s.adamStep = 5000;
        s.ema1 = new Map(s.online);
      });
      const w = await checkpointSanity(file);
      assert.deepStrictEqual(w.map((x) => x.kind), ['emaEqualsOnline']);
      assert.match(w[0].message, /ema1 copy equals the online weights after 5000 steps/);
    });

    it('flags a loss curve that starts over at its initial level, not a resume from a checkpoint', async () => {
      const run = makeOfficialRun(path.join(dir, 'restarted'));
      logOfficialEpochs(run, 2, 4, (e) => fixtureLoss(e) - 0.01); // a resume from epoch 1: fine
      const resumed: [number, number][] = [];
      await new EventLogReader(run).read((e) => e.scalars.forEach((s) => s.tag === 'train_loss' && resumed.push([e.step, s.value])));
      assert.deepStrictEqual(lossRestarts(resumed), []);
      logOfficialEpochs(run, 0, 2); // --resume named the .pth: "Training from scratch"
      const all: [number, number][] = [];
      await new EventLogReader(run).read((e) => e.scalars.forEach((s) => s.tag === 'train_loss' && all.push([e.step, s.value])));
      const r = lossRestarts(all);
      assert.strictEqual(r.length, 1);
      assert.strictEqual(r[0].x, 0);
      assert.ok(r[0].before < 0.4 && r[0].after > 0.85 && r[0].after === r[0].initial, JSON.stringify(r[0]));
    });
  });
});
