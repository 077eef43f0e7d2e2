// Checks this implementation against vectors produced by the official JiT code: forward output and activations,
// v-loss, every parameter gradient, and Heun/Euler trajectories with CFG. Used by `jit verify-golden` and the tests.
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import { JiTConfig } from '../jit/config';
import { tfDenoiserFromOfficial, trainingLoss } from '../jit/denoiser';
import { sincosPosEmbed2d } from '../jit/embeddings';
import { JiTNetwork } from '../jit/model';
import { OfficialTensor, paramSpecs, paramsFromOfficial, toOfficial } from '../jit/params';
import { Denoiser, SamplingMethod, sample } from '../jit/sampler';
import { dims } from '../jit/config';
import { readSafetensors } from '../io/safetensors';

/** Tolerances that float32 on any backend should meet (golden/README.md). */
export const GOLDEN_TOLERANCE = { forward: 1e-4, loss: 1e-5, grad: 1e-3, trajectory: 1e-3 };

export interface GoldenResult {
  case: string;
  metric: 'max |d|/(1+|ref|)' | 'relative' | 'relative L2' | 'max |d|';
  error: number;
  tolerance: number;
  pass: boolean;
}

export interface GoldenSpec {
  config: JiTConfig;
  diffusion: { tEps: number; cfg: number; intervalMin: number; intervalMax: number; steps: number };
  tensors: Map<string, OfficialTensor>;
}

/** Reads `<name>.safetensors` and the `<name>.json` beside it. */
export function loadGolden(file: string): GoldenSpec {
  const jsonFile = file.replace(/\.safetensors$/, '') + '.json';
  if (!fs.existsSync(jsonFile)) throw new Error(`${jsonFile} is missing: a vectors file needs its .json beside it.`);
  const j = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  const c = j.config ?? {};
  const d = j.diffusion ?? {};
  const config: JiTConfig = {
    inputSize: c.input_size, patchSize: c.patch_size, inChannels: c.in_channels ?? 3, hiddenSize: c.hidden_size,
    depth: c.depth, numHeads: c.num_heads, mlpRatio: c.mlp_ratio ?? 4, bottleneckDim: c.bottleneck_dim,
    numClasses: c.num_classes, inContextLen: c.in_context_len ?? 0, inContextStart: c.in_context_start ?? 0, freezePatchEmbed: false,
  };
  for (const [k, v] of Object.entries(config)) if (v === undefined) throw new Error(`${jsonFile}: config lacks ${k}.`);
  const { tensors } = readSafetensors(file);
  return {
    config,
    diffusion: { tEps: d.t_eps ?? 0.05, cfg: d.cfg ?? 1, intervalMin: d.interval_min ?? 0, intervalMax: d.interval_max ?? 1, steps: d.steps ?? 50 },
    tensors,
  };
}

