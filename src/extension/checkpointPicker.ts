// The one quick pick that asks for a checkpoint: those of the runs folder newest first, optionally those of the
// official runs in other folders, optionally "Browse…" for any file.
import * as path from 'path';
import * as vscode from 'vscode';
import { discoverOfficialRuns } from '../io/officialOutput';
import { discoverRuns } from '../io/runs';
import type { QuickFlow } from './quickFlow';

const CHECKPOINT_FILTERS = { Checkpoints: ['safetensors', 'pth', 'pt'] };

export interface CheckpointSources {
  /** The runs folder (RunsLocation.current()); undefined when there is none yet. */
  root: string | undefined;
  /** Folders holding output folders of the official code (jit.extraRunFolders), listed after the local runs. */
  officialFolders?: string[];
  /** Offer "Browse…" for a .safetensors or .pth file anywhere. */
  browse?: boolean;
}

/** Asks for a checkpoint file; undefined when the user pressed Escape or there is none to pick. */
export async function pickCheckpoint(flow: QuickFlow, title: string, from: CheckpointSources): Promise<string | undefined> {
  const items: (vscode.QuickPickItem & { file?: string })[] = (from.root ? discoverRuns(from.root) : []).flatMap((r) => r.checkpoints.slice().reverse().map((c) => ({
    label: r.name, description: `step ${c.step}`, detail: String(r.run?.preset ?? ''), file: c.file,
  })));
  for (const o of discoverOfficialRuns(from.officialFolders ?? [])) {
    items.push(...o.checkpoints.slice().reverse().map((c) => ({ label: o.name, description: path.basename(c.file), detail: `official run in ${path.dirname(o.dir)}`, file: c.file })));
  }
  if (!items.length && !from.browse) {
    void vscode.window.showInformationMessage('There is no checkpoint yet: train a model with "JiT: Start Training" first (stopping it also writes one).');
    return undefined;
  }
  if (from.browse) items.push({ label: '$(folder-opened) Browse…', description: 'a .safetensors or .pth file anywhere' });
  const placeHolder = from.browse ? 'Newest first, or browse for a file' : 'Newest first; press Enter for the latest checkpoint';
  const pick = await flow.pick(items, { title, placeHolder });
  if (!pick) return undefined;
  if (pick.file) return pick.file;
  flow.close();
  return (await pickCheckpointFile(title, from.root))?.fsPath;
}

/** The system's (or VS Code's) open dialog for one checkpoint file, starting `near` a folder. */
export async function pickCheckpointFile(title: string, near?: string): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters: CHECKPOINT_FILTERS, defaultUri: near ? vscode.Uri.file(near) : undefined });
  return picked?.[0];
}
