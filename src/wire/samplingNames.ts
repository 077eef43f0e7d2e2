// Names of sampling choices that cross every boundary (engine, host, webviews, files).

/** The ODE solver of the sampler. */
export type SamplingMethod = 'heun' | 'euler';

/** One of a checkpoint's three weights copies: the weights the optimizer updates, or one of their two EMAs. */
export type WeightsChoice = 'online' | 'ema1' | 'ema2';

/** The settings that decide what a sampling run draws: with the same noise seed, the same images again. */
export interface SamplingSettings {
  checkpoint: string;
  n: number;
  /** ODE steps. */
  steps: number;
  method: SamplingMethod;
  cfgScale: number;
  /** Classifier-free guidance is applied for t in [intervalMin, intervalMax]. */
  intervalMin: number;
  intervalMax: number;
  seed: number;
  weights: WeightsChoice;
}
