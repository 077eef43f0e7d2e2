// Opens the dataset a run configuration names.
import type { DataSpec } from '../../io/runConfig';
import type { Dataset } from './dataset';
import { loadFolderDataset } from './folder';
import { createShapesDataset } from './shapes';

export async function loadDataset(spec: DataSpec, imageSize: number, emit?: (e: { type: 'log'; level: 'info' | 'warn'; message: string }) => void): Promise<Dataset> {
  if (spec.kind === 'builtin') return createShapesDataset(imageSize);
  const ds = await loadFolderDataset(spec.dir, imageSize, { hflip: spec.hflip });
  if (ds.skipped.length) emit?.({ type: 'log', level: 'warn', message: `Skipped ${ds.skipped.length} unreadable or non-image files in ${spec.dir} (first: ${ds.skipped[0].file}: ${ds.skipped[0].reason}).` });
  return ds;
}
