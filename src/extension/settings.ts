// Typed access to the extension's settings (contributes.configuration in package.json).
import * as vscode from 'vscode';
import type { BackendChoice } from '../engine/backend';
import { DEFAULT_PRESET, PRESETS } from '../jit/config';

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
}

const BACKENDS: BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

function positiveInt(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : fallback;
}

export function readSettings(): JitSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const preset = c.get<string>('defaultPreset', DEFAULT_PRESET);
  const backend = c.get<string>('backend', 'auto') as BackendChoice;
  return {
    runsFolder: c.get<string>('runsFolder', '').trim(),
    defaultPreset: PRESETS[preset] ? preset : DEFAULT_PRESET,
    backend: BACKENDS.includes(backend) ? backend : 'auto',
    nodePath: c.get<string>('engine.nodePath', '').trim(),
    sampleEvery: positiveInt(c.get('sampleEvery'), 250),
    checkpointEvery: positiveInt(c.get('checkpointEvery'), 500),
    extraRunFolders: (c.get<unknown[]>('extraRunFolders', []) ?? []).filter((f): f is string => typeof f === 'string' && f.trim() !== '').map((f) => f.trim()),
  };
}

/** True when a change touches settings that the running engine was started with. */
export function affectsEngine(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(`${SECTION}.backend`) || e.affectsConfiguration(`${SECTION}.engine.nodePath`);
}
