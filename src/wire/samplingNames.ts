// Names of sampling choices that cross every boundary (engine, host, webviews, files).

/** The ODE solver of the sampler. */
export type SamplingMethod = 'heun' | 'euler';

/** One of a checkpoint's three weights copies: the weights the optimizer updates, or one of their two EMAs. */
export type WeightsChoice = 'online' | 'ema1' | 'ema2';
