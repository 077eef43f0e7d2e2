// The training dashboard (a webview panel): the run's metric series from metrics.jsonl plus the live steps
// streamed by the engine, the t-density, the latest sample grid, the configuration, and other runs to overlay.
// The page keeps its view settings with setState; the host re-sends all data whenever the page (re)loads, so
// hide/show and window reload (through the serializer) restore the panel with its data.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { unpackTensor } from '../engine/protocol';
import { listSampleGrids, runPaths } from '../io/runs';
import { packColumns } from '../../webview/shared/columns';
import type { DashboardState, FromDashboard, RunStatus, SampleView, ToDashboard } from '../../webview/shared/protocol';
import { EngineClient } from './engineClient';
import { runChoices, runDirById, runView } from './runInfo';
import { RunSeries } from './runSeries';
import { RunsLocation } from './runsLocation';
import { TrainingController } from './training';
import { webviewDist, webviewHtml } from './webviewHtml';

export interface DashboardDeps {
  extensionUri: vscode.Uri;
  engine: EngineClient;
  training: TrainingController;
  location: RunsLocation;
  log: vscode.LogOutputChannel;
}

const DENSITY_POINTS = 100;

export class DashboardPanel implements vscode.Disposable {
  static readonly viewType = 'jit.dashboard';
  private static current: DashboardPanel | undefined;

  private series = new RunSeries();
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly densityCache = new Map<string, ToDashboard>();

  /** Shows the dashboard of a run, reusing the open panel. */
  static show(deps: DashboardDeps, runDir: string, preserveFocus = false): DashboardPanel {
    const cur = DashboardPanel.current;
    if (cur) {
      cur.switchTo(runDir);
      cur.panel.reveal(undefined, preserveFocus);
      return cur;
    }
    const panel = vscode.window.createWebviewPanel(DashboardPanel.viewType, 'JiT Dashboard', { viewColumn: vscode.ViewColumn.Active, preserveFocus }, DashboardPanel.options(deps, runDir));
    return new DashboardPanel(panel, deps, runDir);
  }

  /** Restores a panel after a window reload (WebviewPanelSerializer). */
  static revive(deps: DashboardDeps, panel: vscode.WebviewPanel, state: DashboardState | undefined): DashboardPanel {
    DashboardPanel.current?.panel.dispose();
    const runDir = state?.runDir ?? deps.training.runDir ?? '';
    panel.webview.options = DashboardPanel.options(deps, runDir);
    return new DashboardPanel(panel, deps, runDir);
  }

  static get open(): DashboardPanel | undefined {
    return DashboardPanel.current;
  }

