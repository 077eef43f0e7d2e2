// Activation: wires the engine client, the training controller, the Runs tree, the Sample Gallery view, the
// dashboard panel (and its serializer) and the commands. Deactivation ends the engine process.
import * as vscode from 'vscode';
import type { DashboardState } from '../wire/dashboardMessages';
import { registerCheckpointCommands } from './checkpointCommands';
import { registerCommands } from './commands';
import { DashboardDeps, DashboardPanel } from './dashboardPanel';
import { EngineClient } from './engineClient';
import { GalleryViewProvider } from './galleryView';
import { OfficialRuns } from './officialRuns';
import { RunsLocation } from './runsLocation';
import { RunsNode, RunsTreeProvider } from './runsTree';
import { affectsEngine } from './settings';
import { TrainingController } from './training';
import { completeWalkthroughStep } from './walkthrough';

let engine: EngineClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('JiT', { log: true });
  engine = new EngineClient(context, log);
  const location = new RunsLocation(context);
  const training = new TrainingController(engine, log);
  const official = new OfficialRuns(location, engine, log);
  const tree = new RunsTreeProvider(location, training, official);
  const gallery = new GalleryViewProvider(context.extensionUri, location, training);
  const deps: DashboardDeps = { extensionUri: context.extensionUri, engine, training, location, official, log };
  const treeView = vscode.window.createTreeView<RunsNode>('jit.runs', { treeDataProvider: tree, showCollapseAll: true });
  const client = engine;
  let firstStepSeen = false;

  context.subscriptions.push(
    log, location, training, official, tree, gallery, treeView, client,
    vscode.window.registerWebviewViewProvider(GalleryViewProvider.viewType, gallery),
    vscode.window.registerWebviewPanelSerializer(DashboardPanel.viewType, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: DashboardState | undefined) => {
        DashboardPanel.revive(deps, panel, state);
      },
    }),
    treeView.onDidChangeSelection((e) => {
      const node = e.selection[0];
      if (node) gallery.showRun(node.kind === 'run' ? node.dir : node.runDir);
    }),
    training.onDidEvent(({ runDir, event }) => {
      if (event.type === 'step' && !firstStepSeen) {
        firstStepSeen = true;
        completeWalkthroughStep(vscode.commands, 'trained');
      }
      if (event.type !== 'started') return;
      DashboardPanel.show(deps, runDir, true);
      gallery.showRun(runDir);
    }),
    client.onDidExitUnexpectedly((msg) => {
      // A training or sampling in flight reports the loss itself, with what it means for the run.
      if (!training.busy) void vscode.window.showWarningMessage(`${msg} It starts again with the next JiT command.`);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (affectsEngine(e) && !training.busy && client.lastInfo) {
        log.info('Engine settings changed: the engine restarts with the next JiT command.');
        void client.stop();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => tree.refresh()),
  );
  void vscode.commands.executeCommand('setContext', 'jit.training', false);
  registerCommands(context, { ...deps, tree, gallery });
  registerCheckpointCommands(context, { extensionUri: context.extensionUri, engine: client, location, log, refreshRuns: () => tree.refresh() });
}

export async function deactivate(): Promise<void> {
  await engine?.shutdownForDeactivation();
  engine = undefined;
}
