// Loading the ONNX Runtime binding (onnxruntime-node) and reading what it offers: its version and execution
// providers. The loader is a function so that callers (and tests) can point it elsewhere; when the binding cannot
// load, callers get one sentence saying why instead of an exception.
import * as fs from 'fs';
import * as path from 'path';
import type * as Ort from 'onnxruntime-node';

export type OrtModule = typeof Ort;
export type OrtLoader = () => OrtModule;

// A plain require so bundles keep onnxruntime-node external (it ships native binaries).
export const defaultOrtLoader: OrtLoader = () => require('onnxruntime-node') as OrtModule;

export type OrtLoad = { ok: true; ort: OrtModule; version: string } | { ok: false; message: string };

let defaultLoad: OrtLoad | undefined;

/** Loads ONNX Runtime once per process (per loader for custom loaders). Never throws. */
export function loadOnnxRuntime(loader: OrtLoader = defaultOrtLoader): OrtLoad {
  if (loader === defaultOrtLoader && defaultLoad) return defaultLoad;
  let result: OrtLoad;
  try {
    const ort = loader();
    if (typeof ort?.InferenceSession?.create !== 'function') throw new Error('the module is not onnxruntime-node');
    result = { ok: true, ort, version: ort.env?.versions?.node ?? ort.env?.versions?.common ?? 'unknown' };
  } catch (e) {
    result = { ok: false, message: `ONNX Runtime (onnxruntime-node) could not be loaded: ${firstLine(e)}` };
  }
  if (loader === defaultOrtLoader) defaultLoad = result;
  return result;
}

/** Execution providers this project knows how to ask for (names as onnxruntime-node spells them). */
export const KNOWN_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;

export interface ProviderStatus {
  name: string;
  /** In this build of the binding: its binaries are in the package (or were installed beside it). */
  installed: boolean;
  note: string;
}

export interface OnnxRuntimeStatus {
  loads: boolean;
  version?: string;
  providers: ProviderStatus[];
  /** Why it does not load. */
  message?: string;
}

/** Whether ONNX Runtime loads and which execution providers its binding offers on this machine. */
export function onnxRuntimeStatus(loader: OrtLoader = defaultOrtLoader): OnnxRuntimeStatus {
  const load = loadOnnxRuntime(loader);
  if (!load.ok) return { loads: false, providers: [], message: load.message };
  const listed = (load.ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  const providers = listed.map((b): ProviderStatus => {
    if (b.bundled) return { name: b.name, installed: true, note: b.name === 'webgpu' ? 'bundled, experimental, needs a WebGPU adapter' : 'bundled' };
    const installed = providerLibraryPresent(b.name);
    return { name: b.name, installed, note: installed ? 'installed' : 'not installed; docs/onnx.md says how to add the CUDA binaries' };
  });
  return { loads: true, version: load.version, providers };
}

/** The CUDA/TensorRT provider libraries are downloaded next to the binding by onnxruntime-node's install flag. */
function providerLibraryPresent(name: string): boolean {
  try {
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const file = process.platform === 'win32' ? `onnxruntime_providers_${name}.dll` : `libonnxruntime_providers_${name}.so`;
    return fs.existsSync(path.join(bin, file));
  } catch {
    return false;
  }
}

export function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0].trim();
}
