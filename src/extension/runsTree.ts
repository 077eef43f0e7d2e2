// The Runs tree: runs (newest first) -> checkpoints and sample grids, refreshed by a file watcher on the runs
// folder and by the running training's events; then the official runs of jit.extraRunFolders -> their sanity
// warnings, checkpoint-*.pth and the sample grids made from them.
import * as path from 'path';
import * as vscode from 'vscode';
import { listOfficialCheckpoints, OfficialRunSummary } from '../io/officialOutput';
import { discoverRuns, listCheckpoints, listSampleGrids, RunSummary } from '../io/runs';
import type { OfficialRuns } from './officialRuns';
import { bestQuality } from './runInfo';
import { RunsLocation } from './runsLocation';
import { RunsFolderWatcher } from './runsFolderWatcher';
import { TrainingController } from './training';

export type RunsNode =
  | { kind: 'run'; dir: string; summary: RunSummary; official?: OfficialRunSummary }
  | { kind: 'checkpoint'; runDir: string; file: string; step: number; official?: boolean }
  | { kind: 'samples'; runDir: string; file: string; step: number }
  | { kind: 'warning'; runDir: string; message: string };

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watcher: RunsFolderWatcher;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [this.changed];

  constructor(private readonly location: RunsLocation, private readonly training: TrainingController, private readonly official: OfficialRuns) {
    this.watcher = new RunsFolderWatcher(location, '**/{run.json,*.safetensors,*.png}', () => this.refreshSoon(), ['create', 'delete']);
    this.subscriptions.push(
      location.onDidChange(() => this.refresh()),
      training.onDidEvent(({ event }) => ['started', 'checkpoint', 'samples', 'quality', 'finished'].includes(event.type) && this.refreshSoon()),
      training.onDidChangeStatus(() => this.refreshSoon()),
      official.onDidChange(() => this.refreshSoon()),
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
    if (!node) {
      const official = this.official.list().map((o): RunsNode => ({ kind: 'run', dir: o.dir, official: o, summary: { dir: o.dir, name: o.name, run: undefined, checkpoints: [], samples: listSampleGrids(o.dir) } }));
      return [...this.runs().map((summary): RunsNode => ({ kind: 'run', dir: summary.dir, summary })), ...official];
    }
    if (node.kind !== 'run') return [];
    if (node.official) {
      const warnings = (this.official.warnings(node.dir) ?? []).map((w): RunsNode => ({ kind: 'warning', runDir: node.dir, message: w.message }));
      const cks = listOfficialCheckpoints(node.dir).reverse().map((c): RunsNode => ({ kind: 'checkpoint', runDir: node.dir, file: c.file, step: c.epoch ?? -1, official: true }));
      const grids = listSampleGrids(node.dir).reverse().map((g): RunsNode => ({ kind: 'samples', runDir: node.dir, file: g.file, step: g.step }));
      return [...warnings, ...cks, ...grids];
    }
    const cks = listCheckpoints(node.dir).reverse().map((c): RunsNode => ({ kind: 'checkpoint', runDir: node.dir, file: c.file, step: c.step }));
    const grids = listSampleGrids(node.dir).reverse().map((g): RunsNode => ({ kind: 'samples', runDir: node.dir, file: g.file, step: g.step }));
    return [...cks, ...grids];
  }

  getParent(node: RunsNode): RunsNode | undefined {
    if (node.kind === 'run') return undefined;
    return this.getChildren().find((r) => r.kind === 'run' && r.dir === node.runDir);
  }

  /** An official run: its model and epoch from the newest checkpoint's args, a warning icon when a check failed. */
  private async officialItem(node: Extract<RunsNode, { kind: 'run' }>, o: OfficialRunSummary): Promise<vscode.TreeItem> {
    const info = await this.official.info(node.dir);
    const warnings = this.official.warnings(node.dir);
    const item = new vscode.TreeItem(o.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `official:${node.dir}`;
    const model = typeof info?.args.model === 'string' ? info.args.model : undefined;
    item.description = ['official', model, info?.epoch !== undefined ? `epoch ${info.epoch}` : `${o.checkpoints.length} checkpoints`].filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon(warnings?.length ? 'warning' : 'server-environment');
    item.contextValue = 'jitRunOfficial';
    item.resourceUri = vscode.Uri.file(node.dir);
    const tip = new vscode.MarkdownString().appendText(`${node.dir}\nOutput folder of the official JiT code: ${o.eventFiles.length} TensorBoard event files, ${o.checkpoints.length} checkpoints`);
    for (const w of warnings ?? []) tip.appendText(`\n⚠ ${w.message}`);
    item.tooltip = tip;
    return item;
  }

  getTreeItem(node: RunsNode): vscode.TreeItem | Promise<vscode.TreeItem> {
    if (node.kind === 'run' && node.official) return this.officialItem(node, node.official);
    if (node.kind === 'warning') {
      const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
      item.id = `warning:${node.runDir}:${node.message}`;
      item.iconPath = new vscode.ThemeIcon('warning');
      item.tooltip = node.message;
      item.contextValue = 'jitWarning';
      return item;
    }
    if (node.kind === 'run') {
      const run = node.summary.run;
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
    if (node.kind === 'checkpoint' && node.official) {
      const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
      item.id = `official-checkpoint:${node.file}`;
      item.description = node.step >= 0 ? `epoch ${node.step}` : 'newest';
      item.iconPath = new vscode.ThemeIcon('save');
      item.contextValue = 'jitOfficialCheckpoint';
      item.resourceUri = vscode.Uri.file(node.file);
      item.tooltip = 'Official training checkpoint: sample, explore and inspect it directly, or import it to continue training here';
      return item;
    }
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
