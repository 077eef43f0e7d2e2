// The ONNX interpreter of `Ops` (src/jit/ops.ts): each operation appends standard ONNX (opset 17) nodes to a graph,
// in forms ONNX Runtime's CPU kernels run fast (Gemm with the bias and a transposed weight for linears, the
// Pow/ReduceMean/Add/Sqrt/Div/Mul pattern it fuses into one RMSNorm kernel, Softmax, MatMuls whose transposes it
// folds into FusedMatMul). With `differentiate`, every operation also records its vector-Jacobian product (VJP), and
// `backward` replays them in reverse to append the gradient of a scalar to the same graph: ONNX Runtime has no
// training API in Node and no gradient kernels on the CPU, so the training step is an ordinary graph whose outputs
// are the loss and the gradients. VJPs are written per operation as large as the forward's (RMSNorm, attention with
// its softmax, SwiGLU, RoPE, adaLN modulation), and gradients of values used more than once are summed.
// Linear weights are in the official PyTorch layout [out, in] (a Conv2d weight as [out, in kh kw]), so checkpoints,
// gradients and AdamW moments need no transposes.
import type { ConstantSource, Ops } from '../jit/ops';
import { rotateHalfMatrix } from '../jit/embeddings';
import { Dim, GraphBuilder, attr } from './builder';

/** A value of the graph: its name, its shape (the batch may be symbolic), and whether a gradient flows into it. */
export interface V {
  readonly name: string;
  readonly shape: readonly Dim[];
  readonly grad: boolean;
}

type Backward = () => void;

export class OnnxOps implements Ops<V> {
  private readonly tape: Backward[] = [];
  private readonly cotangents = new Map<string, V>();
  private readonly constants = new Map<string, V>();

  constructor(readonly g: GraphBuilder, readonly differentiate = false) {}

  // ---------------------------------------------------------------------------------------------------------------
  // Graph values

  /** A graph input. */
  input(name: string, elemType: 'float32' | 'int64', shape: Dim[], grad = false): V {
    if (grad && !this.differentiate) throw new Error(`internal: input ${name} needs a gradient in a graph built without one`);
    return { name: this.g.input(name, elemType, shape), shape, grad };
  }

  /** A float32 initializer (a weight of an inference graph, or a frozen one). */
  initializer(name: string, data: Float32Array, shape: number[]): V {
    return { name: this.g.floats(name, data, shape), shape, grad: false };
  }

  /** Declares `v` a float32 graph output named `name`. */
  output(name: string, v: V): void {
    this.g.output(name, v.name, [...v.shape]);
  }

  constant(key: string, make: ConstantSource): V {
    let c = this.constants.get(key);
    if (!c) {
      const { data, shape } = make();
      c = { name: this.g.floats(key, data, shape), shape, grad: false };
      this.constants.set(key, c);
    }
    return c;
  }

  scalar(v: number): V {
    return this.constant(`scalar_${v}`, () => ({ data: Float32Array.of(v), shape: [] }));
  }

  private node(opType: string, inputs: (V | string)[], shape: readonly Dim[], grad: boolean, attributes = [] as Parameters<GraphBuilder['op1']>[2]): V {
    return { name: this.g.op1(opType, inputs.map(nameOf), attributes), shape, grad };
  }

  private nodes(opType: string, inputs: (V | string)[], shapes: readonly Dim[][], grad: boolean, attributes = [] as Parameters<GraphBuilder['op1']>[2]): V[] {
    return this.g.op(opType, inputs.map(nameOf), attributes, shapes.length).map((name, i) => ({ name, shape: shapes[i], grad }));
  }

  private ints(values: number[]): string {
    return this.g.int64s(values);
  }

