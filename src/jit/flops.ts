// FLOPs of the JiT network counted from its shapes: 2 x the multiply-accumulates of every matrix product of the
// official network (linears, the patch-embedding convolutions as the matmuls they are, attention scores and
// weighted sums). Element-wise work (norms, activations, RoPE, softmax) is left out: it is a few percent.
// A training step costs ~3x the forward (the backward computes gradients for both operands of each product).
import { JiTConfig, dims } from './config';

export function forwardFlopsPerImage(c: JiTConfig): number {
  const d = dims(c);
  const h = c.hiddenSize;
  const N = d.numPatches;
  let macs = 256 * h + h * h; // timestep embedder MLP
  macs += N * (d.patchDim * c.bottleneckDim + c.bottleneckDim * h); // proj1, proj2
  for (let i = 0; i < c.depth; i++) {
    const T = c.inContextLen > 0 && i >= c.inContextStart ? N + c.inContextLen : N;
    macs += h * 6 * h; // adaLN modulation (per image)
    macs += T * h * 3 * h; // qkv
    macs += 2 * T * T * h; // q k^T and attn @ v over all heads
    macs += T * h * h; // attention output projection
    macs += T * h * 2 * d.mlpHidden + T * d.mlpHidden * h; // SwiGLU w12, w3
  }
  macs += h * 2 * h + N * h * d.patchDim; // final adaLN and linear
  return 2 * macs;
}

export function trainFlopsPerImage(c: JiTConfig): number {
  return 3 * forwardFlopsPerImage(c);
}
