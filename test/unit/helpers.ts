// Shared test setup: the wasm backend (what CI and most laptops run), fixture paths, temp folders.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/runtime/tfjsBackend';
import { loadOrTrainFeatureNet } from '../../src/quality/featureNet';
import { realImages } from '../../src/quality/realImages';
import { createShapesDataset } from '../../src/train/data/shapes';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const GOLDEN = path.join(FIXTURES, 'golden', 'jit-tiny-a.safetensors');

export async function useWasm(): Promise<void> {
  const info = await initBackend('wasm');
  if (info.backend !== 'wasm') throw new Error(`tests expect the wasm backend, got ${info.backend}`);
}

export function tempDir(prefix = 'jit-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A feature-network cache for tests that only need some trained network on the 64 px shapes: kept in the temporary
 * folder across test files and runs (it is keyed by the data's content and the recipe, so a stale one is never used).
 */
export async function sharedFeaturesDir(): Promise<string> {
  const dir = path.join(os.tmpdir(), 'jit-explorer-test-features');
  const net = await loadOrTrainFeatureNet(realImages(createShapesDataset(64)), { dir });
  net.dispose();
  return dir;
}
