// A run's metric series for the dashboard: read from metrics.jsonl (a torn last line is skipped), extended by
// streamed step events, packed as float64 columns. A resume restarts from its checkpoint's step, so rows at or
// after a step that comes again are dropped: the series is always what the run's current history is.
import { readJsonLines } from '../io/runs';
import type { StepMetrics } from '../train/trainer';
import { ColumnPack, packColumns } from '../../webview/shared/columns';
import { METRIC_COLUMNS, T_BUCKETS, lossByTColumn } from '../../webview/shared/protocol';

function isStepRow(x: unknown): x is StepMetrics {
  const r = x as StepMetrics;
  return typeof r === 'object' && r !== null && Number.isInteger(r.step) && typeof r.loss === 'number';
}

export class RunSeries {
  readonly rows: StepMetrics[] = [];

  static fromFile(metricsFile: string): RunSeries {
    const s = new RunSeries();
    for (const row of readJsonLines(metricsFile)) if (isStepRow(row)) s.add(row);
    return s;
  }

  get lastStep(): number {
    return this.rows.length ? this.rows[this.rows.length - 1].step : 0;
  }

  /** 'append' when the row continues the series, 'rewind' when it restarted at an earlier step. */
  add(row: StepMetrics): 'append' | 'rewind' {
    if (this.rows.length && row.step <= this.lastStep) {
      let keep = this.rows.length;
      while (keep > 0 && this.rows[keep - 1].step >= row.step) keep--;
      this.rows.length = keep;
      this.rows.push(row);
      return 'rewind';
    }
    this.rows.push(row);
    return 'append';
  }

  /** Rows [from, end) as columns; missing values (a t-bucket no image fell in) are NaN. */
  pack(from = 0): ColumnPack {
    const rows = this.rows.slice(from);
    const cols: Record<string, Float64Array> = {};
    for (const name of METRIC_COLUMNS) cols[name] = Float64Array.from(rows, (r) => num(r[name]));
    for (let b = 0; b < T_BUCKETS; b++) cols[lossByTColumn(b)] = Float64Array.from(rows, (r) => num(r.lossByT?.[b]));
    return packColumns(cols);
  }
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}
