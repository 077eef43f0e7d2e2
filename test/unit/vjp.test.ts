// Every VJP rule of the ONNX interpreter against finite differences: for f(inputs) = mean(op(inputs) * r) with a
// fixed random r, the gradient the graph computes, projected on a random direction u, must equal the centred
// difference (f(x + h u) - f(x - h u)) / 2h. A wrong sign, transpose, missing sum or broadcast gives an O(1) error.
import * as assert from 'assert';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/jit/random';
import { GraphBuilder, encodeModel } from '../../src/onnx/builder';
import { OnnxOps, V } from '../../src/onnx/ops';

interface Case {
  name: string;
  /** Shapes of the float inputs the gradient is checked for. */
  shapes: number[][];
  /** Keeps inputs in a range where the op is smooth (e.g. positive for sqrt). */
  positive?: boolean;
  build: (o: OnnxOps, x: V[]) => V;
}

const H = 1e-2;

async function check(c: Case): Promise<void> {
  const o = new OnnxOps(new GraphBuilder(), true);
  const xs = c.shapes.map((s, i) => o.input(`x${i}`, 'float32', s, true));
  const out = c.build(o, xs);
  const rng = new Rng(`vjp:${c.name}`);
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const r = o.constant('r', () => ({ data: rng.fillNormal(new Float32Array(size(out.shape as number[]))), shape: out.shape as number[] }));
  const loss = o.mean(o.mul(out, r));
  const grads = o.backward(loss, xs);
  o.output('loss', loss);
  grads.forEach((g, i) => {
    assert.ok(g, `${c.name}: no gradient reached input ${i}`);
    o.output(`g${i}`, g);
  });
  const session = await ort.InferenceSession.create(encodeModel(o.g.model('vjp', c.name)));
  try {
    const values = c.shapes.map((s) => {
      const v = rng.fillNormal(new Float32Array(size(s)));
      return c.positive ? v.map((x) => Math.abs(x) + 0.5) : v;
    });
    const dirs = c.shapes.map((s) => rng.fillNormal(new Float32Array(size(s))));
    const run = async (scale: number) => {
      const feeds: Record<string, ort.Tensor> = {};
      c.shapes.forEach((s, i) => (feeds[`x${i}`] = new ort.Tensor('float32', values[i].map((x, j) => x + scale * dirs[i][j]), s)));
      return session.run(feeds);
    };
    const at = await run(0);
    let analytic = 0;
    c.shapes.forEach((_, i) => {
      const g = at[`g${i}`].data as Float32Array;
      for (let j = 0; j < g.length; j++) analytic += g[j] * dirs[i][j];
    });
    const plus = ((await run(H)).loss.data as Float32Array)[0];
    const minus = ((await run(-H)).loss.data as Float32Array)[0];
    const numeric = (plus - minus) / (2 * H);
    const err = Math.abs(analytic - numeric) / Math.max(Math.abs(numeric), 1e-3);
    assert.ok(err < 2e-2, `${c.name}: analytic ${analytic} vs finite difference ${numeric} (relative error ${err.toExponential(2)})`);
  } finally {
    await session.release();
  }
}

