// Official interop: the official .pth checkpoint is read exactly (every tensor of every section against the sums
// of its .json), in every zip layout torch writes; it imports into a run that samples and resumes and exports back
// to the official state dict. Hostile pickles are refused before anything could run.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadCheckpoint } from '../../src/io/checkpoint';
import { exportForPyTorch, importPth, readOfficialCheckpoint } from '../../src/io/convert';
import { compareEmaWithOnline, compareSources, inspectFile, openTensorSource, summarizeTensor } from '../../src/io/inspect';
import { PickleError, PyDict, PyNamespace, unpickle } from '../../src/io/pickle';
import { PthArchive, PthError } from '../../src/io/pth';
import { readHeader, readSafetensors } from '../../src/io/safetensors';
import { sampleFromCheckpoint } from '../../src/tasks/sampleCheckpoint';
import { runTraining } from '../../src/run/loop';
import { FIXTURES, GOLDEN, tempDir, useWasm } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const OFFICIAL = path.join(FIXTURES, 'golden', 'jit-tiny-a-official.pth');
type Expected = Record<'model' | 'model_ema1' | 'model_ema2', Record<string, { shape: number[]; sum: number }>> & { epoch: number; args: Record<string, unknown> };
const expected: Expected = JSON.parse(fs.readFileSync(`${OFFICIAL}.json`, 'utf8'));

// yauzl and yazl ship no type declarations; these are the parts the tests use.
interface ZipEntry { fileName: string }
interface ZipReader {
  eachEntry(): AsyncIterable<ZipEntry>;
  openReadStreamPromise(e: ZipEntry): Promise<NodeJS.ReadableStream>;
  close(): void;
}
const yauzl: { openPromise(file: string, o: { lazyEntries: boolean; autoClose: boolean }): Promise<ZipReader> } = require('yauzl');
interface ZipWriter {
  addBuffer(data: Buffer, name: string, o?: { compress?: boolean }): void;
  end(): void;
  outputStream: NodeJS.ReadableStream;
}
const yazl: { ZipFile: new () => ZipWriter } = require('yazl');

async function readZip(file: string): Promise<[string, Buffer][]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  const out: [string, Buffer][] = [];
  for await (const e of zip.eachEntry()) {
    const chunks: Buffer[] = [];
    for await (const c of (await zip.openReadStreamPromise(e)) as AsyncIterable<Buffer>) chunks.push(c);
    out.push([e.fileName, Buffer.concat(chunks)]);
  }
  zip.close();
  return out;
}

async function writeZip(file: string, entries: [string, Buffer][], compress = false): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of entries) zip.addBuffer(data, name, { compress });
  zip.end();
  await new Promise<void>((resolve, reject) => {
    const out = fs.createWriteStream(file);
    out.on('close', () => resolve()).on('error', reject);
    zip.outputStream.pipe(out);
  });
  return file;
}

