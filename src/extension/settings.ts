// Typed access to the extension's settings (contributes.configuration in package.json).
import * as vscode from 'vscode';
import type { BackendChoice } from '../runtime/tfjsBackend';
import { DEFAULT_PRESET, PRESETS } from '../jit/config';
import { ENGINE_SETTINGS, EngineSetting } from '../train/engineChoice';

export const SECTION = 'jit';

export interface JitSettings {
  /** Runs folder; '' means <first workspace folder>/.jit/runs. Relative paths are relative to that folder. */
  runsFolder: string;
  defaultPreset: string;
  backend: BackendChoice;
  /** The Node.js that runs the engine; '' means a node on PATH, else VS Code's own runtime. */
  nodePath: string;
  sampleEvery: number;
  checkpointEvery: number;
  /** Further folders with runs: official output folders, or folders holding several (as written, unresolved). */
  extraRunFolders: string[];
  /** Which engine trains: ONNX Runtime unless TF.js runs on a GPU (auto), or the one named. */
  trainingEngine: EngineSetting;
  /** ONNX Runtime threads; undefined: one per CPU core. */
  onnxThreads: number | undefined;
}

const BACKENDS: BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

function positiveInt(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : fallback;
}

export function readSettings(): JitSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const preset = c.get<string>('defaultPreset', DEFAULT_PRESET);
  const backend = c.get<string>('backend', 'auto') as BackendChoice;
  const engine = c.get<string>('trainingEngine', 'auto');
  return {
    runsFolder: c.get<string>('runsFolder', '').trim(),
    defaultPreset: PRESETS[preset] ? preset : DEFAULT_PRESET,
    backend: BACKENDS.includes(backend) ? backend : 'auto',
    nodePath: c.get<string>('engine.nodePath', '').trim(),
    sampleEvery: positiveInt(c.get('sampleEvery'), 250),
    checkpointEvery: positiveInt(c.get('checkpointEvery'), 500),
    extraRunFolders: (c.get<unknown[]>('extraRunFolders', []) ?? []).filter((f): f is string => typeof f === 'string' && f.trim() !== '').map((f) => f.trim()),
    trainingEngine: (ENGINE_SETTINGS as readonly string[]).includes(engine) ? (engine as EngineSetting) : 'auto',
    onnxThreads: c.get<number>('onnx.threads', 0) >= 1 ? positiveInt(c.get('onnx.threads'), 1) : undefined,
  };
}

/** True when a change touches settings that the running engine was started with. */
export function affectsEngine(e: vscode.ConfigurationChangeEvent): boolean {
  return ['backend', 'engine.nodePath', 'onnx.threads'].some((k) => e.affectsConfiguration(`${SECTION}.${k}`));
}
