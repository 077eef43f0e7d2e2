// "JiT: Start Training": a short quick-pick flow (dataset, preset, steps, batch) whose defaults start a run on the
// built-in shapes when the user just presses Enter, or a run configuration file from the workspace.
import * as path from 'path';
import * as vscode from 'vscode';
import { DEFAULT_STEPS, PRESETS, presetNames } from '../jit/config';
import type { DataSpec, RunOverrides } from '../io/runConfig';
import { RUN_CONFIG_GLOB, parseRunConfigFile } from './runConfigFile';
import type { QuickFlow } from './quickFlow';
import { JitSettings } from './settings';

export interface TrainPlan {
  overrides: RunOverrides;
  runName?: string;
  /** For messages: what the run was made from. */
  source: string;
}

const STEPS = 4;

function positiveInt(v: string): string | undefined {
  return /^\s*\d+\s*$/.test(v) && Number(v) >= 1 ? undefined : 'Enter a whole number of at least 1.';
}

/** A plan from a run configuration file; its own sample/checkpoint intervals win over the settings. */
export async function planFromFile(uri: vscode.Uri, settings: JitSettings): Promise<TrainPlan> {
  const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  const cfg = parseRunConfigFile(text, uri.fsPath);
  return {
    overrides: { sampleEvery: settings.sampleEvery, checkpointEvery: settings.checkpointEvery, ...cfg.overrides },
    runName: cfg.name ?? path.basename(uri.fsPath, '.jitrun.json'),
    source: path.basename(uri.fsPath),
  };
}

type DataPick = vscode.QuickPickItem & ({ pick: 'builtin' } | { pick: 'folder' } | { pick: 'file'; uri: vscode.Uri });

export async function pickTrainPlan(flow: QuickFlow, settings: JitSettings): Promise<TrainPlan | undefined> {
  const files = vscode.workspace.workspaceFolders ? await vscode.workspace.findFiles(RUN_CONFIG_GLOB, '**/node_modules/**', 50) : [];
  const items: DataPick[] = [
    { pick: 'builtin', label: '$(symbol-misc) Built-in shapes', description: 'default', detail: '8 classes of coloured shapes, generated on the fly: nothing to download' },
    { pick: 'folder', label: '$(folder-opened) Image folder…', detail: 'A folder with one subfolder of images per class' },
    ...files.map((uri): DataPick => ({ pick: 'file', uri, label: `$(file-code) ${path.basename(uri.fsPath)}`, description: vscode.workspace.asRelativePath(uri), detail: 'Run configuration file' })),
  ];
  const data = await flow.pick(items, { title: `JiT: Start Training (1/${STEPS}) — dataset`, placeHolder: 'Press Enter to train on the built-in shapes' });
  if (!data) return undefined;
  if (data.pick === 'file') return planFromFile(data.uri, settings);
  let spec: DataSpec = { kind: 'builtin' };
  if (data.pick === 'folder') {
    flow.close();
    const dir = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Train on This Folder', title: 'Image folder (one subfolder per class)' });
    if (!dir?.[0]) return undefined;
    spec = { kind: 'folder', dir: dir[0].fsPath, hflip: false };
  }
  const names = [settings.defaultPreset, ...presetNames().filter((n) => n !== settings.defaultPreset)];
  const preset = await flow.pick(names.map((n) => ({
    label: n, description: n === settings.defaultPreset ? 'default' : undefined, detail: PRESETS[n].description,
  })), { title: `JiT: Start Training (2/${STEPS}) — model preset`, placeHolder: `Press Enter for ${settings.defaultPreset}` });
  if (!preset) return undefined;
  const steps = await flow.input({
    title: `JiT: Start Training (3/${STEPS}) — training steps`, value: String(DEFAULT_STEPS), prompt: 'How many optimiser steps to train (you can stop earlier and resume later)',
    validateInput: positiveInt,
  });
  if (steps === undefined) return undefined;
  const batch = await flow.input({
    title: `JiT: Start Training (4/${STEPS}) — batch size`, value: String(PRESETS[preset.label].train.batch), prompt: 'Images per step (the learning rate scales with it)',
    validateInput: positiveInt,
  });
  if (batch === undefined) return undefined;
  return {
    overrides: { preset: preset.label, data: spec, steps: Number(steps), batch: Number(batch), sampleEvery: settings.sampleEvery, checkpointEvery: settings.checkpointEvery },
    source: spec.kind === 'folder' ? spec.dir : 'the built-in shapes',
  };
}
