// A seeded, serialisable random number generator, so training is deterministic from a seed and a resumed run
// continues the exact random stream (the state goes into the checkpoint's metadata).
import seedrandom from 'seedrandom';

type Alea = seedrandom.State.Alea;
export interface RngState {
  alea: Alea;
  spare: number | null;
}

export class Rng {
  private prng: seedrandom.StatefulPRNG<Alea>;
  private spare: number | null = null; // Box-Muller makes normals in pairs

  constructor(seed: number | string) {
    this.prng = seedrandom.alea(String(seed), { state: true });
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.prng = seedrandom.alea('', { state: state.alea });
    r.spare = state.spare;
    return r;
  }

  state(): RngState {
    return { alea: this.prng.state(), spare: this.spare };
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.prng.double();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng.double() * n);
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.prng.double();
    const v = this.prng.double();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  fillNormal(out: Float32Array, std = 1, mean = 0): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.prng.double();
    return out;
  }
}