function maxScaledDiff(a: ArrayLike<number>, ref: ArrayLike<number>, scaled: boolean): number {
  if (a.length !== ref.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - ref[i]) / (scaled ? 1 + Math.abs(ref[i]) : 1);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function relL2(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** The loss case's batch: clean images, noise, t and labels (no label drop). */
export interface GoldenBatch {
  x: OfficialTensor;
  e: OfficialTensor;
  t: Float32Array;
  labels: Int32Array;
}

/** What an engine computes for the cases: each engine (TF.js, ONNX Runtime) is checked by the same comparisons. */
export interface GoldenEngine {
  /** case.forward: the network output as `x_pred` and the activations by name (`t_emb`, `block0`, ...). */
  forward(spec: GoldenSpec): Promise<Map<string, Float32Array>>;
  /** case.loss: the v-loss and the gradient of every trainable parameter, official layout, by name. */
  loss(spec: GoldenSpec, batch: GoldenBatch): Promise<{ loss: number; grads: Map<string, Float32Array> }>;
  /** The denoiser that the sampling cases drive. */
  denoiser(spec: GoldenSpec): Promise<{ denoiser: Denoiser; dispose(): void }>;
}

/** The TF.js network: autodiff for the gradients. */
export const tfjsGoldenEngine: GoldenEngine = {
  async forward(spec) {
    const net = new JiTNetwork(spec.config);
    const params = paramsFromOfficial(spec.config, spec.tensors);
    const T = (n: string) => tensorOf(spec, n);
    const acts = new Map<string, tf.Tensor>();
    try {
      const out = tf.tidy(() => net.forward(params, T('case.forward.z') as tf.Tensor4D, T('case.forward.t') as tf.Tensor1D, T('case.forward.y') as tf.Tensor1D, acts));
      const result = new Map<string, Float32Array>([['x_pred', (await out.data()) as Float32Array]]);
      for (const [k, v] of acts) result.set(k, (await v.data()) as Float32Array);
      tf.dispose([out, ...acts.values()]);
      return result;
    } finally {
      net.dispose();
      tf.dispose([...params.values()]);
    }
  },
  async loss(spec, b) {
    const cfg = spec.config;
    const net = new JiTNetwork(cfg);
    const vars = new Map<string, tf.Variable>();
    const params = paramsFromOfficial(cfg, spec.tensors);
    for (const [k, v] of params) vars.set(k, tf.variable(v, true, `golden/${k}`));
    tf.dispose([...params.values()]);
    const trainable = paramSpecs(cfg).filter((s) => s.trainable);
    try {
      const { value, grads } = tf.variableGrads(() => trainingLoss(net, vars, tf.tensor4d(b.x.data, b.x.shape as [number, number, number, number]) as tf.Tensor4D, tf.tensor4d(b.e.data, b.e.shape as [number, number, number, number]) as tf.Tensor4D,
        tf.tensor1d(b.t), tf.tensor1d(b.labels, 'int32'), { target: 'x', tEps: spec.diffusion.tEps }).loss, trainable.map((s) => vars.get(s.name)!));
      const out = new Map<string, Float32Array>();
      for (const s of trainable) out.set(s.name, toOfficial(s, (await grads[`golden/${s.name}`].data()) as Float32Array));
      const loss = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
      return { loss, grads: out };
    } finally {
      net.dispose();
      tf.dispose([...vars.values()]);
    }
  },
  async denoiser(spec) {
    return tfDenoiserFromOfficial(spec.config, { target: 'x', tEps: spec.diffusion.tEps }, spec.tensors);
  },
};

function tensorOf(spec: GoldenSpec, n: string): tf.Tensor {
  const t = spec.tensors.get(n);
  if (!t) throw new Error(`The vectors have no tensor ${n}.`);
  return tf.tensor(t.data, t.shape);
}

/** Checks every case the vectors file holds (forward, loss and gradients, trajectories) on one engine. */
export async function verifyGolden(file: string, engine: GoldenEngine = tfjsGoldenEngine): Promise<GoldenResult[]> {
  const spec = loadGolden(file);
  const { config: cfg, tensors } = spec;
  const get = (n: string) => {
    const t = tensors.get(n);
    if (!t) throw new Error(`${file} has no tensor ${n}.`);
    return t;
  };
  const results: GoldenResult[] = [];
  const push = (name: string, metric: GoldenResult['metric'], error: number, tolerance: number) =>
    results.push({ case: name, metric, error, tolerance, pass: error <= tolerance });

  // The fixed position table, computed here, against the stored one.
  push('pos_embed', 'max |d|/(1+|ref|)', maxScaledDiff(sincosPosEmbed2d(cfg.hiddenSize, dims(cfg).gridSize), get('net.pos_embed').data, true), GOLDEN_TOLERANCE.forward);

  if (tensors.has('case.forward.z')) {
    const outs = await engine.forward(spec);
    const x = outs.get('x_pred');
    push('forward.x_pred', 'max |d|/(1+|ref|)', x ? maxScaledDiff(x, get('case.forward.x_pred').data, true) : Infinity, GOLDEN_TOLERANCE.forward);
    for (const name of [...tensors.keys()].filter((n) => n.startsWith('case.forward.act.'))) {
      const a = outs.get(name.slice('case.forward.act.'.length));
      push(name.slice('case.'.length), 'max |d|/(1+|ref|)', a ? maxScaledDiff(a, get(name).data, true) : Infinity, GOLDEN_TOLERANCE.forward);
    }
  }

  if (tensors.has('case.loss.x')) {
    const { loss, grads } = await engine.loss(spec, { x: get('case.loss.x'), e: get('case.loss.e'), t: get('case.loss.t').data, labels: Int32Array.from(get('case.loss.labels').data) });
    const ref = get('case.loss.loss').data[0];
    push('loss', 'relative', Math.abs(loss - ref) / Math.abs(ref), GOLDEN_TOLERANCE.loss);
    for (const s of paramSpecs(cfg).filter((p) => p.trainable)) {
      const refName = `case.loss.grad.${s.name}`;
      if (!tensors.has(refName)) continue;
      const g = grads.get(s.name);
      push(`grad.${s.name}`, 'relative L2', g ? relL2(g, get(refName).data) : Infinity, GOLDEN_TOLERANCE.grad);
    }
  }

  if (tensors.has('case.sample.z0')) {
    const made = await engine.denoiser(spec);
    try {
      const labels = Int32Array.from(get('case.sample.labels').data);
      for (const method of ['heun', 'euler'] as SamplingMethod[]) {
        const refName = `case.sample.${method}.trajectory`;
        if (!tensors.has(refName)) continue;
        const ref = get(refName);
        const per = ref.data.length / ref.shape[0];
        let worst = maxScaledDiff(get('case.sample.z0').data, ref.data.subarray(0, per), false);
        const z0 = tensorOf(spec, 'case.sample.z0') as tf.Tensor4D;
        await sample(made.denoiser, z0, labels, {
          steps: ref.shape[0] - 1, method, cfgScale: spec.diffusion.cfg, intervalMin: spec.diffusion.intervalMin,
          intervalMax: spec.diffusion.intervalMax, tEps: spec.diffusion.tEps, numClasses: cfg.numClasses,
        }, (rec) => {
          const k = rec.step + 1;
          worst = Math.max(worst, maxScaledDiff(rec.zNext, ref.data.subarray(k * per, (k + 1) * per), false));
        });
        z0.dispose();
        push(`sample.${method}.trajectory`, 'max |d|', worst, GOLDEN_TOLERANCE.trajectory);
      }
    } finally {
      made.dispose();
    }
  }
  return results;
}
