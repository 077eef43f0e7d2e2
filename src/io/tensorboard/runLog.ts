// A training run's TensorBoard log, beside its metrics.jsonl: every numeric field of a step record becomes a
// scalar (the loss and learning rate under the official code's tags `train_loss` and `lr`, everything else under
// its metrics.jsonl name, so metrics added to the record later appear without changes here), loss by t one scalar
// per bucket, and every preview grid an image. x is the training step.
import * as fs from 'fs';
import { ScalarValue } from './proto';
import { EventFileWriter, pngSize } from './writer';

/** metrics.jsonl fields written under the official JiT tags. */
const OFFICIAL_TAGS: Record<string, string> = { loss: 'train_loss', lr: 'lr' };
/** Fields that are the x axis, not a measurement. */
const NOT_SCALARS = new Set(['step']);

export const SAMPLES_TAG = 'samples';

/** The scalars of one metrics.jsonl record; `group` prefixes the tags of records other than steps (`quality/fd`). */
export function recordScalars(record: Record<string, unknown>, group = ''): ScalarValue[] {
  const out: ScalarValue[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (NOT_SCALARS.has(key)) continue;
    if (typeof value === 'number' && Number.isFinite(value)) out.push({ tag: group ? `${group}/${key}` : OFFICIAL_TAGS[key] ?? key, value });
    else if (key === 'lossByT' && Array.isArray(value)) {
      const n = value.length;
      value.forEach((v, i) => {
        if (typeof v === 'number' && Number.isFinite(v)) out.push({ tag: `lossByT/t${(i / n).toFixed(1)}-${((i + 1) / n).toFixed(1)}`, value: v });
      });
    }
  }
  return out;
}

export class RunEventLog {
  private constructor(private readonly writer: EventFileWriter) {}

  static open(runDir: string): RunEventLog {
    return new RunEventLog(EventFileWriter.create(runDir));
  }

  get file(): string {
    return this.writer.file;
  }

  /** One logged step (the object appended to metrics.jsonl). */
  step(record: { step: number } & object): void {
    this.writer.scalars(record.step, recordScalars(record as Record<string, unknown>));
  }

  /** Another record of metrics.jsonl at a step (a sample-quality evaluation: `quality`), its numbers under `group/`. */
  record(group: string, record: { step: number } & object): void {
    this.writer.scalars(record.step, recordScalars(record as Record<string, unknown>, group));
  }

  /** A preview sample grid (a PNG file). */
  grid(step: number, pngFile: string): void {
    const png = fs.readFileSync(pngFile);
    this.writer.image(step, { tag: SAMPLES_TAG, png, ...pngSize(png) });
  }

  close(): void {
    this.writer.close();
  }
}
