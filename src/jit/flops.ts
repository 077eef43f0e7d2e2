// FLOPs of the JiT network, counted by running network.ts's forward pass over shapes: 2 x the multiply-accumulates
// of every matrix product (linears, the patch-embedding convolutions as the matmuls they are, attention scores and
// weighted sums). Element-wise work (norms, activations, RoPE, softmax) is left out: it is a few percent.
// A training step costs ~3x the forward (the backward computes gradients for both operands of each product).
import { JiTConfig } from './config';
import { declareJiT, jitForward } from './network';
import type { ConstantSource, Ops } from './ops';

type Shape = readonly number[];

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

function broadcast(a: Shape, b: Shape): Shape {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => Math.max(a[i - (r - a.length)] ?? 1, b[i - (r - b.length)] ?? 1));
}

/** `Ops` over shapes that counts the multiply-accumulates of matrix products. Weights are [out, in]. */
class MacCounter implements Ops<Shape> {
  macs = 0;

  add = broadcast;
  sub = broadcast;
  mul = broadcast;
  div = broadcast;
  square = (x: Shape) => x;
  sqrt = (x: Shape) => x;
  scalar = (): Shape => [];
  maximum = (x: Shape) => x;
  perSample = (t: Shape): Shape => [t[0], 1, 1, 1];
  meanPerSample = (x: Shape): Shape => [x[0]];
  mean = (): Shape => [];
  constant = (_key: string, make: ConstantSource): Shape => make().shape;

  linear(x: Shape, w: Shape): Shape {
    const [out, inp] = w;
    this.macs += (size(x) / inp) * inp * out;
    return [...x.slice(0, -1), out];
  }

  linearSplit(x: Shape, w: Shape, b: Shape, k: number): Shape[] {
    const y = this.linear(x, w);
    return new Array<Shape>(k).fill([...y.slice(0, -1), y[y.length - 1] / k]);
  }

  silu = (x: Shape) => x;
  swiglu = (a: Shape) => a;
  rmsNorm = (x: Shape) => x;
  chunks = (m: Shape, k: number): Shape[] => new Array<Shape>(k).fill([m[0], 1, m[1] / k]);
  modulate = (x: Shape) => x;
  gatedAdd = (x: Shape) => x;
  heads = (x: Shape, H: number): Shape => [x[0], x[1], H, x[2] / H];
  rope = (x: Shape) => x;

  attention(q: Shape): Shape {
    const [B, T, H, D] = q;
    this.macs += 2 * B * H * T * T * D; // q k^T and attn @ v
    return [B, T, H * D];
  }

  timestepFeatures = (t: Shape, freqs: Shape): Shape => [t[0], 2 * freqs[0]];
  embed = (table: Shape, y: Shape): Shape => [y[0], table[1]];
  patchify = (z: Shape, p: number): Shape => [z[0], (z[2] / p) ** 2, z[1] * p * p];
  unpatchify = (x: Shape, p: number, C: number): Shape => [x[0], C, Math.sqrt(x[1]) * p, Math.sqrt(x[1]) * p];
  tokensToGrid = (x: Shape): Shape => [x[0], x[2], Math.sqrt(x[1]), Math.sqrt(x[1])];
  unsqueeze1 = (x: Shape): Shape => [x[0], 1, x[1]];
  concatTokens = (a: Shape, b: Shape): Shape => [a[0], a[1] + b[1], a[2]];
  sliceTokens = (x: Shape, _start: number, length: number): Shape => [x[0], length, x[2]];
}

export function forwardFlopsPerImage(c: JiTConfig): number {
  const counter = new MacCounter();
  const params = declareJiT(c, (s) => (s.layout === 'conv' ? [s.shape[0], s.shape[1] * s.shape[2] * s.shape[3]] : s.shape));
  const S = c.inputSize;
  jitForward(counter, c, params, [1, c.inChannels, S, S], [1], [1]);
  return 2 * counter.macs;
}

export function trainFlopsPerImage(c: JiTConfig): number {
  return 3 * forwardFlopsPerImage(c);
}
