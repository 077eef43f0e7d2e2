// The operations the JiT network (network.ts) and the diffusion formulas (diffusion.ts) are written in. Each
// interpreter implements them over its own tensor handle `T`:
//   - TF.js tensors (tfOps.ts): the reference, differentiated by TF.js itself;
//   - ONNX graph values (src/onnx/ops.ts): inference graphs, and training graphs with a VJP rule per operation;
//   - shapes (flops.ts): counting the multiply-accumulates of a forward pass.
// An operation is as large as the fastest form an interpreter has for it (a fused RMSNorm, attention with its
// softmax, the q/k/v split), so no interpreter has to recognise patterns in a stream of small operations.
// Shapes in comments: B batch, T tokens, h hidden, H heads, D head dim, C channels, S image side, p patch side,
// N image tokens, g = S / p tokens per side.

/** Element-wise arithmetic with numpy broadcasting, and the reductions the diffusion loss needs. */
export interface Arith<T> {
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  square(x: T): T;
  sqrt(x: T): T;
  /** A rank-0 constant. */
  scalar(v: number): T;
  /** max(x, floor) element-wise; only ever applied to functions of t, so it has no gradient. */
  maximum(x: T, floor: number): T;
  /** [B] -> [B, 1, 1, 1], to broadcast a per-image value against images. */
  perSample(t: T): T;
  /** [B, ...] -> [B]: the mean over every axis but the first. */
  meanPerSample(x: T): T;
  /** The mean of every element -> []. */
  mean(x: T): T;
}

/** A constant's values, made only when an interpreter first needs it. */
export type ConstantSource = () => { data: Float32Array; shape: number[] };

export interface Ops<T> extends Arith<T> {
  /** A fixed float32 tensor (RoPE tables, frequencies), made once per interpreter and key. */
  constant(key: string, make: ConstantSource): T;
  /** x [..., in] times the weight of a linear layer (+ bias) -> [..., out]. How the weight is laid out is the interpreter's. */
  linear(x: T, w: T, b?: T): T;
  /** The k equal column blocks of one linear layer's output (q, k, v; the two SwiGLU halves): k x [..., out / k]. */
  linearSplit(x: T, w: T, b: T, k: number): T[];
  /** x * sigmoid(x). */
  silu(x: T): T;
  /** silu(a) * b: the SwiGLU gate. */
  swiglu(a: T, b: T): T;
  /** x / sqrt(mean(x^2) + eps) * w over the last axis. */
  rmsNorm(x: T, w: T, eps: number): T;
  /** An adaLN output [B, k h] as k chunks [B, 1, h] (shift, scale, gate, ...). */
  chunks(m: T, k: number): T[];
  /** x [B, T, h] * (1 + scale) + shift with shift, scale [B, 1, h]. */
  modulate(x: T, shift: T, scale: T): T;
  /** x + gate * y with gate [B, 1, h]: the gated residual of adaLN-Zero. */
  gatedAdd(x: T, gate: T, y: T): T;
  /** [B, T, h] -> [B, T, H, D]. */
  heads(x: T, numHeads: number): T;
  /** 2-D RoPE: x [B, T, H, D] * cos + rotate_half(x) * sin with tables [T, 1, D]; rotate_half: (x0, x1) -> (-x1, x0). */
  rope(x: T, cos: T, sin: T): T;
  /** softmax(q k^T / sqrt(D)) v per head: q, k, v [B, T, H, D] -> [B, T, H D]. */
  attention(q: T, k: T, v: T): T;
  /** Sinusoidal features of t [B] with frequencies [n] -> [B, 2 n]: [cos(t f) | sin(t f)]. */
  timestepFeatures(t: T, freqs: T): T;
  /** Rows of an embedding table [rows, h] at the labels y [B] -> [B, h]. */
  embed(table: T, y: T): T;
  /** [B, C, S, S] -> [B, N, C p p]: each token's values in (c, kh, kw) order as a Conv2d weight, tokens row-major. */
  patchify(z: T, p: number): T;
  /** [B, N, p p C] in (ph, pw, c) order (the official final layer) -> [B, C, S, S]. */
  unpatchify(x: T, p: number, channels: number): T;
  /** Token features [B, N, d] as an image [B, d, g, g] (how a Conv2d would have output them). */
  tokensToGrid(x: T): T;
  /** [B, h] -> [B, 1, h]. */
  unsqueeze1(x: T): T;
  /** [B, L, h] and [B, N, h] -> [B, L + N, h]. */
  concatTokens(a: T, b: T): T;
  /** Tokens start .. start + length of x [B, T, h]. */
  sliceTokens(x: T, start: number, length: number): T;
}
