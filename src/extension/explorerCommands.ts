// Commands of the exploration panels: "JiT: Open Latent Viewer" (also on a checkpoint in the Runs tree),
// "JiT: Open CFG x EMA Grid", and opening a sample grid's recorded trajectory (from the Sample Gallery).
import * as path from 'path';
import * as vscode from 'vscode';
import { hasTrajectory } from '../analysis/trajectoryFile';
import { isRunFolder, latestCheckpoint } from '../io/officialOutput';
import { OFFICIAL_CHECKPOINT_RE } from '../io/officialRun';
import { CHECKPOINT_RE } from '../io/runs';
import { pickCheckpoint } from './checkpointPicker';
import { askInTurn } from './quickFlow';
import { DashboardDeps } from './dashboardPanel';
import { GridPanel, LatentPanel, TrajectoryPanel } from './explorerPanels';
import type { RunsNode } from './runsTree';
import { ensureTrusted } from './trust';

type Target = RunsNode | vscode.Uri | undefined;

/** The checkpoint a command was invoked on: a checkpoint node or file, the latest of a run, or one picked. */
async function checkpointFor(t: Target, deps: DashboardDeps, title: string): Promise<string | undefined> {
  if (t instanceof vscode.Uri) {
    if (CHECKPOINT_RE.test(path.basename(t.fsPath)) || OFFICIAL_CHECKPOINT_RE.test(path.basename(t.fsPath))) return t.fsPath;
    if (isRunFolder(t.fsPath)) return latestCheckpoint(t.fsPath);
  } else if (t) {
    if (t.kind === 'checkpoint') return t.file;
    const runDir = t.kind === 'run' ? t.dir : t.runDir;
    const last = latestCheckpoint(runDir);
    if (last) return last;
  }
  return askInTurn((flow) => pickCheckpoint(flow, title, { root: deps.location.current() }));
}

export function registerViewCommands(context: vscode.ExtensionContext, deps: DashboardDeps): void {
  const register = (id: string, fn: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        await fn(...args);
      } catch (e) {
        const text = e instanceof Error ? e.message : String(e);
        deps.log.error(`${id}: ${text}`);
        void vscode.window.showErrorMessage(text);
      }
    }));

  register('jit.openLatentViewer', async (t: Target) => {
    if (!ensureTrusted('The latent viewer')) return;
    const file = await checkpointFor(t, deps, 'JiT: Open Latent Viewer — which checkpoint?');
    if (file) LatentPanel.show(deps, file);
  });

  register('jit.openCfgEmaGrid', async (t: Target) => {
    if (!ensureTrusted('The CFG x EMA grid')) return;
    const file = await checkpointFor(t, deps, 'JiT: Open CFG x EMA Grid — which checkpoint?');
    if (file) GridPanel.show(deps, file);
  });

  register('jit.openTrajectory', (grid?: vscode.Uri | string, index?: number) => {
    const file = grid instanceof vscode.Uri ? grid.fsPath : grid;
    if (!file) throw new Error('Open a trajectory from a sample in the Sample Gallery.');
    if (!hasTrajectory(file)) throw new Error(`${path.basename(file)} has no recorded trajectory: grids written during training have none; "JiT: Sample Images" records one.`);
    TrajectoryPanel.show(deps, file, Number.isInteger(index) ? index! : 0);
  });
}
