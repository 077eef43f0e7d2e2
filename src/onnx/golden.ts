// ONNX Runtime as an engine of the golden-vector check (src/tasks/verifyGolden.ts): the forward case with its activations
// (an inference graph with the activations as outputs), the loss and gradient case (the training graph), and the
// Heun/Euler sampling cases, each on a session built from the vectors' own weights.
import type { JiTConfig } from '../jit/config';
import type { OfficialTensor } from '../jit/params';
import type { Denoiser } from '../jit/sampler';
import { encodeModel } from './builder';
import { OnnxDenoiser } from './denoiser';
import { GRAPH_IO, matrixShape } from './graph';
import { OnnxOptions, createJiTSession, openSession } from './session';
import { TRAIN_IO, buildTrainingGraph } from './trainingGraph';

/** What the engine reads from a vectors file (the golden check's GoldenSpec). */
interface VectorsSpec {
  config: JiTConfig;
  diffusion: { tEps: number };
  tensors: Map<string, OfficialTensor>;
}

export function onnxGoldenEngine(opts: OnnxOptions = {}) {
  return {
    async forward(spec: VectorsSpec): Promise<Map<string, Float32Array>> {
      const get = (n: string) => {
        const t = spec.tensors.get(n);
        if (!t) throw new Error(`The vectors have no tensor ${n}.`);
        return t.data;
      };
      const net = await createJiTSession(spec.config, spec.tensors, '', { ...opts, activations: true });
      try {
        const outs = await net.run(get('case.forward.z'), get('case.forward.t'), Int32Array.from(get('case.forward.y')), [...net.outputNames]);
        const result = new Map<string, Float32Array>();
        for (const [name, v] of outs) result.set(name === GRAPH_IO.out ? 'x_pred' : name, v.data);
        return result;
      } finally {
        await net.dispose();
      }
    },

    async loss(spec: VectorsSpec, b: { x: OfficialTensor; e: OfficialTensor; t: Float32Array; labels: Int32Array }): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
      const B = b.t.length;
      const graph = buildTrainingGraph(spec.config, { target: 'x', tEps: spec.diffusion.tEps }, B, spec.tensors);
      const { ort, session } = await openSession(encodeModel(graph.model), opts, async () => {});
      try {
        const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
          [TRAIN_IO.x]: new ort.Tensor('float32', b.x.data, b.x.shape),
          [TRAIN_IO.e]: new ort.Tensor('float32', b.e.data, b.e.shape),
          [TRAIN_IO.t]: new ort.Tensor('float32', b.t, [B]),
          [TRAIN_IO.y]: new ort.Tensor('int64', BigInt64Array.from(b.labels, (v) => BigInt(v)), [B]),
        };
        for (const s of graph.trainable) feeds[s.name] = new ort.Tensor('float32', spec.tensors.get(s.name)!.data, matrixShape(s));
        const r = await session.run(feeds);
        const grads = new Map<string, Float32Array>();
        for (const s of graph.trainable) grads.set(s.name, r[TRAIN_IO.grad(s.name)].data as Float32Array);
        return { loss: (r[TRAIN_IO.loss].data as Float32Array)[0], grads };
      } finally {
        await session.release();
      }
    },

    async denoiser(spec: VectorsSpec): Promise<{ denoiser: Denoiser; dispose(): void }> {
      const net = await createJiTSession(spec.config, spec.tensors, '', opts);
      return { denoiser: new OnnxDenoiser(net, { target: 'x', tEps: spec.diffusion.tEps }), dispose: () => void net.dispose() };
    },
  };
}

