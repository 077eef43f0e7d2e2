// Sample quality while a run trains: every `quality.every` steps (or, by default, whenever it keeps evaluation under
// a tenth of the training time so far) a quick evaluation of a weights copy on ONNX Runtime, written to
// metrics.jsonl as a record of its own. It takes the weights as official-layout tensors, so it does not depend on how
// the trainer computes its steps. A failure is reported once and turns the evaluation off; training goes on.
import type { Dataset } from '../train/data/dataset';
import { DEFAULT_QUALITY, QualityConfig, RunConfig } from '../io/runConfig';
import type { OfficialTensor } from '../jit/params';
import { openWeightsDenoiser } from '../sampling/checkpointModel';
import { QualityEvaluator } from './evaluate';
import type { QualityRecord, TrainingPoint } from './record';
import type { QualityScores } from '../wire/qualityScores';

export { isQualityRecord } from './record';
export type { QualityRecord } from './record';

/** Under 'auto', evaluation may take at most this share of the training time so far. */
export const EVAL_BUDGET = 0.1;

/**
 * The first evaluation's cost estimate: one network evaluation of an image on ONNX Runtime costs about this share of
 * one training image (measured on a 2-core CPU: ~470 forward images/s on ONNX Runtime, ~16 training images/s on
 * TF.js wasm, a ratio of 1/30; rounded up). Later evaluations use the time the last one took.
 */
const FORWARD_SHARE = 1 / 20;

/** Network evaluations of one sample with the sampler's settings. */
function evaluationsPerImage(steps: number, method: string): number {
  return method === 'heun' ? 2 * steps - 1 : steps;
}

export class LiveQuality {
  private evaluator: QualityEvaluator | undefined;
  private off: boolean;
  /** Seconds spent evaluating (sampling and scoring; the one-off feature network training is not counted). */
  private spent = 0;
  private lastCost: number | undefined;
  private lastStep = -1;

  constructor(private readonly cfg: RunConfig, private readonly dataset: Dataset, private readonly featuresDir: string,
    private readonly log: (level: 'info' | 'warn', message: string) => void) {
    this.off = this.settings.every === 0;
  }

  get settings(): QualityConfig {
    return this.cfg.quality ?? DEFAULT_QUALITY;
  }

  /** Whether to evaluate after this step; `seconds` is the training time so far. */
  due(step: number, seconds: number): boolean {
    if (this.off || step === this.lastStep) return false;
    const { every } = this.settings;
    if (every !== 'auto') return step % every === 0;
    // Until the first evaluation is timed, its cost is estimated from the training speed (see FORWARD_SHARE).
    const perImage = seconds / Math.max(1, step) / this.cfg.batch;
    const cost = this.lastCost ?? this.settings.n * evaluationsPerImage(this.settings.steps, 'heun') * perImage * FORWARD_SHARE;
    return this.spent + cost <= EVAL_BUDGET * seconds;
  }

  /**
   * When due, samples with the weights copy and scores them; undefined when not due, off, failed or cancelled by
   * `signal` (a stop request: training stops without waiting for the evaluation).
   */
  async evaluateIfDue(at: TrainingPoint, weights: () => Promise<Map<string, OfficialTensor>>, signal?: AbortSignal): Promise<QualityRecord | undefined> {
    if (!this.due(at.step, at.seconds) || signal?.aborted) return undefined;
    this.lastStep = at.step;
    const { cfg } = this;
    try {
      this.evaluator ??= await QualityEvaluator.create(this.dataset, cfg.model, this.settings.n, {
        featuresDir: this.featuresDir, onLog: (message) => this.log('info', message),
      });
      const started = performance.now();
      const den = await openWeightsDenoiser(cfg.model, cfg.diffusion, await weights());
      let scores: QualityScores;
      try {
        scores = await this.evaluator.evaluate(den.denoiser, cfg.model, cfg.diffusion, {
          steps: this.settings.steps, method: 'heun', cfgScale: cfg.preview.cfgScale, intervalMin: 0.1, intervalMax: 1.0, seed: cfg.seed,
        }, { signal });
      } finally {
        den.dispose();
      }
      const cost = (performance.now() - started) / 1000;
      this.spent += cost;
      this.lastCost = cost;
      return { ...at, weights: cfg.preview.weights, cfg: cfg.preview.cfgScale, steps: this.settings.steps, ...scores, evalSeconds: cost };
    } catch (e) {
      if (signal?.aborted) return undefined;
      this.off = true;
      this.log('warn', `Sample quality is not measured in this run any more: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  dispose(): void {
    this.evaluator?.dispose();
  }
}
