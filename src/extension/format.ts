// Short human-readable numbers for the status bar, notifications and tree (no vscode import).

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Loss with 4 significant digits (losses range from ~1 at the start to ~0.01). */
export function formatLoss(loss: number): string {
  if (!Number.isFinite(loss)) return String(loss);
  return loss >= 100 ? loss.toFixed(0) : loss.toPrecision(4);
}

/** Remaining time from the average step time so far. */
export function etaSeconds(step: number, startStep: number, totalSteps: number, elapsedSeconds: number): number {
  const done = step - startStep;
  if (done <= 0 || elapsedSeconds <= 0) return NaN;
  return ((totalSteps - step) * elapsedSeconds) / done;
}
