// A run's metric series for the dashboard: read from metrics.jsonl (a torn last line is skipped), extended by
// streamed step events, packed as float64 columns, with the sample-quality records beside them as a series of their
// own; or an official run's curve (step, loss, lr, epoch only). A resume restarts from its checkpoint's step, so rows
// at or after a step that comes again are dropped: the series is always what the run's current history is. Epochs
// need the data set's size.
import type { OfficialRow } from '../io/officialOutput';
import { readJsonLines } from '../io/runs';
import type { StepMetrics } from '../train/trainer';
import { ColumnPack, packColumns } from '../wire/columns';
import { METRIC_COLUMNS, QUALITY_COLUMNS, T_BUCKETS, lossByTColumn } from '../wire/dashboardMessages';
import { QualityRecord, isQualityRecord } from '../quality/record';

function isStepRow(x: unknown): x is StepMetrics {
  const r = x as StepMetrics;
  return typeof r === 'object' && r !== null && Number.isInteger(r.step) && typeof r.loss === 'number';
}

/** A row: a metrics.jsonl record, or a point of an official curve (fields it lacks are missing). */
export type SeriesRow = Partial<StepMetrics> & { step: number; epoch?: number };

export class RunSeries {
  readonly rows: SeriesRow[] = [];
  readonly quality: (QualityRecord & { epoch?: number })[] = [];

  constructor(private readonly datasetSize?: number) {}

  static fromFile(metricsFile: string, datasetSize?: number): RunSeries {
    const s = new RunSeries(datasetSize);
    for (const row of readJsonLines(metricsFile)) {
      if (isStepRow(row)) s.add(row);
      else if (isQualityRecord(row)) s.addQuality(row);
    }
    return s;
  }

  /** An official run's curve; step is the iteration where the iterations per epoch are known, else the official x. */
  static fromOfficial(rows: OfficialRow[], itersPerEpoch?: number): RunSeries {
    const s = new RunSeries();
    for (const r of rows) s.rows.push({ step: itersPerEpoch ? Math.round(r.epoch * itersPerEpoch) : r.x, loss: r.loss, lr: r.lr, epoch: r.epoch });
    return s;
  }

  get lastStep(): number {
    return this.rows.length ? this.rows[this.rows.length - 1].step : 0;
  }

  /** 'append' when the row continues the series, 'rewind' when it restarted at an earlier step. */
  add(row: SeriesRow): 'append' | 'rewind' {
    if (row.epoch === undefined && this.datasetSize && row.imagesSeen !== undefined) row = { ...row, epoch: row.imagesSeen / this.datasetSize };
    dropFrom(this.quality, row.step); // evaluations of the history a resume replaces
    return appendRow(this.rows, row);
  }

  /** A quality record, with the same rule: one at or before the last evaluated step starts that history again. */
  addQuality(row: QualityRecord): 'append' | 'rewind' {
    return appendRow(this.quality, this.datasetSize ? { ...row, epoch: row.imagesSeen / this.datasetSize } : row);
  }

  /** Rows [from, end) as columns; missing values (a t-bucket no image fell in) are NaN. */
  pack(from = 0): ColumnPack {
    const rows = this.rows.slice(from);
    const cols: Record<string, Float64Array> = {};
    for (const name of METRIC_COLUMNS) cols[name] = Float64Array.from(rows, (r) => num(r[name]));
    for (let b = 0; b < T_BUCKETS; b++) cols[lossByTColumn(b)] = Float64Array.from(rows, (r) => num(r.lossByT?.[b]));
    return packColumns(cols);
  }

  /** Quality rows [from, end) as QUALITY_COLUMNS; null (no classes, no seams) becomes NaN. */
  packQuality(from = 0): ColumnPack {
    const rows = this.quality.slice(from);
    return packColumns(Object.fromEntries(QUALITY_COLUMNS.map((name) => [name, Float64Array.from(rows, (r) => num(r[name]))])));
  }
}

/** Drops the rows at or after `step`; returns whether any were dropped. */
function dropFrom(rows: { step: number }[], step: number): boolean {
  let keep = rows.length;
  while (keep > 0 && rows[keep - 1].step >= step) keep--;
  const dropped = keep < rows.length;
  rows.length = keep;
  return dropped;
}

function appendRow<T extends { step: number }>(rows: T[], row: T): 'append' | 'rewind' {
  const rewound = dropFrom(rows, row.step);
  rows.push(row);
  return rewound ? 'rewind' : 'append';
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}
