// The 2-D toy distributions of the manifold lab (paper sec. 3.3): a spiral, two moons and a ring of Gaussians,
// each scaled to lie within about [-1, 1]^2 like images scaled to [-1, 1], drawn from a seeded Rng.
import type { Rng } from '../jit/random';

export type ToyDataName = 'spiral' | 'moons' | 'gmm';
export const TOY_DATA_NAMES: readonly ToyDataName[] = ['spiral', 'moons', 'gmm'];

/** n points [n, 2] (row-major x, y) from `data`. */
export function sampleToyData(data: ToyDataName, rng: Rng, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`The number of toy points must be a positive whole number, got ${n}.`);
  const sampler = SAMPLERS[data];
  if (!sampler) throw new Error(`Unknown toy data "${data}": choose one of ${TOY_DATA_NAMES.join(', ')}.`);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [x, y] = sampler(rng);
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
  return out;
}

type PointSampler = (rng: Rng) => [number, number];

const TWO_PI = 2 * Math.PI;

/** scikit-learn's swiss roll seen from its side: 1.5 turns of a spiral, uniform in angle, radius 1/3 to 1, with jitter. */
function spiral(rng: Rng): [number, number] {
  const angle = 1.5 * Math.PI * (1 + 2 * rng.uniform());
  const r = angle / (4.5 * Math.PI);
  return [r * Math.cos(angle) + 0.02 * rng.normal(), r * Math.sin(angle) + 0.02 * rng.normal()];
}

/** Two interleaved half circles (scikit-learn's make_moons) centred and scaled to about [-1, 1]^2. */
function moons(rng: Rng): [number, number] {
  const a = Math.PI * rng.uniform();
  const [x, y] = rng.uniform() < 0.5 ? [Math.cos(a), Math.sin(a)] : [1 - Math.cos(a), 0.5 - Math.sin(a)];
  return [0.6 * (x - 0.5) + 0.03 * rng.normal(), 0.6 * (y - 0.25) + 0.03 * rng.normal()];
}

/** Eight equally weighted Gaussians (std 0.06) on a circle of radius 0.8. */
function gmm(rng: Rng): [number, number] {
  const angle = (TWO_PI * rng.int(8)) / 8;
  return [0.8 * Math.cos(angle) + 0.06 * rng.normal(), 0.8 * Math.sin(angle) + 0.06 * rng.normal()];
}

const SAMPLERS: Record<ToyDataName, PointSampler> = { spiral, moons, gmm };
