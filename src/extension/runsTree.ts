// The Runs tree: runs (newest first) -> checkpoints and sample grids, refreshed by a file watcher on the runs
// folder and by the running training's events.
import * as path from 'path';
import * as vscode from 'vscode';
import { discoverRuns, listCheckpoints, listSampleGrids, RunSummary } from '../io/runs';
import { type RunFile, bestQuality } from './runInfo';
import { RunsLocation } from './runsLocation';
import { RunsFolderWatcher } from './runsFolderWatcher';
import { TrainingController } from './training';

export type RunsNode =
  | { kind: 'run'; dir: string; summary: RunSummary }
  | { kind: 'checkpoint'; runDir: string; file: string; step: number }
  | { kind: 'samples'; runDir: string; file: string; step: number };

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watcher: RunsFolderWatcher;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [this.changed];

  constructor(private readonly location: RunsLocation, private readonly training: TrainingController) {
    this.watcher = new RunsFolderWatcher(location, '**/{run.json,*.safetensors,*.png}', () => this.refreshSoon(), ['create', 'delete']);
    this.subscriptions.push(
      location.onDidChange(() => this.refresh()),
      training.onDidEvent(({ event }) => ['started', 'checkpoint', 'samples', 'quality', 'finished'].includes(event.type) && this.refreshSoon()),
      training.onDidChangeStatus(() => this.refreshSoon()),
    );
    this.watcher.ensure();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.watcher.dispose();
    this.subscriptions.forEach((d) => d.dispose());
  }

  refresh(): void {
    this.watcher.ensure();
    this.changed.fire(undefined);
  }

  /** Coalesces bursts of file events (a checkpoint is a temporary file plus a rename). */
  refreshSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 300);
  }

  runs(): RunSummary[] {
    const root = this.location.current();
    return root ? discoverRuns(root) : [];
  }

  getChildren(node?: RunsNode): RunsNode[] {
    if (!node) return this.runs().map((summary) => ({ kind: 'run', dir: summary.dir, summary }));
    if (node.kind !== 'run') return [];
    const cks = listCheckpoints(node.dir).reverse().map((c): RunsNode => ({ kind: 'checkpoint', runDir: node.dir, file: c.file, step: c.step }));
    const grids = listSampleGrids(node.dir).reverse().map((g): RunsNode => ({ kind: 'samples', runDir: node.dir, file: g.file, step: g.step }));
    return [...cks, ...grids];
  }

  getParent(node: RunsNode): RunsNode | undefined {
    if (node.kind === 'run') return undefined;
    const summary = this.runs().find((r) => r.dir === node.runDir);
    return summary ? { kind: 'run', dir: summary.dir, summary } : undefined;
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.kind === 'run') {
      const run = node.summary.run as RunFile | undefined;
      const status = this.training.statusOf(node.dir);
      const item = new vscode.TreeItem(node.summary.name, status ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `run:${node.dir}`;
      const steps = run?.config?.steps;
      const last = node.summary.checkpoints.at(-1)?.step;
      const best = bestQuality(node.dir);
      item.description = [run?.preset ?? 'run.json unreadable', status ? `${status.state} ${status.step}/${status.totalSteps}` : last !== undefined ? `step ${last}${steps ? `/${steps}` : ''}` : 'no checkpoint',
        best ? `best FD ${best.fd.toPrecision(3)}` : undefined].filter(Boolean).join(' · ');
      item.iconPath = new vscode.ThemeIcon(status ? 'sync~spin' : 'beaker');
      item.contextValue = status ? 'jitRunTraining' : node.summary.checkpoints.length ? 'jitRunResumable' : 'jitRun';
      item.resourceUri = vscode.Uri.file(node.dir);
      const quality = best ? `\nbest FD ${best.fd.toPrecision(3)} at step ${best.step} (floor ${best.fdFloor.toPrecision(3)}${best.classAccuracy === null ? '' : `, class accuracy ${(100 * best.classAccuracy).toFixed(1)}%`})` : '';
      item.tooltip = new vscode.MarkdownString().appendText(`${node.summary.name}\n${run?.dataset ?? ''}\n${node.summary.checkpoints.length} checkpoints, ${node.summary.samples.length} sample grids${quality}`);
      return item;
    }
    const name = path.basename(node.file);
    if (node.kind === 'checkpoint') {
      const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
      item.id = `checkpoint:${node.file}`;
      item.description = 'checkpoint';
      item.iconPath = new vscode.ThemeIcon('save');
      item.contextValue = 'jitCheckpoint';
      item.resourceUri = vscode.Uri.file(node.file);
      item.tooltip = `Checkpoint at step ${node.step} (official JiT parameter names; loads in the PyTorch code)`;
      return item;
    }
    const item = new vscode.TreeItem(`samples at step ${node.step}`, vscode.TreeItemCollapsibleState.None);
    item.id = `samples:${node.file}`;
    item.description = name;
    item.iconPath = new vscode.ThemeIcon('file-media');
    item.contextValue = 'jitSampleGrid';
    item.resourceUri = vscode.Uri.file(node.file);
    item.command = { command: 'jit.openSampleGrid', title: 'Open Sample Grid', arguments: [node] };
    return item;
  }
}