/** Assembles pickle bytes opcode by opcode (protocol 2 as torch.save writes it, plus STACK_GLOBAL of protocol 4). */
class Pickle {
  private parts: Buffer[] = [];
  op(...codes: number[]): this {
    this.parts.push(Buffer.from(codes));
    return this;
  }
  proto(n = 2) { return this.op(0x80, n); }
  global(module: string, name: string) {
    this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'utf8'));
    return this;
  }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58;
    h.writeUInt32LE(b.length, 1);
    this.parts.push(h, b);
    return this;
  }
  shortStr(s: string) { return this.op(0x8c, Buffer.byteLength(s)).raw(Buffer.from(s)); }
  raw(b: Buffer) {
    this.parts.push(b);
    return this;
  }
  int(n: number) {
    const h = Buffer.alloc(5);
    h[0] = 0x4a;
    h.writeInt32LE(n, 1);
    this.parts.push(h);
    return this;
  }
  ints(xs: number[]) {
    this.mark();
    for (const x of xs) this.int(x);
    return this.op(0x74);
  }
  mark() { return this.op(0x28); }
  tuple() { return this.op(0x74); }
  tuple1() { return this.op(0x85); }
  emptyTuple() { return this.op(0x29); }
  emptyDict() { return this.op(0x7d); }
  setitems() { return this.op(0x75); }
  reduce() { return this.op(0x52); }
  stop() { return this.op(0x2e); }
  orderedDict() { return this.global('collections', 'OrderedDict').emptyTuple().reduce(); }
  storage(key: string, numel: number, type = 'FloatStorage') {
    return this.mark().str('storage').global('torch', type).str(key).str('cpu').int(numel).tuple().op(0x51);
  }
  tensor(key: string, numel: number, offset: number, shape: number[], stride: number[]) {
    this.global('torch._utils', '_rebuild_tensor_v2').mark().storage(key, numel).int(offset).ints(shape).ints(stride);
    return this.op(0x89).orderedDict().tuple().reduce();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** {'model': OrderedDict(name -> tensor)} around the given tensor pickles. */
function stateDictPickle(tensors: [string, (p: Pickle) => Pickle][]): Buffer {
  const p = new Pickle().proto().emptyDict().mark().str('model').orderedDict().mark();
  for (const [name, t] of tensors) t(p.str(name));
  return p.setitems().setitems().stop().bytes();
}

const f32 = (xs: number[]) => Buffer.from(Float32Array.from(xs).buffer);

function closeTo(actual: Float32Array, sum: number, name: string): void {
  let s = 0;
  let a = 0;
  for (const x of actual) {
    s += x;
    a += Math.abs(x);
  }
  assert.ok(Math.abs(s - sum) <= 1e-12 * a, `${name}: sum ${s} differs from ${sum}`);
}

function correlation(a: Float64Array, b: Float64Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Runs the real CLI (from source) and returns its exit status and output. */
function jit(...args: string[]) {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('official PyTorch checkpoints (.pth)', () => {
  const dir = tempDir('jit-pth-');
  before(useWasm);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads every tensor of every section with the shapes and sums of its .json, the epoch and the args', async () => {
    const ck = await readOfficialCheckpoint(OFFICIAL, { inContextStart: 2 });
    for (const [section, got] of [['model', ck.state.online], ['model_ema1', ck.state.ema1], ['model_ema2', ck.state.ema2]] as const) {
      assert.deepStrictEqual([...got.keys()], Object.keys(expected[section]), `${section}: names or order differ`);
      for (const [name, e] of Object.entries(expected[section])) {
        assert.deepStrictEqual(got.get(name)!.shape, e.shape, `${section}.${name}`);
        closeTo(got.get(name)!.data, e.sum, `${section}.${name}`);
      }
    }
    assert.strictEqual(ck.epoch, expected.epoch);
    assert.deepStrictEqual(ck.args, expected.args);
  });

  it('infers the model and training configuration from the shapes and the pickled args', async () => {
    const golden = JSON.parse(fs.readFileSync(GOLDEN.replace(/\.safetensors$/, '.json'), 'utf8')).config;
    const ck = await readOfficialCheckpoint(OFFICIAL, { inContextStart: golden.in_context_start });
    assert.deepStrictEqual(ck.config.model, {
      inputSize: golden.input_size, patchSize: golden.patch_size, inChannels: 3, hiddenSize: golden.hidden_size, depth: golden.depth,
      numHeads: golden.num_heads, mlpRatio: golden.mlp_ratio, bottleneckDim: golden.bottleneck_dim, numClasses: golden.num_classes,
      inContextLen: golden.in_context_len, inContextStart: golden.in_context_start, freezePatchEmbed: false,
    });
    const a = expected.args;
    assert.deepStrictEqual(ck.config.diffusion, { pMean: a.P_mean, pStd: a.P_std, tEps: a.t_eps, noiseScale: a.noise_scale, labelDropProb: a.label_drop_prob, target: 'x' });
    assert.strictEqual(ck.config.preset, a.model);
    assert.strictEqual(ck.config.batch, a.batch_size);
    assert.strictEqual(ck.config.blr, a.blr);
    assert.strictEqual(ck.config.lr, a.lr);
    assert.strictEqual(ck.config.emaDecay1, a.ema_decay1);
    assert.strictEqual(ck.config.emaDecay2, a.ema_decay2);
    assert.strictEqual(ck.state.step, 2);
    assert.strictEqual(ck.state.adamStep, 2);
    assert.deepStrictEqual(ck.warnings, []);
    const guessed = await readOfficialCheckpoint(OFFICIAL);
    assert.match(guessed.warnings.join(' '), /in-context tokens start is not stored in a checkpoint; assumed \d+ \(set it with --in-context-start\)/);
  });

  it('maps the optimizer moments to their parameters (the last update, recovered from both EMA copies, follows -m/sqrt(v))', async () => {
    const ck = await readOfficialCheckpoint(OFFICIAL, { inContextStart: 2 });
    const src = await openTensorSource(OFFICIAL);
    const group = (src.metadata['optimizer.param_groups'] as { lr: number; betas: number[]; eps: number; weight_decay: number }[])[0];
    src.close();
    const s = ck.state;
    const d1 = ck.config.emaDecay1;
    const d2 = ck.config.emaDecay2;
    const k = s.adamStep;
    // After two steps from W0 (each EMA started as a copy of W0): ema = d^2 W0 + d (1 - d) W1 + (1 - d) W2. Two
    // decays give two equations for W0 and W1; AdamW's last update is W2 - W1 = -lr (m^ / (sqrt(v^) + eps) + wd W1).
    const update = (name: string, moments: string) => {
      const W2 = s.online.get(name)!.data;
      const e1 = s.ema1.get(name)!.data;
      const e2 = s.ema2.get(name)!.data;
      const m = s.adamM.get(moments)!.data;
      const v = s.adamV.get(moments)!.data;
      const actual = new Float64Array(W2.length);
      const predicted = new Float64Array(W2.length);
      const det = d1 * d1 * d2 * (1 - d2) - d2 * d2 * d1 * (1 - d1);
      for (let i = 0; i < W2.length; i++) {
        const r1 = e1[i] - (1 - d1) * W2[i];
        const r2 = e2[i] - (1 - d2) * W2[i];
        const W1 = (d1 * d1 * r2 - d2 * d2 * r1) / det;
        actual[i] = W2[i] - W1;
        const mh = m[i] / (1 - group.betas[0] ** k);
        const vh = v[i] / (1 - group.betas[1] ** k);
        predicted[i] = -group.lr * (mh / (Math.sqrt(vh) + group.eps) + group.weight_decay * W1);
      }
      return correlation(actual, predicted);
    };
    const names = [...s.adamM.keys()];
    assert.strictEqual(names.length, 70);
    for (const name of names) assert.ok(update(name, name) > 0.7, `${name}: the moments do not explain its last update (${update(name, name)})`);
    // The same check fails for moments of another parameter of the same shape: it can tell a wrong mapping.
    assert.ok(Math.abs(update('net.blocks.0.attn.qkv.weight', 'net.blocks.1.attn.qkv.weight')) < 0.2);
    assert.ok(Math.abs(update('net.blocks.2.mlp.w3.weight', 'net.blocks.3.mlp.w3.weight')) < 0.2);
  });

  it('lists tensors as <section>.<name> for the inspector, with metadata and statistics', async () => {
    const src = await openTensorSource(OFFICIAL);
    try {
      assert.strictEqual(src.format, 'pytorch');
      assert.strictEqual(src.tensors.length, 71 * 3 + 70 * 3);
      assert.strictEqual(src.tensors[0].name, 'model.net.pos_embed');
      assert.ok(src.tensors.some((t) => t.name === 'optimizer.state.0.exp_avg_sq'));
      assert.strictEqual(src.metadata.epoch, 2);
      assert.deepStrictEqual(src.metadata.args, expected.args);
      const qkv = await summarizeTensor(src, 'model_ema1.net.blocks.1.attn.qkv.weight');
      assert.deepStrictEqual(qkv.shape, expected.model_ema1['net.blocks.1.attn.qkv.weight'].shape);
      assert.ok(Math.abs(qkv.mean * qkv.numel - expected.model_ema1['net.blocks.1.attn.qkv.weight'].sum) < 1e-9);
      assert.strictEqual(qkv.histogram.counts.reduce((a, b) => a + b, 0), qkv.numel);
      const ema = await compareEmaWithOnline(src, 'ema1');
      assert.strictEqual(ema.pairs.length, 71);
      const pos = ema.pairs.find((p) => p.name === 'model.net.pos_embed')!;
      assert.strictEqual(pos.other, 'model_ema1.net.pos_embed');
      const ck = await readOfficialCheckpoint(OFFICIAL, { inContextStart: 2 });
      const w = ck.state.online.get('net.blocks.0.attn.qkv.weight')!.data;
      const e = ck.state.ema1.get('net.blocks.0.attn.qkv.weight')!.data;
      let dd = 0;
      let ww = 0;
      for (let i = 0; i < w.length; i++) {
        dd += (e[i] - w[i]) ** 2;
        ww += w[i] ** 2;
      }
      const qkvPair = ema.pairs.find((p) => p.name === 'model.net.blocks.0.attn.qkv.weight')!;
      assert.ok(Math.abs(qkvPair.relChange - Math.sqrt(dd / ww)) < 1e-12 * qkvPair.relChange);
      assert.ok(ema.pairs.every((p) => p.relChange > 0 && p.relChange < 0.1), 'two small steps move each tensor by a few percent at most');
    } finally {
      src.close();
    }
  });

  it('reads the torch 2.x layout (archive/, .data/version, byteorder), big-endian storages and compressed entries alike', async () => {
    const entries = await readZip(OFFICIAL);
    const rename = (n: string) => n.replace(/^[^/]+\//, 'archive/');
    const torch2 = entries.map(([n, b]) => [rename(n), b] as [string, Buffer]);
    torch2.push(['archive/.data/version', Buffer.from('3\n')], ['archive/byteorder', Buffer.from('little')], ['archive/.data/serialization_id', Buffer.from('1234567890')]);
    const big = entries.map(([n, b]) => [rename(n), /\/data\/\d+$/.test(n) ? Buffer.from(b).swap32() : b] as [string, Buffer]); // every storage is float32
    big.push(['archive/byteorder', Buffer.from('big')]);
    const files = {
      torch2: await writeZip(path.join(dir, 'torch2.pth'), torch2),
      bigEndian: await writeZip(path.join(dir, 'big.pth'), big),
      deflated: await writeZip(path.join(dir, 'deflated.pth'), torch2, true),
    };
    const reference = await openTensorSource(OFFICIAL);
    for (const [kind, file] of Object.entries(files)) {
      const a = await PthArchive.open(file);
      assert.strictEqual(a.layout.prefix, 'archive', kind);
      assert.strictEqual(a.layout.byteOrder, kind === 'bigEndian' ? 'big' : 'little', kind);
      if (kind !== 'bigEndian') assert.strictEqual(a.layout.dataVersion, '3', kind);
      a.close();
      const src = await openTensorSource(file);
      const cmp = await compareSources(reference, src);
      assert.strictEqual(cmp.pairs.length, 423, kind);
      assert.ok(cmp.pairs.every((p) => p.diffNorm === 0), `${kind}: some tensor differs`);
      src.close();
    }
    reference.close();
  });

  it('gathers strided (non-contiguous) views and checks views against their storage', async () => {
    const data = f32([0, 1, 2, 3, 4, 5, 6, 7]);
    // A [2, 3] view at offset 1 with strides (1, 2): element (i, j) = storage[1 + i + 2 j].
    const file = await writeZip(path.join(dir, 'strided.pth'), [
      ['a/data.pkl', stateDictPickle([['net.t', (p) => p.tensor('0', 8, 1, [2, 3], [1, 2])]])],
      ['a/data/0', data],
      ['a/version', Buffer.from('3\n')],
    ]);
    const src = await openTensorSource(file);
    assert.deepStrictEqual([...(await src.read('model.net.t'))], [1, 3, 5, 2, 4, 6]);
    src.close();
    const beyond = await writeZip(path.join(dir, 'beyond.pth'), [
      ['a/data.pkl', stateDictPickle([['net.t', (p) => p.tensor('0', 8, 4, [2, 3], [1, 2])]])],
      ['a/data/0', data],
    ]);
    await assert.rejects(PthArchive.open(beyond), /beyond\.pth: Unreadable checkpoint pickle: a tensor of shape \[2, 3\] reaches element 9 of a storage with 8/);
  });

  it('imports into a run folder that samples, resumes, and exports back to exactly the official state dict', async () => {
    assert.throws(() => loadCheckpoint(OFFICIAL), /jit-tiny-a-official\.pth is a PyTorch checkpoint; convert it first with: jit import jit-tiny-a-official\.pth --out <folder>/);
    const runDir = path.join(dir, 'imported-run');
    const r = await importPth(OFFICIAL, runDir, { inContextStart: 2 });
    assert.strictEqual(r.file, path.join(runDir, 'checkpoints', 'step-2.safetensors'));
    const ck = loadCheckpoint(r.file);
    assert.strictEqual(ck.state.step, 2);
    assert.strictEqual(ck.config.model.inContextStart, 2);
    closeTo(ck.state.ema2.get('net.final_layer.linear.weight')!.data, expected.model_ema2['net.final_layer.linear.weight'].sum, 'ema2 after import');

    const sampled = await sampleFromCheckpoint({ checkpoint: r.file, n: 2, steps: 3, method: 'heun', cfgScale: 1, intervalMin: 0.1, intervalMax: 1, seed: 0, weights: 'ema1', out: path.join(dir, 'grid.png') });
    assert.strictEqual(sampled.images.length, 2 * 3 * 32 * 32);
    assert.ok(sampled.images.every(Number.isFinite));

    const resumed = await runTraining({ runsRoot: dir, resumeFrom: r.file, untilStep: 3 });
    assert.strictEqual(resumed.step, 3);
    assert.strictEqual(loadCheckpoint(path.join(runDir, 'checkpoints', 'step-3.safetensors')).state.adamStep, 3);

    for (const [choice, section] of [['ema1', 'model_ema1'], ['online', 'model']] as const) {
      const out = path.join(dir, `export-${choice}.safetensors`);
      exportForPyTorch(r.file, choice, out);
      const header = readHeader(out);
      assert.deepStrictEqual(header.metadata, { format: 'pt' });
      assert.deepStrictEqual(header.tensors.map((t) => t.name), Object.keys(expected[section]), 'exactly the official keys, in state-dict order');
      assert.ok(header.tensors.every((t) => t.dtype === 'F32'));
      const back = readSafetensors(out).tensors;
      for (const [name, e] of Object.entries(expected[section])) {
        assert.deepStrictEqual(back.get(name)!.shape, e.shape);
        closeTo(back.get(name)!.data, e.sum, `exported ${name}`);
      }
    }
    // The official reference file of the same architecture has the same state-dict keys and shapes.
    const official = readHeader(GOLDEN).tensors.filter((t) => t.name.startsWith('net.'));
    const exported = new Map(readHeader(path.join(dir, 'export-ema1.safetensors')).tensors.map((t) => [t.name, t.shape]));
    assert.strictEqual(exported.size, official.length);
    for (const t of official) assert.deepStrictEqual(exported.get(t.name), t.shape, t.name);
  });

  it('jit inspect --json prints the documented shape for a .pth', () => {
    const r = jit('inspect', OFFICIAL, '--json');
    assert.strictEqual(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepStrictEqual(Object.keys(report), ['format', 'metadata', 'tensors']);
    assert.strictEqual(report.format, 'pytorch');
    assert.strictEqual(report.metadata.epoch, 2);
    const first = report.tensors[0];
    assert.deepStrictEqual(Object.keys(first), ['name', 'dtype', 'shape', 'min', 'max', 'mean', 'std', 'l2', 'nan', 'inf']);
    assert.strictEqual(first.name, 'model.net.pos_embed');
    assert.deepStrictEqual(first.shape, [1, 16, 64]);
    assert.ok(Math.abs(first.mean * 1024 - expected.model['net.pos_embed'].sum) < 1e-6);
  });

  it('jit import and jit export convert from the command line', () => {
    const ck = path.join(dir, 'cli-import.safetensors');
    const imported = jit('import', OFFICIAL, '--out', ck, '--in-context-start', '2');
    assert.strictEqual(imported.status, 0, imported.stderr);
    assert.match(imported.stdout, /^imported jit-tiny-a-official\.pth \(epoch 2\) at step 2: JiT-golden, 32 px, patch 8, depth 4, hidden 64, 10 classes$/m);
    assert.strictEqual(loadCheckpoint(ck).config.model.inContextStart, 2);
    const out = path.join(dir, 'cli-export.safetensors');
    const exported = jit('export', ck, '--ema', 'ema2', '--out', out);
    assert.strictEqual(exported.status, 0, exported.stderr);
    const back = readSafetensors(out).tensors;
    assert.deepStrictEqual([...back.keys()], Object.keys(expected.model_ema2));
    for (const [name, e] of Object.entries(expected.model_ema2)) closeTo(back.get(name)!.data, e.sum, `exported ${name}`);
  });
});

describe('restricted unpickler', () => {
  const dir = tempDir('jit-hostile-');
  const marker = path.join(dir, 'pwned');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A checkpoint-looking dict whose 'args' entry is built by calling `module.name(argument)`. */
  const hostile = (module: string, name: string, argument: string) =>
    new Pickle().proto().emptyDict().mark().str('model').orderedDict().str('args').global(module, name).str(argument).tuple1().reduce().setitems().stop().bytes();
  const hostileZip = (file: string, pkl: Buffer) => writeZip(path.join(dir, file), [['archive/data.pkl', pkl], ['archive/version', Buffer.from('3\n')]]);
  const refused = (e: unknown, global: string) => {
    assert.ok(e instanceof PthError, String(e));
    assert.ok(!e.message.includes('\n'));
    assert.ok(e.message.includes(`its pickle names ${global}, which a checkpoint never needs`), e.message);
    return true;
  };

  it('refuses os.system and builtins.eval in a .pth, and nothing runs', async () => {
    const system = await hostileZip('system.pth', hostile('os', 'system', `touch ${marker}`));
    const evil = await hostileZip('eval.pth', hostile('builtins', 'eval', `open(${JSON.stringify(marker)}, 'w').write('x')`));
    await assert.rejects(PthArchive.open(system), (e) => refused(e, 'os.system'));
    await assert.rejects(PthArchive.open(evil), (e) => refused(e, 'builtins.eval'));
    await assert.rejects(importPth(system, path.join(dir, 'out')), (e) => refused(e, 'os.system'));
    assert.ok(!fs.existsSync(marker));
    assert.ok(!fs.existsSync(path.join(dir, 'out')), 'a refused import writes nothing');
  });

  it('jit inspect exits non-zero with one line on stderr for hostile and invalid files', async () => {
    const system = await hostileZip('system-cli.pth', hostile('os', 'system', `touch ${marker}`));
    const posix = await hostileZip('posix-cli.pth',
      new Pickle().proto(4).shortStr('posix').shortStr('system').op(0x93).str(`touch ${marker}`).tuple1().reduce().stop().bytes());
    const notZip = path.join(dir, 'random.pth');
    fs.writeFileSync(notZip, Buffer.from('this is not a checkpoint at all'));
    const cases: [string, RegExp][] = [
      [system, /^error: system-cli\.pth: Refused to load the checkpoint: its pickle names os\.system, which a checkpoint never needs/],
      [posix, /^error: posix-cli\.pth: Refused to load the checkpoint: its pickle names posix\.system/],
      [notZip, /^error: random\.pth is not a PyTorch checkpoint: it is not a zip archive\.$/],
    ];
    for (const [file, pattern] of cases) {
      const r = jit('inspect', file, '--json');
      assert.notStrictEqual(r.status, 0);
      assert.strictEqual(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.strictEqual(lines.length, 1, r.stderr);
      assert.match(lines[0], pattern);
    }
    assert.ok(!fs.existsSync(marker));
  });

  const load = (pkl: Buffer) => unpickle(pkl, { persistentLoad: () => { throw new Error('these pickles reference no storage'); } });

  it('refuses calls of allowlisted names that are not functions, and object construction other than Namespace', () => {
    assert.throws(() => load(new Pickle().proto().global('torch', 'FloatStorage').emptyTuple().reduce().stop().bytes()), /torch\.FloatStorage cannot be called/);
    assert.throws(() => load(new Pickle().proto().global('collections', 'OrderedDict').emptyTuple().op(0x81).stop().bytes()), /NEWOBJ of collections\.OrderedDict is not allowed/);
    assert.throws(() => load(new Pickle().proto().global('argparse', 'Namespace').emptyTuple().op(0x81).str('x').op(0x62).stop().bytes()), /BUILD with a str state/);
    assert.throws(() => load(new Pickle().proto().global('subprocess', 'Popen').stop().bytes()), (e: unknown) => e instanceof PickleError && /names subprocess\.Popen/.test(e.message));
    assert.throws(() => load(new Pickle().proto().global('__builtin__', 'getattr').stop().bytes()), /names __builtin__\.getattr/);
    assert.throws(() => load(new Pickle().proto().op(0x69).raw(Buffer.from('os\nsystem\n')).stop().bytes()), /opcode INST at byte 2\)/);
  });

  it('reads argparse.Namespace and OrderedDict as plain data', () => {
    const v = load(new Pickle().proto().global('argparse', 'Namespace').emptyTuple().op(0x81).emptyDict().mark().str('lr').int(3).setitems().op(0x62).stop().bytes());
    assert.ok(v instanceof PyNamespace);
    assert.deepStrictEqual([...v.attributes], [['lr', 3]]);
    const d = load(new Pickle().proto().orderedDict().mark().str('a').int(1).str('b').int(2).setitems().stop().bytes());
    assert.ok(d instanceof PyDict && d.ordered);
    assert.deepStrictEqual([...d.map], [['a', 1], ['b', 2]]);
  });

  it('checks every storage against its zip entry', async () => {
    const pkl = stateDictPickle([['net.w', (p) => p.tensor('0', 4, 0, [4], [1])]]);
    const missing = await writeZip(path.join(dir, 'missing.pth'), [['a/data.pkl', pkl]]);
    const short = await writeZip(path.join(dir, 'short.pth'), [['a/data.pkl', pkl], ['a/data/0', Buffer.alloc(12)]]);
    await assert.rejects(PthArchive.open(missing), /missing\.pth: Damaged checkpoint: storage 0 is referenced but the archive has no entry data\/0\./);
    await assert.rejects(PthArchive.open(short), /short\.pth: Damaged checkpoint: storage 0 should hold 4 x 4 = 16 bytes but its entry has 12\./);
    const bad = new Pickle().proto().mark().str('storage').global('os', 'system').str('0').str('cpu').int(1).tuple().op(0x51).stop().bytes();
    assert.throws(() => load(bad), /names os\.system/);
  });

  it('bounds its stack and memo and rejects malformed pickles with a clear message', () => {
    const deep = new Pickle().proto();
    for (let i = 0; i < 200; i++) deep.mark();
    assert.throws(() => unpickle(deep.bytes(), { persistentLoad: () => null, maxItems: 100 }), /holds more than 100 items/);
    assert.throws(() => load(new Pickle().proto().op(0x68, 7).stop().bytes()), /memo entry 7 was never stored/);
    assert.throws(() => load(new Pickle().proto().op(0xff).bytes()), /unknown opcode \(opcode 0xff at byte 2\)/);
    assert.throws(() => load(new Pickle().proto().op(0x58, 0xff, 0xff, 0xff, 0x7f).bytes()), /it ends early/);
    assert.throws(() => load(new Pickle().proto().int(1).bytes()), /it ends early/);
    assert.throws(() => load(new Pickle().proto(9).bytes()), /pickle protocol 9 is not supported/);
    assert.throws(() => load(new Pickle().proto().op(0x73).stop().bytes()), /the stack is empty/);
  });

  it('explains files that are not zip checkpoints', async () => {
    const legacy = path.join(dir, 'legacy.pth');
    fs.writeFileSync(legacy, Buffer.concat([Buffer.from([0x80, 0x02, 0x8a, 0x0a]), Buffer.alloc(40)]));
    await assert.rejects(PthArchive.open(legacy), /legacy\.pth is in the legacy torch\.save format \(before torch 1\.6\), which is not supported/);
    const noPickle = await writeZip(path.join(dir, 'plain.zip'), [['readme.txt', Buffer.from('hi')]]);
    await assert.rejects(inspectFile(noPickle), /plain\.zip is a zip archive but not a PyTorch checkpoint: it has no <folder>\/data\.pkl\./);
  });
});
