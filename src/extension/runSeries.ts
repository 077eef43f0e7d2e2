// A run's metric series for the dashboard: read from metrics.jsonl (a torn last line is skipped), extended by
// streamed step events, packed as float64 columns; the sample-quality records beside them as a series of their own.
// A resume restarts from its checkpoint's step, so rows at or after a step that comes again are dropped: the series
// is always what the run's current history is.
import { readJsonLines } from '../io/runs';
import type { StepMetrics } from '../train/trainer';
import { ColumnPack, packColumns } from '../../webview/shared/columns';
import { METRIC_COLUMNS, QUALITY_COLUMNS, T_BUCKETS, lossByTColumn } from '../../webview/shared/protocol';
import { QualityRecord, isQualityRecord } from '../quality/record';

function isStepRow(x: unknown): x is StepMetrics {
  const r = x as StepMetrics;
  return typeof r === 'object' && r !== null && Number.isInteger(r.step) && typeof r.loss === 'number';
}

export class RunSeries {
  readonly rows: StepMetrics[] = [];
  readonly quality: QualityRecord[] = [];

  static fromFile(metricsFile: string): RunSeries {
    const s = new RunSeries();
    for (const row of readJsonLines(metricsFile)) {
      if (isStepRow(row)) s.add(row);
      else if (isQualityRecord(row)) s.addQuality(row);
    }
    return s;
  }

  get lastStep(): number {
    return this.rows.length ? this.rows[this.rows.length - 1].step : 0;
  }

  /** 'append' when the row continues the series, 'rewind' when it restarted at an earlier step. */
  add(row: StepMetrics): 'append' | 'rewind' {
    dropFrom(this.quality, row.step); // evaluations of the history a resume replaces
    return appendRow(this.rows, row);
  }

  /** A quality record, with the same rule: one at or before the last evaluated step starts that history again. */
  addQuality(row: QualityRecord): 'append' | 'rewind' {
    return appendRow(this.quality, row);
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