const cases: Case[] = [
  { name: 'add with broadcasting', shapes: [[2, 3, 4], [4]], build: (o, [a, b]) => o.add(a, b) },
  { name: 'sub with broadcasting', shapes: [[2, 1, 4], [2, 3, 4]], build: (o, [a, b]) => o.sub(a, b) },
  { name: 'mul with broadcasting', shapes: [[2, 3, 4], [2, 1, 4]], build: (o, [a, b]) => o.mul(a, b) },
  { name: 'div with broadcasting', shapes: [[2, 3, 4], [3, 1]], positive: true, build: (o, [a, b]) => o.div(a, b) },
  { name: 'square', shapes: [[3, 5]], build: (o, [a]) => o.square(a) },
  { name: 'sqrt', shapes: [[3, 5]], positive: true, build: (o, [a]) => o.sqrt(a) },
  { name: 'perSample', shapes: [[3]], build: (o, [t]) => o.mul(o.perSample(t), o.constant('img', () => ({ data: Float32Array.from({ length: 24 }, (_, i) => i / 10), shape: [1, 2, 3, 4] }))) },
  { name: 'meanPerSample', shapes: [[3, 2, 4, 4]], build: (o, [x]) => o.meanPerSample(o.square(x)) },
  { name: 'mean', shapes: [[3, 4]], build: (o, [x]) => o.mul(o.mean(o.square(x)), o.scalar(3)) },
  { name: 'linear on tokens with a bias', shapes: [[2, 3, 5], [4, 5], [4]], build: (o, [x, w, b]) => o.linear(x, w, b) },
  { name: 'linear on rows without a bias', shapes: [[3, 5], [4, 5]], build: (o, [x, w]) => o.linear(x, w) },
  { name: 'linearSplit (q/k/v)', shapes: [[2, 3, 4], [6, 4], [6]], build: (o, [x, w, b]) => { const [p, q, r] = o.linearSplit(x, w, b, 3); return o.add(o.mul(p, q), r); } },
  { name: 'silu', shapes: [[3, 7]], build: (o, [x]) => o.silu(x) },
  { name: 'swiglu', shapes: [[2, 3, 5], [2, 3, 5]], build: (o, [a, b]) => o.swiglu(a, b) },
  { name: 'rmsNorm', shapes: [[2, 3, 6], [6]], build: (o, [x, w]) => o.rmsNorm(x, w, 1e-6) },
  { name: 'chunks', shapes: [[2, 12]], build: (o, [m]) => { const [a, b, c] = o.chunks(m, 3); return o.add(o.mul(a, b), o.square(c)); } },
  { name: 'modulate', shapes: [[2, 3, 4], [2, 1, 4], [2, 1, 4]], build: (o, [x, shift, scale]) => o.modulate(x, shift, scale) },
  { name: 'gatedAdd', shapes: [[2, 3, 4], [2, 1, 4], [2, 3, 4]], build: (o, [x, gate, y]) => o.gatedAdd(x, gate, y) },
  { name: 'heads', shapes: [[2, 3, 8]], build: (o, [x]) => o.mul(o.heads(x, 2), o.constant('w', () => ({ data: Float32Array.from({ length: 4 }, (_, i) => i - 1.5), shape: [4] }))) },
  {
    name: 'rope', shapes: [[2, 3, 2, 4]], build: (o, [x]) => o.rope(x,
      o.constant('cos', () => ({ data: Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)), shape: [3, 1, 4] })),
      o.constant('sin', () => ({ data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), shape: [3, 1, 4] }))),
  },
  { name: 'attention (softmax)', shapes: [[2, 5, 2, 4], [2, 5, 2, 4], [2, 5, 2, 4]], build: (o, [q, k, v]) => o.attention(q, k, v) },
  { name: 'patchify', shapes: [[2, 3, 4, 4]], build: (o, [z]) => o.patchify(z, 2) },
  { name: 'unpatchify', shapes: [[2, 4, 12]], build: (o, [x]) => o.unpatchify(x, 2, 3) },
  { name: 'tokensToGrid', shapes: [[2, 4, 3]], build: (o, [x]) => o.tokensToGrid(x) },
  { name: 'unsqueeze1', shapes: [[2, 5]], build: (o, [x]) => o.unsqueeze1(x) },
  { name: 'concatTokens', shapes: [[2, 2, 3], [2, 4, 3]], build: (o, [a, b]) => o.concatTokens(o.square(a), b) },
  { name: 'sliceTokens', shapes: [[2, 6, 3]], build: (o, [x]) => o.sliceTokens(o.square(x), 2, 3) },
  { name: 'a value used twice (gradients summed)', shapes: [[3, 4]], build: (o, [x]) => o.mul(o.silu(x), o.square(x)) },
];

describe('ONNX interpreter: every VJP rule against finite differences', function () {
  this.timeout(120_000);
  for (const c of cases) it(c.name, () => check(c));

  it('embed: the gradient of the embedding table scatters the rows back (onehot^T d)', async () => {
    const o = new OnnxOps(new GraphBuilder(), true);
    const table = o.input('table', 'float32', [4, 3], true);
    const y = o.input('y', 'int64', [5]);
    const out = o.embed(table, y);
    const r = o.constant('r', () => ({ data: Float32Array.from({ length: 15 }, (_, i) => i + 1), shape: [5, 3] }));
    const [g] = o.backward(o.mean(o.mul(out, r)), [table]);
    o.output('g', g!);
    const s = await ort.InferenceSession.create(encodeModel(o.g.model('embed', '')));
    const labels = [2, 0, 2, 3, 0];
    const res = await s.run({ table: new ort.Tensor('float32', new Float32Array(12), [4, 3]), y: new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [5]) });
    // d loss / d table[c] = sum over the batch rows with label c of r[row] / 15
    const want = new Float32Array(12);
    labels.forEach((c, row) => { for (let j = 0; j < 3; j++) want[c * 3 + j] += (row * 3 + j + 1) / 15; });
    assert.deepStrictEqual([...(res.g.data as Float32Array)].map((v) => +v.toFixed(5)), [...want].map((v) => +v.toFixed(5)));
    await s.release();
  });

  it('refuses a gradient through operations that have none (t features, the clamp of 1 - t)', () => {
    const o = new OnnxOps(new GraphBuilder(), true);
    const t = o.input('t', 'float32', [2], true);
    assert.throws(() => o.maximum(t, 0.05), /no gradient/);
    assert.throws(() => o.timestepFeatures(t, o.constant('f', () => ({ data: Float32Array.of(1, 2), shape: [2] }))), /no gradient/);
  });
});
