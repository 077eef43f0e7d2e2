// Shared test setup: the wasm backend (what CI and most laptops run), fixture paths, temp folders.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const GOLDEN = path.join(FIXTURES, 'golden', 'jit-tiny-a.safetensors');

export async function useWasm(): Promise<void> {
  const info = await initBackend('wasm');
  if (info.backend !== 'wasm') throw new Error(`tests expect the wasm backend, got ${info.backend}`);
}

export function tempDir(prefix = 'jit-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
