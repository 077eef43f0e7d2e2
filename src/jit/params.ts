// The JiT parameters under their official checkpoint names, the official initialisation, and the conversion
// between PyTorch layouts (Linear [out, in], Conv2d [out, in, kh, kw]) and the layouts the model multiplies
// with ([in, out]). Everything here is pure: no files, no backend choice.
import * as tf from '@tensorflow/tfjs-core';
import { JiTConfig, dims } from './config';
import { sincosPosEmbed2d } from './embeddings';
import { Rng } from './random';

/** How a tensor's official (PyTorch) layout maps to the model's layout. */
export type Layout = 'linear' | 'conv' | 'same';
export type Init = 'xavier' | 'zeros' | 'ones' | 'normal02' | 'sincos';

export interface ParamSpec {
  name: string; // official name, e.g. net.blocks.0.attn.qkv.weight
  shape: number[]; // official (PyTorch) shape
  layout: Layout;
  init: Init;
  trainable: boolean;
}

/** A named set of tensors in the model's layout (weights, an EMA copy, optimizer moments, gradients). */
export type TensorMap = Map<string, tf.Tensor>;

/** Every tensor of the official state dict of a JiT Denoiser, in state-dict order. */
export function paramSpecs(c: JiTConfig): ParamSpec[] {
  const d = dims(c);
  const h = c.hiddenSize;
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], layout: Layout, init: Init, trainable = true) =>
    specs.push({ name: `net.${name}`, shape, layout, init, trainable });
  const lin = (name: string, out: number, inp: number, wInit: Init = 'xavier', bInit: Init = 'zeros') => {
    add(`${name}.weight`, [out, inp], 'linear', wInit);
    add(`${name}.bias`, [out], 'same', bInit);
  };
  add('pos_embed', [1, d.numPatches, h], 'same', 'sincos', false);
  if (c.inContextLen > 0) add('in_context_posemb', [1, c.inContextLen, h], 'same', 'normal02');
  lin('t_embedder.mlp.0', h, 256, 'normal02');
  lin('t_embedder.mlp.2', h, h, 'normal02');
  add('y_embedder.embedding_table.weight', [c.numClasses + 1, h], 'same', 'normal02');
  const pe = !c.freezePatchEmbed;
  add('x_embedder.proj1.weight', [c.bottleneckDim, c.inChannels, c.patchSize, c.patchSize], 'conv', 'xavier', pe);
  add('x_embedder.proj2.weight', [h, c.bottleneckDim, 1, 1], 'conv', 'xavier', pe);
  add('x_embedder.proj2.bias', [h], 'same', 'zeros', pe);
  for (let i = 0; i < c.depth; i++) {
    const b = `blocks.${i}`;
    add(`${b}.norm1.weight`, [h], 'same', 'ones');
    add(`${b}.attn.q_norm.weight`, [d.headDim], 'same', 'ones');
    add(`${b}.attn.k_norm.weight`, [d.headDim], 'same', 'ones');
    lin(`${b}.attn.qkv`, 3 * h, h);
    lin(`${b}.attn.proj`, h, h);
    add(`${b}.norm2.weight`, [h], 'same', 'ones');
    lin(`${b}.mlp.w12`, 2 * d.mlpHidden, h);
    lin(`${b}.mlp.w3`, h, d.mlpHidden);
    lin(`${b}.adaLN_modulation.1`, 6 * h, h, 'zeros'); // adaLN-Zero
  }
  add('final_layer.norm_final.weight', [h], 'same', 'ones');
  lin('final_layer.linear', d.patchDim, h, 'zeros');
  lin('final_layer.adaLN_modulation.1', 2 * h, h, 'zeros');
  return specs;
}

/** The model-layout shape of an official shape. */
export function modelShape(spec: Pick<ParamSpec, 'shape' | 'layout'>): number[] {
  const s = spec.shape;
  if (spec.layout === 'linear') return [s[1], s[0]];
  if (spec.layout === 'conv') return [s[1] * s[2] * s[3], s[0]]; // rows in (c, kh, kw) order, as the patch vector
  return s;
}

