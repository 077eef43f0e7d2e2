// Learning-rate schedule: linear warmup, then constant (official default) or cosine decay to `minLr`.
export interface LrSchedule {
  kind: 'constant' | 'cosine';
  /** Peak learning rate: blr * batch / 256. */
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  minLr: number;
}

export function peakLr(blr: number, batch: number): number {
  return (blr * batch) / 256;
}

/** Learning rate for the update that makes step `step` (1-based), as the official per-iteration adjustment. */
export function lrAt(s: LrSchedule, step: number): number {
  const progress = step - 1; // the official schedule is evaluated before the update at fractional epoch `step - 1`
  if (progress < s.warmupSteps) return (s.lr * progress) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const frac = Math.min(1, (progress - s.warmupSteps) / span);
  return s.minLr + (s.lr - s.minLr) * 0.5 * (1 + Math.cos(Math.PI * frac));
}
