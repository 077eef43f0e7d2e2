// The defaults a new user trains with (chosen by measurement, docs/defaults.md): the same for `jit train` with no
// options, "JiT: Start Training" pressed through with Enter, and a preset's settings when only the preset is named.
import * as assert from 'assert';
import { DEFAULT_PRESET, DEFAULT_STEPS, dims, getPreset, modelConfigFromPreset } from '../../src/jit/config';
import { lrAt } from '../../src/jit/schedule';
import { resolveRunConfig } from '../../src/io/runConfig';
import { buildProgram } from '../../src/cli/main';

describe('defaults', () => {
  it('JiT-Ti/8 keeps the large-patch design: 192-dim patches through a 32-dim bottleneck', () => {
    assert.strictEqual(DEFAULT_PRESET, 'JiT-Ti/8');
    const d = dims(modelConfigFromPreset(DEFAULT_PRESET, 8));
    assert.strictEqual(d.patchDim, 192);
    assert.strictEqual(d.numPatches, 16);
    assert.ok(d.patchDim >= 4 * getPreset(DEFAULT_PRESET).model.bottleneckDim);
  });

  it('a run with no options: JiT-Ti/8, 2000 steps, batch 32, peak lr 4e-3 with 100 warmup steps and a cosine decay, EMA 0.99/0.999', () => {
    const c = resolveRunConfig({ numClasses: 8 });
    assert.deepStrictEqual(
      { preset: c.preset, steps: c.steps, batch: c.batch, warmup: c.warmupSteps, schedule: c.schedule, ema1: c.emaDecay1, ema2: c.emaDecay2 },
      { preset: 'JiT-Ti/8', steps: DEFAULT_STEPS, batch: 32, warmup: 100, schedule: 'cosine', ema1: 0.99, ema2: 0.999 });
    assert.ok(Math.abs(c.lr - 4e-3) < 1e-12, `lr ${c.lr}`);
    const s = { kind: c.schedule, lr: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps, minLr: c.minLr };
    assert.ok(Math.abs(lrAt(s, 101) - 4e-3) < 1e-12, 'peak after warmup');
    assert.ok(lrAt(s, c.steps) < 1e-7, 'decayed to ~0 at the last step');
  });

  it('the learning rate follows the batch (blr x batch / 256), and the official presets keep the official settings', () => {
    assert.ok(Math.abs(resolveRunConfig({ numClasses: 8, batch: 16 }).lr - 2e-3) < 1e-12);
    const b = resolveRunConfig({ preset: 'JiT-B/16', numClasses: 1000 });
    assert.deepStrictEqual([b.schedule, b.emaDecay1, b.emaDecay2, b.blr], ['constant', 0.9999, 0.9996, 5e-5]);
  });

  it('jit train leaves --preset\'s schedule alone unless --schedule is given', () => {
    const opts = (args: string[]) => {
      const train = buildProgram().commands.find((c) => c.name() === 'train')!;
      train.parseOptions(args);
      return train.opts();
    };
    assert.strictEqual(opts([]).preset, 'JiT-Ti/8');
    assert.strictEqual(opts([]).schedule, undefined);
    assert.strictEqual(opts(['--schedule', 'constant']).schedule, 'constant');
    assert.strictEqual(opts(['--warmup', '0', '--ema-decay1', '0.9']).warmup, 0);
  });
});