/** Official layout -> model layout, as a plain transpose of the [out, fan_in] matrix. */
export function fromOfficial(spec: ParamSpec, data: Float32Array): Float32Array {
  if (spec.layout === 'same') return data;
  const out = spec.shape[0];
  return transpose2d(data, out, data.length / out);
}

/** Model layout -> official layout. */
export function toOfficial(spec: ParamSpec, data: Float32Array): Float32Array {
  if (spec.layout === 'same') return data;
  const out = spec.shape[0];
  return transpose2d(data, data.length / out, out);
}

function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/** Initial values in the official layout (official init: xavier linears, zero adaLN/head, N(0, 0.02) embeddings). */
export function initialValue(c: JiTConfig, spec: ParamSpec, rng: Rng): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  switch (spec.init) {
    case 'zeros':
      return v;
    case 'ones':
      return v.fill(1);
    case 'normal02':
      return rng.fillNormal(v, 0.02);
    case 'sincos':
      return sincosPosEmbed2d(c.hiddenSize, dims(c).gridSize);
    case 'xavier': {
      const fanOut = spec.shape[0];
      const fanIn = n / fanOut; // Conv weights are initialised on their [out, -1] view, like nn.Linear
      const a = Math.sqrt(6 / (fanIn + fanOut));
      return rng.fillUniform(v, -a, a);
    }
  }
}

/** A freshly initialised parameter set in the model layout. */
export function initParams(c: JiTConfig, seed: number): TensorMap {
  const rng = new Rng(`init:${seed}`);
  const m: TensorMap = new Map();
  for (const spec of paramSpecs(c)) m.set(spec.name, tf.tensor(fromOfficial(spec, initialValue(c, spec, rng)), modelShape(spec)));
  return m;
}

export function countParams(c: JiTConfig, trainableOnly = true): number {
  return paramSpecs(c)
    .filter((s) => !trainableOnly || s.trainable)
    .reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
}

/** A tensor in the official layout, as read from or written to a checkpoint. */
export interface OfficialTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Checks that every tensor of the model is present as `${prefix}${spec.name}` with exactly the official shape; the
 * first missing or mismatching one is named in the error. Returns the specs.
 */
export function checkOfficialTensors(c: JiTConfig, source: Map<string, Pick<OfficialTensor, 'shape'>>, prefix = ''): ParamSpec[] {
  const specs = paramSpecs(c);
  for (const spec of specs) {
    const t = source.get(prefix + spec.name);
    if (!t) throw new Error(`The checkpoint has no tensor ${prefix + spec.name}; it does not hold a model of this configuration.`);
    if (t.shape.length !== spec.shape.length || t.shape.some((s, i) => s !== spec.shape[i])) {
      throw new Error(`Tensor ${prefix + spec.name} has shape [${t.shape.join(', ')}] but this model needs [${spec.shape.join(', ')}]: the checkpoint belongs to another preset or configuration.`);
    }
  }
  return specs;
}

/**
 * Builds a parameter set from official-layout tensors named `${prefix}${spec.name}`. Every tensor must be present
 * with exactly the official shape; the first missing or mismatching one is named in the error.
 */
export function paramsFromOfficial(c: JiTConfig, source: Map<string, OfficialTensor>, prefix = ''): TensorMap {
  const specs = checkOfficialTensors(c, source, prefix);
  const m: TensorMap = new Map();
  for (const spec of specs) m.set(spec.name, tf.tensor(fromOfficial(spec, source.get(prefix + spec.name)!.data), modelShape(spec)));
  return m;
}

/** Reads a parameter set back into official-layout tensors (async reads: no blocking per tensor on GPU backends). */
export async function paramsToOfficial(c: JiTConfig, m: TensorMap, onlyTrainable = false): Promise<Map<string, OfficialTensor>> {
  const out = new Map<string, OfficialTensor>();
  for (const spec of paramSpecs(c)) {
    if (onlyTrainable && !spec.trainable) continue;
    const t = m.get(spec.name);
    if (!t) throw new Error(`missing tensor ${spec.name}`);
    out.set(spec.name, { shape: spec.shape, data: toOfficial(spec, (await t.data()) as Float32Array) });
  }
  return out;
}
