// The JiT parameters under their official checkpoint names, the official initialisation, and the conversion
// between PyTorch layouts (Linear [out, in], Conv2d [out, in, kh, kw]) and the layouts the model multiplies
// with ([in, out]). Everything here is pure: no files, no backend choice.
import * as tf from '@tensorflow/tfjs-core';
import { JiTConfig, dims } from './config';
import { sincosPosEmbed2d } from './embeddings';
import { ParamSpec, declareJiT } from './network';
import { Rng } from './random';

export type { Init, Layout, ParamSpec } from './network';

/** A named set of tensors in the model's layout (weights, an EMA copy, optimizer moments, gradients). */
export type TensorMap = Map<string, tf.Tensor>;

/** Every tensor of the official state dict of a JiT Denoiser, in state-dict order (network.ts declares them). */
export function paramSpecs(c: JiTConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  declareJiT(c, (spec) => specs.push(spec));
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

/** A freshly initialised state dict in the official layout: every tensor, drawn in state-dict order from the seed. */
export function initialOfficialTensors(c: JiTConfig, seed: number): Map<string, OfficialTensor> {
  const rng = new Rng(`init:${seed}`);
  const m = new Map<string, OfficialTensor>();
  for (const spec of paramSpecs(c)) m.set(spec.name, { shape: spec.shape, data: initialValue(c, spec, rng) });
  return m;
}

/** A freshly initialised parameter set in the model layout. */
export function initParams(c: JiTConfig, seed: number): TensorMap {
  return paramsFromOfficial(c, initialOfficialTensors(c, seed));
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