  private static options(deps: DashboardDeps, runDir: string): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // Only the page's own bundle and this run's sample grids.
    const roots = [webviewDist(deps.extensionUri)];
    if (runDir) roots.push(vscode.Uri.file(runPaths(runDir).samples));
    return { enableScripts: true, enableForms: false, localResourceRoots: roots, retainContextWhenHidden: false };
  }

  private constructor(readonly panel: vscode.WebviewPanel, private readonly deps: DashboardDeps, private runDir: string) {
    DashboardPanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'jit-activity.svg');
    this.render();
    this.subscriptions.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: FromDashboard) => this.receive(m)),
      deps.training.onDidEvent(({ runDir, event }) => {
        if (runDir !== this.runDir) return;
        if (event.type === 'step') {
          const from = this.series.rows.length;
          if (this.series.add(event.metrics) === 'rewind') this.sendRun();
          else this.post({ type: 'append', series: this.series.pack(from) });
        } else if (event.type === 'quality') {
          const from = this.series.quality.length;
          if (this.series.addQuality(event.metrics) === 'rewind') this.sendRun();
          else this.post({ type: 'appendQuality', quality: this.series.packQuality(from) });
        } else if (event.type === 'samples') {
          const s = this.sampleView(event.file, event.step);
          if (s) this.post({ type: 'sample', sample: s });
        }
      }),
      deps.training.onDidChangeStatus(({ runDir, status }) => runDir === this.runDir && this.post({ type: 'status', status })),
    );
  }

  get run(): string {
    return this.runDir;
  }

  dispose(): void {
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.subscriptions.forEach((d) => d.dispose());
    this.panel.dispose();
  }

  private switchTo(runDir: string): void {
    if (runDir === this.runDir) return;
    this.runDir = runDir;
    this.panel.webview.options = DashboardPanel.options(this.deps, runDir);
    this.render();
  }

  private render(): void {
    this.panel.title = this.runDir ? `JiT: ${path.basename(this.runDir)}` : 'JiT Dashboard';
    this.panel.webview.html = webviewHtml(this.panel.webview, this.deps.extensionUri, 'dashboard', 'JiT Dashboard');
  }

  private post(m: ToDashboard): void {
    void this.panel.webview.postMessage(m);
  }

  private receive(m: FromDashboard): void {
    switch (m.type) {
      case 'ready':
        this.sendRun();
        void this.sendDensity();
        return;
      case 'overlay': {
        const dir = runDirById(this.deps.location.current(), m.id);
        if (!dir) return this.post({ type: 'error', message: `The run "${m.id}" is no longer in the runs folder.` });
        const other = RunSeries.fromFile(runPaths(dir).metrics);
        this.post({ type: 'overlay', id: m.id, series: other.pack(), quality: other.packQuality() });
        return;
      }
      case 'stop':
        void vscode.commands.executeCommand('jit.stopTraining');
        return;
      case 'saveCheckpoint':
        void vscode.commands.executeCommand('jit.saveCheckpoint');
        return;
      case 'openSample': {
        const last = listSampleGrids(this.runDir).at(-1);
        if (last) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(last.file), { viewColumn: vscode.ViewColumn.Beside });
        return;
      }
    }
  }

  private sampleView(file: string, step: number): SampleView | undefined {
    if (!fs.existsSync(file)) return undefined;
    // The file's modification time busts the webview's cache when a grid is rewritten after a resume.
    const uri = this.panel.webview.asWebviewUri(vscode.Uri.file(file)).with({ query: `v=${fs.statSync(file).mtimeMs}` });
    return { uri: uri.toString(), step, caption: `${path.basename(file)} (EMA weights, ${path.basename(this.runDir)})` };
  }

  private sendRun(): void {
    if (!this.runDir || !fs.existsSync(runPaths(this.runDir).runFile)) {
      this.post({ type: 'error', message: this.runDir ? `The run folder ${this.runDir} no longer exists (or has no run.json).` : 'No run to show: start one with JiT: Train.' });
      return;
    }
    this.series = RunSeries.fromFile(runPaths(this.runDir).metrics);
    const training = this.deps.training.statusOf(this.runDir);
    // Devices are known for the run this engine is training; for others the table shows what run.json says.
    const b = training ? this.deps.engine.lastInfo?.backend : undefined;
    const view = runView(this.runDir, b ? `${b.devices.join(', ')} (${b.package})` : undefined);
    const status: RunStatus = training ?? { state: 'idle', step: this.series.lastStep, totalSteps: view.totalSteps };
    const last = listSampleGrids(this.runDir).at(-1);
    this.post({
      type: 'run', runDir: this.runDir, run: view, series: this.series.pack(), quality: this.series.packQuality(), status,
      sample: last ? this.sampleView(last.file, last.step) : undefined,
      runs: runChoices(this.deps.location.current()).filter((r) => r.id !== view.id),
    });
  }

  private async sendDensity(): Promise<void> {
    const view = runView(this.runDir);
    const key = `${view.pMean}:${view.pStd}`;
    let msg = this.densityCache.get(key);
    if (!msg) {
      try {
        const { peer } = await this.deps.engine.ensure();
        const pack = await peer.request('tDensity', { pMean: view.pMean, pStd: view.pStd, points: DENSITY_POINTS });
        msg = { type: 'density', density: packColumns({ t: unpackTensor(pack, 't', 'float64').data, density: unpackTensor(pack, 'density', 'float64').data }) };
        this.densityCache.set(key, msg);
      } catch (e) {
        this.deps.log.warn(`No t-density for the dashboard: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
    }
    this.post(msg);
  }
}
