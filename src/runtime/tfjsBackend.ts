// Choosing the TensorFlow.js backend: tfjs-node-gpu, then tfjs-node, then wasm, then cpu, unless an option or
// JIT_BACKEND asks for one. Reports what actually runs, including whether TensorFlow sees a GPU (tfjs-node-gpu
// silently falls back to the CPU when CUDA/cuDNN libraries are missing, so this is checked, not assumed).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  backend: string; // tf.getBackend(): 'tensorflow' | 'wasm' | 'cpu'
  package: string; // the package that provides it
  devices: string[]; // what TensorFlow sees, e.g. ['CPU'] or ['GPU: NVIDIA H100 80GB HBM3']
  notes: string[]; // why a preferred backend was not used
  tfjsVersion: string;
}

let current: BackendInfo | undefined;

/** Extra folders searched for the native packages (the extension installs them into its global storage). */
function requireNative(name: string, searchPaths: string[]): unknown {
  const resolved = require.resolve(name, { paths: [...searchPaths, __dirname, process.cwd()] });
  return require(resolved);
}

/** Finds the .wasm binaries: next to a bundle (dist/) or in the package (unbundled runs and tests). */
function wasmDir(): string | undefined {
  for (const dir of [__dirname, path.join(__dirname, '..'), path.join(__dirname, '..', '..', 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')]) {
    if (fs.existsSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm'))) return dir + path.sep;
  }
  return undefined;
}

function gpuNames(): string[] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').map((s) => s.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

async function tryNative(pkg: string, searchPaths: string[], notes: string[]): Promise<BackendInfo | undefined> {
  try {
    requireNative(pkg, searchPaths);
    if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend did not initialise');
    await tf.ready();
  } catch (e) {
    notes.push(`${pkg} is not available (${firstLine(e)})`);
    return undefined;
  }
  const b = tf.backend() as unknown as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
  const devices = ['CPU'];
  if (b.isUsingGpuDevice) devices.push(...(gpuNames().map((n) => `GPU: ${n}`) || ['GPU']));
  else if (b.isGPUPackage) notes.push(`${pkg} loaded but TensorFlow sees no GPU (are CUDA 11.2 and cuDNN 8.1 installed and on LD_LIBRARY_PATH?); running on the CPU`);
  if (b.isUsingGpuDevice && devices.length === 1) devices.push('GPU');
  return { backend: 'tensorflow', package: pkg, devices, notes, tfjsVersion: tf.version_core };
}

async function tryJs(name: 'wasm' | 'cpu', notes: string[]): Promise<BackendInfo | undefined> {
  try {
    if (name === 'wasm') {
      const dir = wasmDir();
      if (dir) setWasmPaths(dir);
    }
    if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend did not initialise`);
    await tf.ready();
    const pkg = name === 'wasm' ? '@tensorflow/tfjs-backend-wasm (SIMD, one thread)' : '@tensorflow/tfjs-backend-cpu';
    return { backend: name, package: pkg, devices: ['CPU'], notes, tfjsVersion: tf.version_core };
  } catch (e) {
    notes.push(`the ${name} backend failed (${firstLine(e)})`);
    return undefined;
  }
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

/**
 * Initialises TensorFlow.js once per process. `choice` defaults to $JIT_BACKEND or 'auto'.
 * `nativeSearchPaths` are extra folders in which to look for @tensorflow/tfjs-node(-gpu).
 */
export async function initBackend(choice?: BackendChoice, nativeSearchPaths: string[] = []): Promise<BackendInfo> {
  if (current) return current;
  const want = (choice ?? (process.env.JIT_BACKEND as BackendChoice | undefined) ?? 'auto') as BackendChoice;
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(want)) throw new Error(`Unknown backend "${want}": use auto, tensorflow, wasm or cpu.`);
  const notes: string[] = [];
  let info: BackendInfo | undefined;
  if (want === 'auto' || want === 'tensorflow') {
    info = (await tryNative('@tensorflow/tfjs-node-gpu', nativeSearchPaths, notes)) ?? (await tryNative('@tensorflow/tfjs-node', nativeSearchPaths, notes));
    if (!info && want === 'tensorflow') notes.push('falling back to wasm');
  }
  if (!info && want !== 'cpu') info = await tryJs('wasm', notes);
  if (!info) info = await tryJs('cpu', notes);
  if (!info) throw new Error(`No TensorFlow.js backend could start: ${notes.join('; ')}.`);
  current = info;
  return info;
}

export function backendInfo(): BackendInfo | undefined {
  return current;
}
