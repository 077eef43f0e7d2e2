// ONNX Runtime hooks for the golden-vector check (src/engine/golden.ts): the forward case with its activations and
// the Heun/Euler sampling cases, each on a session built from the vectors' own weights.
import type { JiTConfig } from '../jit/config';
import type { OfficialTensor } from '../jit/params';
import type { Denoiser } from '../jit/sampler';
import { OnnxDenoiser } from './denoiser';
import { GRAPH_IO } from './graph';
import { OnnxOptions, createJiTSession } from './session';

/** What the hooks read from a vectors file (the engine's GoldenSpec). */
interface VectorsSpec {
  config: JiTConfig;
  diffusion: { tEps: number };
  tensors: Map<string, OfficialTensor>;
}

export function onnxGoldenHooks(opts: OnnxOptions = {}) {
  return {
    /** Network output (`x_pred`) and activations (`t_emb`, `bottleneck`, `patch_embed`, `block<i>`) for case.forward. */
    forwardCase: async (spec: VectorsSpec): Promise<Map<string, Float32Array>> => {
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
    /** The denoiser that the sampling cases drive. */
    denoiserFactory: async (spec: VectorsSpec): Promise<{ denoiser: Denoiser; dispose(): void }> => {
      const net = await createJiTSession(spec.config, spec.tensors, '', opts);
      return { denoiser: new OnnxDenoiser(net, { target: 'x', tEps: spec.diffusion.tEps }), dispose: () => void net.dispose() };
    },
  };
}
