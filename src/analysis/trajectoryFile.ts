// A sample grid's recorded trajectory on disk, next to the grid: `<grid>.trajectory.json` (the settings of the
// sampling run, the per-step summaries and the offset table) and `<grid>.trajectory.bin` (the frames, float32, one
// buffer as in a TensorPack). The trajectory viewer reads these instead of sampling a second time.
import * as fs from 'fs';
import type { TensorEntry, TensorPack } from '../wire/tensorPack';
import { writeFileAtomic } from '../io/atomic';
import type { TrajectorySettings } from '../wire/explorerResults';
import type { PackedTrajectory } from './trajectory';

export const TRAJECTORY_FORMAT = 1;

export interface TrajectoryHeader {
  format: number;
  /** The grid's file name (in the same folder). */
  grid: string;
  settings: TrajectorySettings;
  meta: PackedTrajectory['meta'];
  entries: TensorEntry[];
  bytes: number;
}

export function trajectoryFiles(gridFile: string): { json: string; bin: string } {
  const base = gridFile.replace(/\.png$/i, '');
  return { json: `${base}.trajectory.json`, bin: `${base}.trajectory.bin` };
}

export function hasTrajectory(gridFile: string): boolean {
  const f = trajectoryFiles(gridFile);
  return fs.existsSync(f.json) && fs.existsSync(f.bin);
}

/** Writes the frames first and the header last, so a header on disk always has its frames. */
export function writeTrajectory(gridFile: string, packed: PackedTrajectory, settings: TrajectorySettings): { json: string; bin: string } {
  const f = trajectoryFiles(gridFile);
  writeFileAtomic(f.bin, Buffer.from(packed.pack.buffer));
  const header: TrajectoryHeader = {
    format: TRAJECTORY_FORMAT, grid: gridFile.split(/[\\/]/).pop()!, settings, meta: packed.meta, entries: packed.pack.entries, bytes: packed.pack.buffer.byteLength,
  };
  writeFileAtomic(f.json, JSON.stringify(header));
  return f;
}

export function readTrajectory(gridFile: string): { header: TrajectoryHeader; pack: TensorPack } {
  const f = trajectoryFiles(gridFile);
  if (!fs.existsSync(f.json) || !fs.existsSync(f.bin)) throw new Error(`${gridFile.split(/[\\/]/).pop()} has no recorded trajectory (grids written during training have none; sample with "JiT: Sample Images" to record one).`);
  const header = JSON.parse(fs.readFileSync(f.json, 'utf8')) as TrajectoryHeader;
  if (header.format !== TRAJECTORY_FORMAT) throw new Error(`${f.json} has trajectory format ${header.format}; this version reads format ${TRAJECTORY_FORMAT}.`);
  const bytes = fs.readFileSync(f.bin);
  if (bytes.byteLength !== header.bytes) throw new Error(`${f.bin} holds ${bytes.byteLength} bytes but its header expects ${header.bytes}; sample again to rewrite it.`);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { header, pack: { buffer, entries: header.entries } };
}
