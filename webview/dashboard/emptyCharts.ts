// What a dashboard chart with nothing to draw says instead of axes over zeros: what it waits for while the run
// trains, that the run has logged nothing yet, or that the run does not log that quantity (the official code's
// event files have no gradient norm, older runs no memory, a one-class data set no class accuracy).
// No DOM here, so the wording is unit-tested.
import type { RunState } from '../../src/wire/dashboardMessages';

export interface EmptyChart {
  /** The quantity, as it reads in a sentence: "the learning rate". */
  what: string;
  /** The row that brings the first value: a training step or a sample-quality measurement. */
  rows: 'steps' | 'measurements';
  /** Said when rows exist but none has a value (default: "This run did not log <what>."). */
  absent?: string;
}

export const EMPTY_CHARTS = {
  loss: { what: 'the loss', rows: 'steps' },
  lossByT: { what: 'the loss by t', rows: 'steps' },
  lr: { what: 'the learning rate', rows: 'steps' },
  gradNorm: { what: 'the gradient norm', rows: 'steps' },
  imagesPerSec: { what: 'the training speed', rows: 'steps' },
  rssMB: { what: 'the memory of the training process', rows: 'steps' },
  fd: { what: 'the Fréchet distance', rows: 'measurements' },
  classAccuracy: { what: 'class accuracy', rows: 'measurements', absent: 'No class accuracy: the data set has no classes to check samples against.' },
  seam: { what: 'the patch-seam score', rows: 'measurements' },
} satisfies Record<string, EmptyChart>;

const FIRST: Record<EmptyChart['rows'], string> = { steps: 'the first training step', measurements: 'the first sample-quality measurement' };
const NONE_YET: Record<EmptyChart['rows'], string> = { steps: 'No steps logged for this run yet.', measurements: 'No sample-quality measurements in this run yet.' };

/**
 * The sentence chart `c` shows in place of its plot, or undefined when it has a value to draw. `values` is its
 * column, `rows` how many rows (steps or measurements) the run has logged, `state` the run's training state.
 */
export function emptyChartMessage(c: EmptyChart, values: readonly (number | null | undefined)[], rows: number, state: RunState | undefined): string | undefined {
  if (values.some((v) => v != null && Number.isFinite(v))) return undefined;
  if (rows > 0) return c.absent ?? `This run did not log ${c.what}.`;
  return state === 'training' ? `Waiting for ${FIRST[c.rows]}: ${c.what} appears with it.` : NONE_YET[c.rows];
}
