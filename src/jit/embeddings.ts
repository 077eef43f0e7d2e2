// Fixed (non-trained) embeddings of JiT: 2-D sin-cos positions, 2-D RoPE tables, sinusoidal timesteps.
import * as tf from '@tensorflow/tfjs-core';

/** 1-D sin-cos embedding of positions, [sin | cos] halves (MAE's get_1d_sincos_pos_embed_from_grid). */
function sincos1d(dim: number, pos: number): Float64Array {
  const half = dim / 2;
  const out = new Float64Array(dim);
  for (let i = 0; i < half; i++) {
    const omega = 1 / Math.pow(10000, i / half);
    out[i] = Math.sin(pos * omega);
    out[half + i] = Math.cos(pos * omega);
  }
  return out;
}

/**
 * The fixed 2-D sin-cos position table, [grid*grid, dim], row-major tokens.
 * As in MAE/JiT the first half encodes the column index and the second half the row index.
 */
export function sincosPosEmbed2d(dim: number, grid: number): Float32Array {
  const out = new Float32Array(grid * grid * dim);
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const base = (row * grid + col) * dim;
      out.set(sincos1d(dim / 2, col), base);
      out.set(sincos1d(dim / 2, row), base + dim / 2);
    }
  }
  return out;
}

/**
 * 2-D RoPE tables (VisionRotaryEmbeddingFast, theta 10000): [numPrefix + grid*grid, headDim] cos and sin.
 * The first half of the head dimension rotates with the token's row, the second half with its column; each
 * frequency is repeated for an adjacent pair. `numPrefix` position-less tokens (in-context) get cos 1, sin 0.
 */
export function ropeTables(headDim: number, grid: number, numPrefix: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2; // the `dim` of VisionRotaryEmbeddingFast
  const nFreq = half / 2;
  const freqs = new Float64Array(nFreq);
  for (let i = 0; i < nFreq; i++) freqs[i] = 1 / Math.pow(10000, (2 * i) / half);
  const n = numPrefix + grid * grid;
  const cos = new Float32Array(n * headDim).fill(1);
  const sin = new Float32Array(n * headDim);
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const base = (numPrefix + row * grid + col) * headDim;
      for (let d = 0; d < headDim; d++) {
        const pos = d < half ? row : col;
        const f = freqs[Math.floor((d % half) / 2)];
        // float32 angle as in the reference (t * freqs computed in float32)
        const angle = Math.fround(Math.fround(pos) * Math.fround(f));
        cos[base + d] = Math.cos(angle);
        sin[base + d] = Math.sin(angle);
      }
    }
  }
  return { cos, sin };
}

/** [D, D] matrix R with x @ R = rotate_half(x): adjacent pairs (x0, x1) -> (-x1, x0). */
export function rotateHalfMatrix(d: number): Float32Array {
  const r = new Float32Array(d * d);
  for (let i = 0; i < d; i += 2) {
    r[(i + 1) * d + i] = -1; // out[i] = -x[i+1]
    r[i * d + (i + 1)] = 1; // out[i+1] = x[i]
  }
  return r;
}

/** Frequencies of the sinusoidal timestep features: exp(-ln(10000) * i / half), i < half (max period 10000). */
export function timestepFrequencies(half: number): Float32Array {
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / half);
  return freqs;
}

/** Sinusoidal timestep features [B, dim]: [cos | sin], max period 10000 (DiT/SiT's timestep_embedding). */
export function timestepFeatures(t: tf.Tensor1D, dim = 256): tf.Tensor2D {
  return tf.tidy(() => {
    const half = dim / 2;
    const freqs = timestepFrequencies(half);
    const args = tf.mul(tf.reshape(t, [-1, 1]), tf.tensor2d(freqs, [1, half])); // [B, half]
    return tf.concat([tf.cos(args), tf.sin(args)], 1) as tf.Tensor2D;
  });
}
