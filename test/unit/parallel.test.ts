import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { createShapesDataset } from '../../src/train/data/shapes';
import { resolveRunConfig } from '../../src/io/runConfig';
import { TfjsTrainer } from '../../src/train/tfjsTrainer';
import { splitShard } from '../../src/train/shard';
import * as fs from 'fs';
import * as path from 'path';
import { autoWorkers, MAX_AUTO_TRAINING_THREADS } from '../../src/run/loop';
import { useWasm } from './helpers';

describe('data-parallel training (worker threads)', function () {
  before(useWasm);

  it("'auto' adds one worker per further core on wasm and cpu, up to four threads in all, and none on native TensorFlow", () => {
    assert.deepStrictEqual([1, 2, 3, 4, 8, 64].map((cores) => autoWorkers('wasm', cores)), [0, 1, 2, 3, 3, 3]);
    assert.strictEqual(autoWorkers('cpu', 16), 3);
    assert.strictEqual(autoWorkers('tensorflow', 16), 0);
    assert.strictEqual(MAX_AUTO_TRAINING_THREADS, 4);
  });

  it('the README states the same cap wherever it describes the worker threads', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const mentions = readme.split(/(?<=\.) /).filter((sentence) => /per further core/.test(sentence));
    assert.ok(mentions.length > 0, 'the README no longer describes the data-parallel workers');
    for (const sentence of mentions) assert.match(sentence, /up to four threads in all/, sentence);
  });

  it('splits a batch into near-equal shards that cover it in order', () => {
    const n = 5;
    const s = { images: Float32Array.from({ length: n * 2 }, (_, i) => i), e: new Float32Array(n * 2), t: Float32Array.from({ length: n }, (_, i) => i), labels: new Int32Array(n) };
    const parts = splitShard(s, 2);
    assert.deepStrictEqual(parts.map((p) => [...p.t]), [[0, 1, 2], [3, 4]]);
    assert.deepStrictEqual([...parts[1].images], [6, 7, 8, 9]);
  });

  it('follows the same loss trajectory and weights as single-thread training for the same seed', async () => {
    const cfg = resolveRunConfig({ preset: 'JiT-Ti/4', numClasses: 8, steps: 10, batch: 4, seed: 3 });
    const run = async (workers: number) => {
      const tr = new TfjsTrainer(cfg, createShapesDataset(32));
      await tr.useWorkers(workers, 'wasm');
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) losses.push((await tr.trainStep()).loss);
      const w = tr.params.get('net.blocks.1.attn.qkv.weight')!.dataSync().slice();
      const tensors = tf.memory().numTensors;
      await tr.trainStep();
      const leaked = tf.memory().numTensors - tensors;
      await tr.dispose();
      return { losses, w, leaked };
    };
    const single = await run(0);
    const parallel = await run(1);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(single.losses[i] - parallel.losses[i]) <= 1e-5 * single.losses[i], `step ${i + 1}: ${single.losses[i]} vs ${parallel.losses[i]}`);
    let maxDiff = 0;
    for (let i = 0; i < single.w.length; i++) maxDiff = Math.max(maxDiff, Math.abs(single.w[i] - parallel.w[i]));
    assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
    assert.strictEqual(parallel.leaked, 0);
  });
});
