// Handing a run to the official PyTorch code: the pickle writer and torch.save's zip layout read back exactly by
// this project's restricted .pth reader (ZIP64 included); `jit export --official` of a run trained here gives a
// checkpoint-last.pth with the official sections, groups, order and epoch, which `jit import` turns back into the
// same run, and which real PyTorch loads as main_jit.py --resume does (strict state dicts, AdamW over the
// official groups, one optimizer step).
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadCheckpoint } from '../../src/io/checkpoint';
import { importPth, readOfficialCheckpoint } from '../../src/io/convert';
import { OFFICIAL_LAST_CHECKPOINT, exportOfficial, officialLrAt, officialParamGroups } from '../../src/io/officialRun';
import { PyDict, PyNamespace, PyTuple, TorchTensor } from '../../src/io/pickle';
import { PyFloat, PyNamespaceOut, PyOrderedDict, PyTupleOut, TensorOut } from '../../src/io/pickleWriter';
import { PthArchive, toPlain } from '../../src/io/pth';
import { writePth } from '../../src/io/pthWriter';
import { paramSpecs } from '../../src/jit/params';
import { runTraining } from '../../src/run/loop';
import { FIXTURES, tempDir, useWasm } from './helpers';
import { pythonWith, runPython } from './python';

const ROOT = path.join(__dirname, '..', '..');
const OFFICIAL = path.join(FIXTURES, 'golden', 'jit-tiny-a-official.pth');