  private reshape(x: V | string, shape: readonly Dim[], grad = typeof x !== 'string' && x.grad): V {
    return this.node('Reshape', [x, this.ints(shape.map(concrete))], shape, grad);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Gradient bookkeeping

  /** Records the VJP of an operation whose inputs need a gradient (none is recorded for constant sub-graphs). */
  private record(inputs: V[], backward: Backward): void {
    if (this.differentiate && inputs.some((v) => v.grad)) this.tape.push(backward);
  }

  /** The cotangent accumulated so far for `v` (undefined: nothing depends on it). */
  private ct(v: V): V | undefined {
    return this.cotangents.get(v.name);
  }

  /** Adds a contribution to the cotangent of `v` (summed when `v` is used more than once). */
  private accumulate(v: V, g: V): void {
    if (!v.grad) return;
    if (!sameShape(g.shape, v.shape)) throw new Error(`internal: gradient of ${v.name} has shape [${g.shape}] but the value has [${v.shape}]`);
    const prev = this.cotangents.get(v.name);
    this.cotangents.set(v.name, prev ? this.node('Add', [prev, g], v.shape, false) : g);
  }

  /** Sums a broadcast gradient back to the shape of the operand it came from. */
  private reduceTo(g: V, shape: readonly Dim[]): V {
    if (sameShape(g.shape, shape)) return g;
    const r = g.shape.length;
    const axes: number[] = [];
    for (let i = 0; i < r; i++) {
      const j = i - (r - shape.length);
      if (j < 0 || (shape[j] === 1 && g.shape[i] !== 1)) axes.push(i);
    }
    const summed = this.node('ReduceSum', [g, this.ints(axes)], g.shape.map((d, i) => (axes.includes(i) ? 1 : d)), false, [attr.int('keepdims', 1)]);
    return sameShape(summed.shape, shape) ? summed : this.reshape(summed, shape, false);
  }

  /**
   * Appends the gradient of the scalar `loss` with respect to every value that needs one. Returns the cotangent of
   * `of` values (undefined where the loss does not depend on them).
   */
  backward(loss: V, of: V[]): (V | undefined)[] {
    if (!this.differentiate) throw new Error('internal: backward() on a graph built without gradients');
    if (loss.shape.length !== 0) throw new Error('internal: backward() needs a scalar');
    this.cotangents.set(loss.name, this.scalar(1));
    for (let i = this.tape.length - 1; i >= 0; i--) this.tape[i]();
    this.tape.length = 0;
    return of.map((v) => this.ct(v));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Arith

  add(a: V, b: V): V {
    const out = this.node('Add', [a, b], broadcast(a.shape, b.shape), a.grad || b.grad);
    this.record([a, b], () => {
      const d = this.ct(out);
      if (!d) return;
      if (a.grad) this.accumulate(a, this.reduceTo(d, a.shape));
      if (b.grad) this.accumulate(b, this.reduceTo(d, b.shape));
    });
    return out;
  }

  sub(a: V, b: V): V {
    const out = this.node('Sub', [a, b], broadcast(a.shape, b.shape), a.grad || b.grad);
    this.record([a, b], () => {
      const d = this.ct(out);
      if (!d) return;
      if (a.grad) this.accumulate(a, this.reduceTo(d, a.shape));
      if (b.grad) this.accumulate(b, this.reduceTo(this.node('Neg', [d], d.shape, false), b.shape));
    });
    return out;
  }

  mul(a: V, b: V): V {
    const out = this.node('Mul', [a, b], broadcast(a.shape, b.shape), a.grad || b.grad);
    this.record([a, b], () => {
      const d = this.ct(out);
      if (!d) return;
      if (a.grad) this.accumulate(a, this.reduceTo(this.node('Mul', [d, b], out.shape, false), a.shape));
      if (b.grad) this.accumulate(b, this.reduceTo(this.node('Mul', [d, a], out.shape, false), b.shape));
    });
    return out;
  }

  div(a: V, b: V): V {
    const out = this.node('Div', [a, b], broadcast(a.shape, b.shape), a.grad || b.grad);
    this.record([a, b], () => {
      const d = this.ct(out);
      if (!d) return;
      const da = this.node('Div', [d, b], out.shape, false); // d / b
      if (a.grad) this.accumulate(a, this.reduceTo(da, a.shape));
      if (b.grad) this.accumulate(b, this.reduceTo(this.node('Neg', [this.node('Mul', [da, out], out.shape, false)], out.shape, false), b.shape)); // -d a / b^2
    });
    return out;
  }

  square(x: V): V {
    const out = this.node('Mul', [x, x], x.shape, x.grad);
    this.record([x], () => {
      const d = this.ct(out);
      if (d) this.accumulate(x, this.node('Mul', [this.node('Mul', [d, x], x.shape, false), this.scalar(2)], x.shape, false));
    });
    return out;
  }

  sqrt(x: V): V {
    const out = this.node('Sqrt', [x], x.shape, x.grad);
    this.record([x], () => {
      const d = this.ct(out);
      if (d) this.accumulate(x, this.node('Div', [this.node('Mul', [d, this.scalar(0.5)], x.shape, false), out], x.shape, false)); // d / (2 sqrt(x))
    });
    return out;
  }

  maximum(x: V, floor: number): V {
    if (x.grad) throw new Error('internal: maximum() has no gradient (it is only applied to functions of t)');
    return this.node('Max', [x, this.scalar(floor)], x.shape, false);
  }

  perSample(t: V): V {
    const out = this.reshape(t, [t.shape[0], 1, 1, 1]);
    this.record([t], () => {
      const d = this.ct(out);
      if (d) this.accumulate(t, this.reshape(d, t.shape, false));
    });
    return out;
  }

  meanPerSample(x: V): V {
    const axes = x.shape.slice(1).map((_, i) => i + 1);
    const out = this.node('ReduceMean', [x], [x.shape[0]], x.grad, [attr.ints('axes', axes), attr.int('keepdims', 0)]);
    this.record([x], () => {
      const d = this.ct(out);
      if (!d) return;
      const per = this.node('Mul', [this.reshape(d, [x.shape[0], ...axes.map(() => 1)], false), this.scalar(1 / count(x.shape.slice(1)))], [x.shape[0], ...axes.map(() => 1)], false);
      this.accumulate(x, this.expand(per, x.shape));
    });
    return out;
  }

  mean(x: V): V {
    const out = this.node('ReduceMean', [x], [], x.grad, [attr.ints('axes', x.shape.map((_, i) => i)), attr.int('keepdims', 0)]);
    this.record([x], () => {
      const d = this.ct(out);
      if (d) this.accumulate(x, this.expand(this.node('Mul', [d, this.scalar(1 / count(x.shape))], [], false), x.shape));
    });
    return out;
  }

  private expand(x: V, shape: readonly Dim[]): V {
    return this.node('Expand', [x, this.ints(shape.map(concrete))], shape, false);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Linear layers

  linear(x: V, w: V, b?: V): V {
    const [outDim, inDim] = w.shape as number[];
    const lead = x.shape.slice(0, -1);
    const M = lead.every((d) => typeof d === 'number') ? count(lead) : -1; // rows of the flattened input
    const rows = x.shape.length === 2 ? x : this.reshape(x, [M, inDim]); // [M, in]
    const y2 = this.node('Gemm', b ? [rows, w, b] : [rows, w], [rows.shape[0], outDim], x.grad || w.grad || !!b?.grad, [attr.int('transB', 1)]); // [M, out]
    const out = x.shape.length === 2 ? y2 : this.reshape(y2, [...lead, outDim]);
    this.record(b ? [x, w, b] : [x, w], () => {
      const d = this.ct(out);
      if (!d) return;
      const d2 = x.shape.length === 2 ? d : this.reshape(d, [M, outDim], false); // [M, out]
      if (x.grad) {
        const dx = this.node('Gemm', [d2, w], [rows.shape[0], inDim], false); // dY W: [M, in]
        this.accumulate(x, x.shape.length === 2 ? dx : this.reshape(dx, x.shape, false));
      }
      if (w.grad) this.accumulate(w, this.node('Gemm', [d2, rows], [outDim, inDim], false, [attr.int('transA', 1)])); // dY^T X: [out, in]
      if (b?.grad) this.accumulate(b, this.node('ReduceSum', [d2, this.ints([0])], [outDim], false, [attr.int('keepdims', 0)]));
    });
    return out;
  }

  linearSplit(x: V, w: V, b: V, k: number): V[] {
    // One Gemm per row block of the weight ([out, in] rows are contiguous), so no Split copies the [B, T, out] output;
    // for an initializer ONNX Runtime folds the Slices at load time, and the gradients of x from the k Gemms are summed.
    const ws = this.rowBlocks(w, k);
    const bs = this.rowBlocks(b, k);
    return ws.map((wc, c) => this.linear(x, wc, bs[c]));
  }

  /** The k equal blocks of rows (first axis) of a weight or bias; the VJP concatenates their gradients. */
  private rowBlocks(w: V, k: number): V[] {
    const rows = (w.shape[0] as number) / k;
    const shape = [rows, ...w.shape.slice(1)];
    const blocks = Array.from({ length: k }, (_, c) =>
      this.node('Slice', [w, this.ints([c * rows]), this.ints([(c + 1) * rows]), this.ints([0])], shape, w.grad)); // starts, ends, axes
    this.record([w], () => {
      const ds = blocks.map((blk) => this.ct(blk));
      if (ds.some((d) => d)) this.accumulate(w, this.node('Concat', ds.map((d) => d ?? this.zeros(shape)), w.shape, false, [attr.int('axis', 0)]));
    });
    return blocks;
  }

  private zeros(shape: readonly Dim[]): V {
    const dims = shape.map(concrete);
    if (dims.some((d) => d < 0)) throw new Error('internal: zeros of a symbolic shape');
    return this.constant(`zeros_${dims.join('x')}`, () => ({ data: new Float32Array(count(dims)), shape: dims }));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Activations, norms, modulation

  silu(x: V): V {
    const s = this.node('Sigmoid', [x], x.shape, false);
    const out = this.node('Mul', [x, s], x.shape, x.grad);
    this.record([x], () => {
      const d = this.ct(out);
      if (d) this.accumulate(x, this.node('Mul', [d, this.siluSlope(x, s)], x.shape, false));
    });
    return out;
  }

  /** d silu(x) / dx = s (1 + x (1 - s)) with s = sigmoid(x). */
  private siluSlope(x: V, s: V): V {
    const oneMinusS = this.node('Sub', [this.scalar(1), s], x.shape, false);
    return this.node('Mul', [s, this.node('Add', [this.scalar(1), this.node('Mul', [x, oneMinusS], x.shape, false)], x.shape, false)], x.shape, false);
  }

  swiglu(a: V, b: V): V {
    const s = this.node('Sigmoid', [a], a.shape, false);
    const sa = this.node('Mul', [a, s], a.shape, false); // silu(a)
    const out = this.node('Mul', [sa, b], a.shape, a.grad || b.grad);
    this.record([a, b], () => {
      const d = this.ct(out);
      if (!d) return;
      if (b.grad) this.accumulate(b, this.node('Mul', [d, sa], a.shape, false));
      if (a.grad) this.accumulate(a, this.node('Mul', [this.node('Mul', [d, b], a.shape, false), this.siluSlope(a, s)], a.shape, false));
    });
    return out;
  }

  rmsNorm(x: V, w: V, eps: number): V {
    // x / sqrt(mean(x^2) + eps) * w: the pattern ONNX Runtime fuses into one SimplifiedLayerNormalization kernel
    const ms = this.node('ReduceMean', [this.node('Pow', [x, this.scalar(2)], x.shape, false)], [...x.shape.slice(0, -1), 1], false, [attr.ints('axes', [-1]), attr.int('keepdims', 1)]);
    const normed = this.node('Div', [x, this.node('Sqrt', [this.node('Add', [ms, this.scalar(eps)], ms.shape, false)], ms.shape, false)], x.shape, false);
    const out = this.node('Mul', [normed, w], x.shape, x.grad || w.grad);
    this.record([x, w], () => {
      const d = this.ct(out);
      if (!d) return;
      // The fused kernel keeps no intermediate, so r = 1 / sqrt(mean(x^2) + eps) [.., 1] is recomputed (one reduction).
      const rs = [...x.shape.slice(0, -1), 1];
      const r = this.node('Reciprocal', [this.node('Sqrt', [this.node('Add', [
        this.node('ReduceMean', [this.node('Mul', [x, x], x.shape, false)], rs, false, [attr.ints('axes', [-1]), attr.int('keepdims', 1)]),
        this.scalar(eps)], rs, false)], rs, false)], rs, false);
      const xr = this.node('Mul', [x, r], x.shape, false); // x r
      if (w.grad) this.accumulate(w, this.reduceTo(this.node('Mul', [d, xr], x.shape, false), w.shape));
      if (x.grad) {
        // dx = r (g - x r mean(g x r)) with g = d w
        const gw = this.node('Mul', [d, w], x.shape, false);
        const m = this.node('ReduceMean', [this.node('Mul', [gw, xr], x.shape, false)], rs, false, [attr.ints('axes', [-1]), attr.int('keepdims', 1)]);
        this.accumulate(x, this.node('Mul', [r, this.node('Sub', [gw, this.node('Mul', [xr, m], x.shape, false)], x.shape, false)], x.shape, false));
      }
    });
    return out;
  }

  chunks(m: V, k: number): V[] {
    const [B, kh] = m.shape;
    const h = (kh as number) / k;
    const split = this.reshape(m, [B, k, h]); // [B, k, h]
    const shape = [B, 1, h];
    const outs = this.nodes('Split', [split], new Array(k).fill(shape), m.grad, [attr.int('axis', 1)]); // k x [B, 1, h]
    this.record([m], () => {
      const ds = outs.map((o) => this.ct(o));
      if (ds.every((d) => !d)) return;
      const joined = this.node('Concat', ds.map((d) => d ?? this.zeros(shape)), [B, k, h], false, [attr.int('axis', 1)]);
      this.accumulate(m, this.reshape(joined, m.shape, false));
    });
    return outs;
  }

  modulate(x: V, shift: V, scale: V): V {
    const onePlus = this.node('Add', [scale, this.scalar(1)], scale.shape, false); // 1 + scale [B, 1, h]
    const out = this.node('Add', [this.node('Mul', [x, onePlus], x.shape, false), shift], x.shape, x.grad || shift.grad || scale.grad);
    this.record([x, shift, scale], () => {
      const d = this.ct(out);
      if (!d) return;
      if (x.grad) this.accumulate(x, this.node('Mul', [d, onePlus], x.shape, false));
      if (scale.grad) this.accumulate(scale, this.reduceTo(this.node('Mul', [d, x], x.shape, false), scale.shape));
      if (shift.grad) this.accumulate(shift, this.reduceTo(d, shift.shape));
    });
    return out;
  }

  gatedAdd(x: V, gate: V, y: V): V {
    const out = this.node('Add', [x, this.node('Mul', [gate, y], y.shape, false)], x.shape, x.grad || gate.grad || y.grad);
    this.record([x, gate, y], () => {
      const d = this.ct(out);
      if (!d) return;
      if (x.grad) this.accumulate(x, d);
      if (y.grad) this.accumulate(y, this.node('Mul', [d, gate], y.shape, false));
      if (gate.grad) this.accumulate(gate, this.reduceTo(this.node('Mul', [d, y], y.shape, false), gate.shape));
    });
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Attention

  heads(x: V, numHeads: number): V {
    const [B, T, h] = x.shape;
    return this.reshapeOp(x, [B, T, numHeads, (h as number) / numHeads]);
  }

  /** A reshape whose VJP reshapes back. */
  private reshapeOp(x: V, shape: readonly Dim[]): V {
    const out = this.reshape(x, shape);
    this.record([x], () => {
      const d = this.ct(out);
      if (d) this.accumulate(x, this.reshape(d, x.shape, false));
    });
    return out;
  }

  rope(x: V, cos: V, sin: V): V {
    const D = x.shape[3] as number;
    const r = this.constant(`rotate_half_${D}`, () => ({ data: rotateHalfMatrix(D), shape: [D, D] }));
    const out = this.node('Add', [this.node('Mul', [x, cos], x.shape, false), this.node('Mul', [this.node('MatMul', [x, r], x.shape, false), sin], x.shape, false)], x.shape, x.grad);
    this.record([x], () => {
      const d = this.ct(out);
      if (!d) return;
      // dx = d cos + (d sin) R^T
      const rT = this.constant(`rotate_half_T_${D}`, () => ({ data: transpose(rotateHalfMatrix(D), D), shape: [D, D] }));
      const ds = this.node('MatMul', [this.node('Mul', [d, sin], x.shape, false), rT], x.shape, false);
      this.accumulate(x, this.node('Add', [this.node('Mul', [d, cos], x.shape, false), ds], x.shape, false));
    });
    return out;
  }

  attention(q: V, k: V, v: V): V {
    const [B, T, H, D] = q.shape as [Dim, number, number, number];
    const perm = (x: V | string, p: number[], shape: Dim[]) => this.node('Transpose', [x], shape, false, [attr.ints('perm', p)]);
    const bhtd: Dim[] = [B, H, T, D];
    const bhtt: Dim[] = [B, H, T, T];
    const qh = perm(q, [0, 2, 1, 3], bhtd); // [B, H, T, D]
    const kT = perm(k, [0, 2, 3, 1], [B, H, D, T]); // [B, H, D, T]
    const vh = perm(v, [0, 2, 1, 3], bhtd); // [B, H, T, D]
    const scale = this.scalar(1 / Math.sqrt(D));
    const scores = this.node('Mul', [this.node('MatMul', [qh, kT], bhtt, false), scale], bhtt, false); // [B, H, T, T]
    const probs = this.node('Softmax', [scores], bhtt, false, [attr.int('axis', -1)]);
    const o = this.node('MatMul', [probs, vh], bhtd, false); // [B, H, T, D]
    const out = this.reshape(perm(o, [0, 2, 1, 3], [B, T, H, D]), [B, T, H * D], q.grad || k.grad || v.grad); // [B, T, h]
    this.record([q, k, v], () => {
      const d = this.ct(out);
      if (!d) return;
      const dO = perm(this.reshape(d, [B, T, H, D], false), [0, 2, 1, 3], bhtd); // [B, H, T, D]
      const swap = [0, 1, 3, 2];
      if (v.grad) this.accumulate(v, perm(this.node('MatMul', [perm(probs, swap, bhtt), dO], bhtd, false), [0, 2, 1, 3], [B, T, H, D])); // P^T dO
      // Softmax VJP: dS = P (dP - sum(dP P)) with dP = dO V^T, then the 1/sqrt(D) scale
      const dP = this.node('MatMul', [dO, perm(vh, swap, [B, H, D, T])], bhtt, false);
      const rowDot = this.node('ReduceSum', [this.node('Mul', [dP, probs], bhtt, false), this.ints([-1])], [B, H, T, 1], false, [attr.int('keepdims', 1)]);
      const dS = this.node('Mul', [this.node('Mul', [probs, this.node('Sub', [dP, rowDot], bhtt, false)], bhtt, false), scale], bhtt, false);
      if (q.grad) this.accumulate(q, perm(this.node('MatMul', [dS, perm(kT, swap, bhtd)], bhtd, false), [0, 2, 1, 3], [B, T, H, D])); // dS K
      if (k.grad) this.accumulate(k, perm(this.node('MatMul', [perm(dS, swap, bhtt), qh], bhtd, false), [0, 2, 1, 3], [B, T, H, D])); // dS^T Q
    });
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Embeddings and token layout

  timestepFeatures(t: V, freqs: V): V {
    if (t.grad || freqs.grad) throw new Error('internal: timestep features have no gradient');
    const n = freqs.shape[0] as number;
    const B = t.shape[0];
    const args = this.node('Mul', [this.node('Unsqueeze', [t, this.ints([1])], [B, 1], false), this.node('Unsqueeze', [freqs, this.ints([0])], [1, n], false)], [B, n], false);
    return this.node('Concat', [this.node('Cos', [args], [B, n], false), this.node('Sin', [args], [B, n], false)], [B, 2 * n], false, [attr.int('axis', 1)]);
  }

  embed(table: V, y: V): V {
    const [rows, h] = table.shape as number[];
    const B = y.shape[0];
    const out = this.node('Gather', [table, y], [B, h], table.grad, [attr.int('axis', 0)]);
    this.record([table], () => {
      const d = this.ct(out);
      if (!d) return;
      // ONNX Runtime's CPU build has no GatherGrad: scatter-add the rows as onehot(y)^T d (one Gemm)
      const oneHot = this.node('OneHot', [y, this.ints([rows]), this.constant('onehot_values', () => ({ data: Float32Array.of(0, 1), shape: [2] }))], [B, rows], false, [attr.int('axis', -1)]);
      this.accumulate(table, this.node('Gemm', [oneHot, d], [rows, h], false, [attr.int('transA', 1)]));
    });
    return out;
  }

  patchify(z: V, p: number): V {
    const [B, C, S] = z.shape as [Dim, number, number, number];
    const g = S / p;
    const split = this.reshape(z, [B, C, g, p, g, p]); // [B, C, gh, ph, gw, pw]
    const tokens = this.node('Transpose', [split], [B, g, g, C, p, p], z.grad, [attr.ints('perm', [0, 2, 4, 1, 3, 5])]); // [B, gh, gw, C, ph, pw]
    const out = this.reshape(tokens, [B, g * g, C * p * p]);
    this.record([z], () => {
      const d = this.ct(out);
      if (!d) return;
      const back = this.node('Transpose', [this.reshape(d, [B, g, g, C, p, p], false)], [B, C, g, p, g, p], false, [attr.ints('perm', [0, 3, 1, 4, 2, 5])]);
      this.accumulate(z, this.reshape(back, z.shape, false));
    });
    return out;
  }

  unpatchify(x: V, p: number, C: number): V {
    const [B, N] = x.shape as [Dim, number, number];
    const g = Math.round(Math.sqrt(N));
    const split = this.reshape(x, [B, g, g, p, p, C]); // [B, gh, gw, ph, pw, C]
    const image = this.node('Transpose', [split], [B, C, g, p, g, p], x.grad, [attr.ints('perm', [0, 5, 1, 3, 2, 4])]); // [B, C, gh, ph, gw, pw]
    const out = this.reshape(image, [B, C, g * p, g * p]);
    this.record([x], () => {
      const d = this.ct(out);
      if (!d) return;
      const back = this.node('Transpose', [this.reshape(d, [B, C, g, p, g, p], false)], [B, g, g, p, p, C], false, [attr.ints('perm', [0, 2, 4, 3, 5, 1])]);
      this.accumulate(x, this.reshape(back, x.shape, false));
    });
    return out;
  }

  tokensToGrid(x: V): V {
    const [B, N, dim] = x.shape as [Dim, number, number];
    const g = Math.round(Math.sqrt(N));
    const out = this.reshape(this.node('Transpose', [x], [B, dim, N], false, [attr.ints('perm', [0, 2, 1])]), [B, dim, g, g], x.grad);
    this.record([x], () => {
      const d = this.ct(out);
      if (d) this.accumulate(x, this.node('Transpose', [this.reshape(d, [B, dim, N], false)], x.shape, false, [attr.ints('perm', [0, 2, 1])]));
    });
    return out;
  }

  unsqueeze1(x: V): V {
    const [B, h] = x.shape;
    return this.reshapeOp(x, [B, 1, h]);
  }

  concatTokens(a: V, b: V): V {
    const [B, L, h] = a.shape as [Dim, number, number];
    const N = b.shape[1] as number;
    const out = this.node('Concat', [a, b], [B, L + N, h], a.grad || b.grad, [attr.int('axis', 1)]);
    this.record([a, b], () => {
      const d = this.ct(out);
      if (!d) return;
      const [da, db] = this.nodes('Split', [d, this.ints([L, N])], [[B, L, h], [B, N, h]], false, [attr.int('axis', 1)]);
      if (a.grad) this.accumulate(a, da);
      if (b.grad) this.accumulate(b, db);
    });
    return out;
  }

  sliceTokens(x: V, start: number, length: number): V {
    const [B, T, h] = x.shape as [Dim, number, number];
    const out = this.node('Slice', [x, this.ints([start]), this.ints([start + length]), this.ints([1])], [B, length, h], x.grad); // starts, ends, axes
    this.record([x], () => {
      const d = this.ct(out);
      if (d) this.accumulate(x, this.node('Pad', [d, this.ints([0, start, 0, 0, T - start - length, 0])], x.shape, false));
    });
    return out;
  }
}

/** A dimension as an int64 shape entry: a symbolic (batch) dimension becomes -1. */
function concrete(d: Dim): number {
  return typeof d === 'number' ? d : -1;
}

function nameOf(v: V | string): string {
  return typeof v === 'string' ? v : v.name;
}

function count(shape: readonly Dim[]): number {
  return shape.reduce<number>((a, d) => {
    if (typeof d !== 'number') throw new Error('internal: the size of a symbolic shape');
    return a * d;
  }, 1);
}

function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** numpy broadcasting of two shapes. */
export function broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[i - (r - a.length)] ?? 1;
    const y = b[i - (r - b.length)] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`internal: shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function transpose(m: Float32Array, n: number): Float32Array {
  const t = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
  return t;
}