function jit(...args: string[]) {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sum = (a: Float32Array) => a.reduce((s, x) => s + x, 0);

/** Every tensor of an archive by dotted name, as float32. */
async function tensorsOf(file: string): Promise<{ archive: PthArchive; tensors: Map<string, { shape: number[]; data: Float32Array }> }> {
  const archive = await PthArchive.open(file);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const walk = async (v: unknown, name: string): Promise<void> => {
    if (v instanceof TorchTensor) tensors.set(name, { shape: v.shape, data: await archive.readTensor(v) });
    else if (v instanceof PyDict) for (const [k, x] of v.map) await walk(x, name ? `${name}.${String(k)}` : String(k));
  };
  await walk(archive.root, '');
  return { archive, tensors };
}

describe('official run export (checkpoint-last.pth for main_jit.py --resume)', () => {
  const dir = tempDir('jit-official-');
  before(useWasm);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes pickles and torch.save zips that the restricted reader reads back exactly, ZIP64 included', async () => {
    const weights = Float32Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i) * 1e3));
    const root = new Map<string, any>([
      ['model', new PyOrderedDict([['a.weight', new TensorOut('F32', [2, 3, 4], weights)], ['s', new TensorOut('F32', [], Float32Array.of(7))]])],
      ['ints', [0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2 ** 40, -(2 ** 40), 2 ** 53 - 1]],
      ['big', 2n ** 70n], ['floats', [new PyFloat(1), 0.5, -1e-300, Number.MAX_VALUE]], ['none', null], ['flags', [true, false]],
      ['text', 'päth ✓'], ['tuple', new PyTupleOut([1, new PyTupleOut([]), new PyTupleOut([2, 3, 4, 5])])],
      ['many', Array.from({ length: 2500 }, (_, i) => i)], ['map', new Map<string | number, any>([[3, 'x'], ['y', new Map()]])],
      ['args', new PyNamespaceOut(new Map<string, any>([['model', 'JiT-B/16'], ['lr', new PyFloat(5e-5)], ['batch_size', 128]]))],
    ]);
    for (const zip64 of ['auto', 'always'] as const) {
      const file = path.join(dir, `roundtrip-${zip64}.pth`);
      writePth(file, root, { prefix: 'roundtrip', zip64 });
      const { archive, tensors } = await tensorsOf(file);
      try {
        assert.strictEqual(archive.layout.prefix, 'roundtrip');
        assert.strictEqual(archive.layout.version, '3');
        assert.strictEqual(archive.layout.byteOrder, 'little');
        assert.deepStrictEqual([...tensors.get('model.a.weight')!.data], [...weights]);
        assert.deepStrictEqual(tensors.get('model.a.weight')!.shape, [2, 3, 4]);
        assert.deepStrictEqual(tensors.get('model.s')!.shape, []);
        const r = archive.root as PyDict;
        assert.ok(r.map.get('model') instanceof PyDict && (r.map.get('model') as PyDict).ordered);
        const plain = toPlain(r) as Record<string, unknown>;
        assert.deepStrictEqual(plain.ints, [0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2 ** 40, -(2 ** 40), 2 ** 53 - 1]);
        assert.strictEqual(r.map.get('big'), 2n ** 70n);
        assert.deepStrictEqual(plain.floats, [1, 0.5, -1e-300, Number.MAX_VALUE]);
        assert.deepStrictEqual([plain.none, plain.flags, plain.text], [null, [true, false], 'päth ✓']);
        assert.ok(r.map.get('tuple') instanceof PyTuple);
        assert.deepStrictEqual(plain.tuple, [1, [], [2, 3, 4, 5]]);
        assert.deepStrictEqual(plain.many, Array.from({ length: 2500 }, (_, i) => i));
        assert.deepStrictEqual(plain.map, { 3: 'x', y: {} });
        assert.ok(r.map.get('args') instanceof PyNamespace);
        assert.deepStrictEqual(plain.args, { model: 'JiT-B/16', lr: 5e-5, batch_size: 128 });
      } finally {
        archive.close();
      }
      // Every storage starts on a 64-byte boundary, as torch aligns them.
      const b = fs.readFileSync(file);
      for (let at = 0; b.readUInt32LE(at) === 0x04034b50;) {
        const nameLen = b.readUInt16LE(at + 26);
        const extraLen = b.readUInt16LE(at + 28);
        const dataAt = at + 30 + nameLen + extraLen;
        assert.strictEqual(dataAt % 64, 0, b.toString('utf8', at + 30, at + 30 + nameLen));
        const size = b.readUInt32LE(at + 18) === 0xffffffff ? Number(b.readBigUInt64LE(at + 30 + nameLen + 4)) : b.readUInt32LE(at + 18);
        at = dataAt + size;
      }
    }
  });

  it('real PyTorch loads what the pickle writer writes, ZIP64 included', function () {
    const py = pythonWith(this, ['torch'], 'python3-torch');
    for (const zip64 of ['auto', 'always']) {
      const loaded = JSON.parse(runPython(py, 'official_resume.py', ['load', path.join(dir, `roundtrip-${zip64}.pth`)]));
      const entries = new Map<string, any>(loaded.dict);
      assert.deepStrictEqual(entries.get('model').OrderedDict[0], ['a.weight', { tensor: [2, 3, 4], dtype: 'torch.float32', values: Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i) * 1e3)) }]);
      assert.deepStrictEqual(entries.get('model').OrderedDict[1], ['s', { tensor: [], dtype: 'torch.float32', values: [7] }]);
      assert.deepStrictEqual(entries.get('ints'), [0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2 ** 40, -(2 ** 40), 2 ** 53 - 1]);
      assert.strictEqual(entries.get('big'), 1180591620717411303424);
      assert.deepStrictEqual(entries.get('floats'), [{ float: 1 }, { float: 0.5 }, { float: -1e-300 }, { float: Number.MAX_VALUE }]);
      assert.deepStrictEqual(entries.get('tuple'), { tuple: [1, { tuple: [] }, { tuple: [2, 3, 4, 5] }] });
      assert.deepStrictEqual(entries.get('text'), 'päth ✓');
      assert.strictEqual(entries.get('many').length, 2500);
      assert.deepStrictEqual(entries.get('args'), { namespace: { model: 'JiT-B/16', lr: { float: 5e-5 }, batch_size: 128 } });
    }
  });

  describe('a run trained here, exported with jit export --official', () => {
    const outputDir = path.join(dir, 'output_dir');
    let checkpoint: string;
    let exported: ReturnType<typeof exportOfficial>;

    before(async function () {
      // The official golden checkpoint (JiT-golden: 32 px, hidden 64), imported and trained 3 more steps here.
      const imported = await importPth(OFFICIAL, path.join(dir, 'run'), { inContextStart: 2 });
      const r = await runTraining({ runsRoot: dir, resumeFrom: imported.file, untilStep: 5, workers: 0 });
      assert.strictEqual(r.step, 5);
      checkpoint = path.join(dir, 'run', 'checkpoints', 'step-5.safetensors');
      exported = exportOfficial(checkpoint, outputDir, { datasetSize: 6, gpus: 2 });
    });

    it('holds the official sections, groups, order, epoch and args, read back exactly', async () => {
      const { config: cfg, state } = loadCheckpoint(checkpoint);
      assert.strictEqual(exported.file, path.join(outputDir, OFFICIAL_LAST_CHECKPOINT));
      // 5 steps x batch 4 = 20 images of a 6-image data set: 3 epochs done (0, 1, 2), 2 images into the 4th.
      assert.deepStrictEqual([state.imagesSeen, exported.epoch, exported.leftoverImages], [20, 2, 2]);
      const { archive, tensors } = await tensorsOf(exported.file);
      try {
        const root = archive.root as PyDict;
        assert.deepStrictEqual([...root.map.keys()], ['model', 'optimizer', 'epoch', 'args', 'model_ema1', 'model_ema2', 'jit_explorer']);
        assert.strictEqual(root.map.get('epoch'), 2);
        const specs = paramSpecs(cfg.model);
        for (const [section, source] of [['model', state.online], ['model_ema1', state.ema1], ['model_ema2', state.ema2]] as const) {
          assert.deepStrictEqual([...(root.map.get(section) as PyDict).map.keys()], specs.map((s) => s.name), `${section}: every state-dict key in order`);
          for (const s of specs) {
            const t = tensors.get(`${section}.${s.name}`)!;
            assert.deepStrictEqual(t.shape, s.shape);
            assert.deepStrictEqual(t.data, (source.get(s.name) ?? state.online.get(s.name))!.data, `${section}.${s.name} exactly`);
          }
        }
        const opt = toPlain((root.map.get('optimizer') as PyDict).map.get('param_groups')!) as Record<string, unknown>[];
        const [noDecay, decay] = officialParamGroups(cfg.model);
        assert.deepStrictEqual(opt.map((g) => g.params), [noDecay.map((_, i) => i), decay.map((_, i) => noDecay.length + i)]);
        assert.deepStrictEqual(opt.map((g) => [g.betas, g.eps, g.weight_decay, g.amsgrad]), [[[0.9, 0.95], 1e-8, 0, false], [[0.9, 0.95], 1e-8, cfg.weightDecay, false]]);
        assert.strictEqual(cfg.weightDecay, 0.01, 'the golden run decays its weights: group 1 carries it');
        assert.ok(noDecay.every((n) => /\.bias$|norm|posemb|pos_embed/.test(n)) && !noDecay.includes('net.pos_embed'));
        [...noDecay, ...decay].forEach((name, id) => {
          assert.deepStrictEqual(tensors.get(`optimizer.state.${id}.exp_avg`)!.data, state.adamM.get(name)!.data, `exp_avg ${id} is ${name}`);
          assert.deepStrictEqual(tensors.get(`optimizer.state.${id}.exp_avg_sq`)!.data, state.adamV.get(name)!.data, `exp_avg_sq ${id} is ${name}`);
          assert.deepStrictEqual([...tensors.get(`optimizer.state.${id}.step`)!.data], [state.adamStep]);
        });
        const args = toPlain(root.map.get('args')!) as Record<string, unknown>;
        assert.ok(root.map.get('args') instanceof PyNamespace);
        assert.deepStrictEqual(
          [args.model, args.img_size, args.class_num, args.batch_size, args.world_size, args.lr, args.ema_decay1, args.ema_decay2, args.P_mean, args.P_std, args.t_eps, args.noise_scale, args.label_drop_prob, args.output_dir, args.resume, args.start_epoch],
          [cfg.preset, 32, 10, 2, 2, cfg.lr, cfg.emaDecay1, cfg.emaDecay2, -0.8, 0.8, 0.05, 1, 0.1, outputDir, outputDir, 3]);
        assert.ok(Math.abs((args.blr as number) * 4 / 256 - cfg.lr) < 1e-15, 'blr x effective batch / 256 is the run\'s learning rate');
        assert.strictEqual(opt[0].lr, officialLrAt(exported.args, 3));
      } finally {
        archive.close();
      }
    });

    it('prints the torchrun line that continues the run, and the JiT_models entry its model needs', () => {
      assert.ok(exported.command.startsWith('torchrun --nproc_per_node=2 main_jit.py --model JiT-golden '), exported.command);
      for (const flag of ['--model JiT-golden', '--img_size 32', '--class_num 10', '--batch_size 2', `--output_dir ${outputDir}`, `--resume ${outputDir}`, '--epochs 4', '--weight_decay 0.01', '--blr 0.0032 ']) {
        assert.ok(exported.command.includes(flag), `${flag} in ${exported.command}`);
      }
      assert.match(exported.command, /--blr [0-9.e-]+ /);
      assert.ok(!/--lr |--world_size|--start_epoch/.test(exported.command), 'session arguments are left to main_jit.py');
      assert.strictEqual(exported.modelEntry, [
        'def JiT_golden(**kwargs):',
        '    return JiT(depth=4, hidden_size=64, num_heads=4, bottleneck_dim=16,',
        '               in_context_len=4, in_context_start=2, patch_size=8, **kwargs)',
        'JiT_models["JiT-golden"] = JiT_golden',
      ].join('\n'));
      assert.ok(exported.notes.some((n) => /2 images of the unfinished epoch 3 are seen again/.test(n)), exported.notes.join('\n'));
      assert.ok(exported.notes.some((n) => /built-in shapes/.test(n)));
    });

    it('jit import gives back the same run', async () => {
      const back = await readOfficialCheckpoint(exported.file);
      const { config, state } = loadCheckpoint(checkpoint);
      assert.deepStrictEqual(back.config, config);
      assert.deepStrictEqual(back.warnings, []);
      assert.strictEqual(back.epoch, 2);
      for (const k of ['step', 'imagesSeen', 'seconds', 'adamStep', 'dataRng', 'noiseRng'] as const) assert.deepStrictEqual(back.state[k], state[k], k);
      for (const k of ['online', 'ema1', 'ema2', 'adamM', 'adamV'] as const) {
        for (const [name, t] of state[k]) assert.deepStrictEqual(back.state[k].get(name)!.data, t.data, `${k} ${name}`);
      }
      // From the command line, naming the output folder as --resume does
      const r = jit('import', outputDir, '--out', path.join(dir, 'back.safetensors'));
      assert.strictEqual(r.status, 0, r.stderr);
      assert.deepStrictEqual(loadCheckpoint(path.join(dir, 'back.safetensors')).config, config);
    });

    it('real PyTorch resumes it as main_jit.py does: strict state dicts, AdamW over the official groups, one step', function () {
      const py = pythonWith(this, ['torch'], 'python3-torch');
      const { config: cfg, state } = loadCheckpoint(checkpoint);
      const specs = paramSpecs({ ...cfg.model, freezePatchEmbed: false });
      const sums = (m: Map<string, { data: Float32Array }>, names: string[]) => Object.fromEntries(names.map((n) => [n, sum((m.get(n) ?? state.online.get(n))!.data)]));
      const names = specs.map((s) => s.name);
      const trainable = specs.filter((s) => s.trainable).map((s) => s.name);
      const expect = {
        specs: specs.map((s) => ({ name: s.name, shape: s.shape, trainable: s.trainable })),
        sums: { model: sums(state.online, names), model_ema1: sums(state.ema1, names), model_ema2: sums(state.ema2, names), exp_avg: sums(state.adamM, trainable), exp_avg_sq: sums(state.adamV, trainable) },
        adamStep: state.adamStep,
      };
      const expectFile = path.join(dir, 'expect.json');
      fs.writeFileSync(expectFile, JSON.stringify(expect));
      const report = JSON.parse(runPython(py, 'official_resume.py', ['resume', exported.file, expectFile]));
      assert.deepStrictEqual(report.keys, ['args', 'epoch', 'jit_explorer', 'model', 'model_ema1', 'model_ema2', 'optimizer']);
      assert.strictEqual(report.strict_loads, 3);
      const [noDecay, decay] = officialParamGroups(cfg.model);
      assert.deepStrictEqual(report.group_sizes, [noDecay.length, decay.length]);
      assert.deepStrictEqual(report.betas, [0.9, 0.95]);
      assert.strictEqual(report.params_with_state, trainable.length);
      assert.strictEqual(report.changed_by_step, trainable.length, 'the step moved every trainable parameter');
      assert.deepStrictEqual(report.steps_after, [state.adamStep + 1]);
      assert.strictEqual(report.start_epoch, 3);
      assert.deepStrictEqual(report.args.lr, ['float', cfg.lr]);
      assert.deepStrictEqual(report.args.batch_size, ['int', 2]);
      assert.deepStrictEqual(report.args.noise_scale, ['float', 1]);
      assert.deepStrictEqual(report.args.model, ['str', 'JiT-golden']);
    });

    it('jit export --official from the command line, and its mistakes explained', () => {
      const out = path.join(dir, 'cli-output');
      const r = jit('export', path.join(dir, 'run'), '--official', out, '--dataset-size', '6', '--gpus', '4', '--nodes', '2', '--batch-size', '8');
      assert.strictEqual(r.status, 0, r.stderr);
      assert.ok(fs.existsSync(path.join(out, OFFICIAL_LAST_CHECKPOINT)));
      assert.match(r.stdout, /^wrote .*checkpoint-last\.pth\n {2}from step-5\.safetensors: 20 images seen = 3\.33 epochs of 6; recorded as epoch 2, so the official code continues at epoch 3\n/);
      assert.match(r.stdout, /effective batch changes from 4 to 64 \(8 x 8 GPUs\)/);
      assert.match(r.stdout, /add this to model_jit\.py[^\n]*\n {2}def JiT_golden\(\*\*kwargs\):/);
      assert.match(r.stdout, /continue the run with:\n {2}torchrun --nproc_per_node=4 --nnodes=2 --node_rank=\$NODE_RANK .*main_jit\.py .*--batch_size 8 /);
      const neither = jit('export', checkpoint);
      assert.notStrictEqual(neither.status, 0);
      assert.match(neither.stderr, /Give either --out <file\.safetensors> .* or --official <output_dir>/);
      const builtin = jit('export', checkpoint, '--official', out);
      assert.notStrictEqual(builtin.status, 0);
      assert.match(builtin.stderr, /built-in shapes, which have no fixed size: give --dataset-size/);
    });
  });
});
