// The exploration panels on the host: the Heun trajectory viewer, the bottleneck latent viewer and the CFG x EMA
// grid. Each asks the engine for its numbers (computed there), adds names from the run (class names), and posts
// them to its page with the tensors as one ArrayBuffer. One panel of each kind, reused; the page re-asks on load.
import * as path from 'path';
import * as vscode from 'vscode';
import { ENGINE_TIMEOUTS } from '../engine/protocol';
import { runCheckpoints, runDirOfCheckpoint } from '../io/officialOutput';
import type { FromGrid, FromLatent, FromTrajectory, GridCellAt, GridSettings, ToGrid, ToLatent, ToTrajectory } from '../wire/explorerMessages';
import type { GridView } from '../engine/viewTypes';
import { CellRequest, gridCellRequest, gridScoresView, sampleCommandLine } from './gridCells';
import { GRID_SCORE_N } from '../quality/record';
import { DashboardDeps } from './dashboardPanel';
import { classLabel, classNames } from './runInfo';
import { webviewDist, webviewHtml, WebviewName } from './webviewHtml';
import { completeWalkthroughStep } from './walkthrough';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const runOf = runDirOfCheckpoint;
const nameOf = (runDir: string, l: number) => classLabel(classNames(runDir), l);

abstract class ExplorerPanel<To, From extends { type: string }> {
  protected readonly panel: vscode.WebviewPanel;
  private readonly subs: vscode.Disposable[] = [];
  protected abortController = new AbortController();

  protected constructor(readonly deps: DashboardDeps, viewType: string, name: WebviewName, title: string) {
    this.panel = vscode.window.createWebviewPanel(viewType, title, vscode.ViewColumn.Active, {
      enableScripts: true, enableForms: false, localResourceRoots: [webviewDist(deps.extensionUri)], retainContextWhenHidden: false,
    });
    this.panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'jit-activity.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, deps.extensionUri, name, title);
    this.subs.push(
      this.panel.webview.onDidReceiveMessage((m: From) => void this.receive(m).catch((e) => this.post(this.errorMessage(message(e))))),
      this.panel.onDidDispose(() => this.dispose()),
    );
  }

  protected abstract receive(m: From): Promise<void>;
  protected abstract errorMessage(text: string): To;
  protected abstract onDisposed(): void;

  protected post(m: To): void {
    void this.panel.webview.postMessage(m);
  }

  /** Aborts what the previous request of this panel still computes, and gives a fresh signal. */
  protected freshSignal(): AbortSignal {
    this.abortController.abort();
    this.abortController = new AbortController();
    return this.abortController.signal;
  }

  private dispose(): void {
    this.abortController.abort();
    this.subs.forEach((s) => s.dispose());
    this.onDisposed();
  }
}

export class TrajectoryPanel extends ExplorerPanel<ToTrajectory, FromTrajectory> {
  static readonly viewType = 'jit.trajectory';
  private static current: TrajectoryPanel | undefined;

  static show(deps: DashboardDeps, grid: string, index: number): void {
    const cur = TrajectoryPanel.current ?? new TrajectoryPanel(deps);
    cur.grid = grid;
    cur.index = index;
    cur.panel.title = `Trajectory: ${path.basename(grid)}`;
    cur.panel.reveal();
    void cur.load();
  }

  private grid = '';
  private index = 0;

  private constructor(deps: DashboardDeps) {
    super(deps, TrajectoryPanel.viewType, 'trajectory', 'JiT Trajectory');
    TrajectoryPanel.current = this;
  }

  protected onDisposed(): void {
    if (TrajectoryPanel.current === this) TrajectoryPanel.current = undefined;
  }

  protected errorMessage(text: string): ToTrajectory {
    return { type: 'error', message: text };
  }

  private async load(): Promise<void> {
    if (!this.grid) return;
    try {
      const { peer } = await this.deps.engine.ensure();
      const v = await peer.request('trajectoryView', { grid: this.grid }, { timeoutMs: ENGINE_TIMEOUTS.trajectoryView });
      const runDir = runOf(v.settings.checkpoint);
      const s = v.settings;
      this.post({
        type: 'trajectory', index: this.index,
        data: {
          title: `${path.basename(runOf(this.grid))} / ${path.basename(this.grid)}`,
          settings: `${s.n} images, ${s.steps} ${s.method} steps, CFG ${s.cfgScale} in t ∈ (${s.intervalMin}, ${s.intervalMax}), ${s.weights} weights, seed ${s.seed}, ${path.basename(s.checkpoint)}`,
          labels: v.indices.map((i) => nameOf(runDir, s.labels[i])), imageSize: v.imageSize, steps: v.steps, pcaExplained: v.pcaExplained, pack: v.tensors,
        },
      });
      completeWalkthroughStep(vscode.commands, 'trajectory');
    } catch (e) {
      this.post({ type: 'error', message: `The trajectory could not be loaded: ${message(e)}` });
    }
  }

  protected async receive(m: FromTrajectory): Promise<void> {
    if (m.type === 'ready') return this.load();
    if (m.type === 'select') {
      this.index = m.index;
      return;
    }
    if (m.type === 'compare') {
      const signal = this.freshSignal();
      this.post({ type: 'busy', message: 'Sampling the same noise with Euler and with Heun in the engine…' });
      try {
        const { peer } = await this.deps.engine.ensure();
        const c = await peer.request('compareMethods', { grid: this.grid, index: m.index }, { timeoutMs: ENGINE_TIMEOUTS.compareMethods, signal });
        this.post({ type: 'comparison', data: { index: m.index, imageSize: c.imageSize, heun: c.heun, euler: c.euler, finalRmsDifference: c.finalRmsDifference, pack: c.tensors } });
      } catch (e) {
        if (!signal.aborted) this.post({ type: 'error', message: `The comparison failed: ${message(e)}` });
      }
    }
  }
}

export class LatentPanel extends ExplorerPanel<ToLatent, FromLatent> {
  static readonly viewType = 'jit.latent';
  private static current: LatentPanel | undefined;

  static show(deps: DashboardDeps, checkpoint: string): void {
    const cur = LatentPanel.current ?? new LatentPanel(deps);
    cur.checkpoint = checkpoint;
    cur.panel.title = `Latents: ${path.basename(runOf(checkpoint))}`;
    cur.panel.reveal();
    void cur.load();
  }

  private checkpoint = '';

  private constructor(deps: DashboardDeps) {
    super(deps, LatentPanel.viewType, 'latent', 'JiT Latent Viewer');
    LatentPanel.current = this;
  }

  protected onDisposed(): void {
    if (LatentPanel.current === this) LatentPanel.current = undefined;
  }

  protected errorMessage(text: string): ToLatent {
    return { type: 'error', message: text };
  }

  private async load(): Promise<void> {
    if (!this.checkpoint) return;
    const file = this.checkpoint;
    this.post({ type: 'busy', message: `Analysing ${path.basename(file)} in the engine…` });
    try {
      const { peer } = await this.deps.engine.ensure();
      const v = await peer.request('bottleneckView', { checkpoint: file }, { timeoutMs: ENGINE_TIMEOUTS.bottleneckView });
      if (file !== this.checkpoint) return; // the slider moved on
      const runDir = runOf(file);
      const cks = runCheckpoints(runDir);
      const { tensors, labels, classNames: names, ...rest } = v;
      this.post({
        type: 'latent',
        data: {
          ...rest, title: `${path.basename(runDir)}: bottleneck at step ${v.step ?? '?'}`, labels: labels.map((l) => names[l] ?? nameOf(runDir, l)),
          classCount: names.length, checkpoints: cks.map((c) => c.step), current: Math.max(0, cks.findIndex((c) => c.file === file)), pack: tensors,
        },
      });
    } catch (e) {
      this.post({ type: 'error', message: `The bottleneck analysis failed: ${message(e)}` });
    }
  }

  protected async receive(m: FromLatent): Promise<void> {
    if (m.type === 'ready') return this.load();
    if (m.type === 'checkpoint') {
      const c = runCheckpoints(runOf(this.checkpoint))[m.index];
      if (!c) throw new Error('That checkpoint is gone (keep-last-N may have removed it); pick another.');
      this.checkpoint = c.file;
      return this.load();
    }
  }
}

export class GridPanel extends ExplorerPanel<ToGrid, FromGrid> {
  static readonly viewType = 'jit.cfgEmaGrid';
  private static current: GridPanel | undefined;

  static show(deps: DashboardDeps, checkpoint: string): void {
    const cur = GridPanel.current ?? new GridPanel(deps);
    cur.checkpoint = checkpoint;
    cur.panel.title = `CFG × EMA: ${path.basename(runOf(checkpoint))}`;
    cur.panel.reveal();
    void cur.load();
  }

  private checkpoint = '';
  private settings: GridSettings | undefined;
  /** The grid on the page, for its cells' settings. */
  private shown: GridView | undefined;

  private constructor(deps: DashboardDeps) {
    super(deps, GridPanel.viewType, 'grid', 'JiT CFG × EMA Grid');
    GridPanel.current = this;
  }

  protected onDisposed(): void {
    if (GridPanel.current === this) GridPanel.current = undefined;
  }

  protected errorMessage(text: string): ToGrid {
    return { type: 'error', message: text };
  }

  private async load(): Promise<void> {
    if (!this.checkpoint) return;
    const signal = this.freshSignal();
    this.post({ type: 'busy', message: 'Sampling the grid in the engine…' });
    try {
      const { peer } = await this.deps.engine.ensure();
      const g = await peer.request('gridView', { checkpoint: this.checkpoint, ...this.settings }, {
        timeoutMs: ENGINE_TIMEOUTS.gridView, signal,
        onProgress: (p) => this.post({ type: 'busy', message: `Sampling the grid in the engine: ${p.done} of ${p.total} cells…` }),
      });
      this.shown = g;
      const runDir = runOf(this.checkpoint);
      this.post({
        type: 'grid',
        data: {
          title: `${path.basename(runDir)}: CFG × EMA at step ${g.step ?? '?'}`, imageSize: g.imageSize, labels: g.labels.map((l) => nameOf(runDir, l)),
          rows: g.weights, intervals: g.intervals.map((i) => (i.min === 0 && i.max === 1 ? 'guidance at every step' : `guidance in t ∈ (${i.min}, ${i.max})`)),
          settings: { cfgScales: g.cfgScales, seed: g.seed, n: g.n, steps: g.steps }, engine: g.engine, seconds: g.seconds, pack: g.tensors,
        },
      });
    } catch (e) {
      if (!signal.aborted) this.post({ type: 'error', message: `The grid failed: ${message(e)}` });
    }
  }

  /** Scores the cells of the grid on the page (its scales, seed and steps), saved beside the run's sample grids. */
  private async score(sweep: boolean): Promise<void> {
    const g = this.shown;
    if (!g) return;
    const signal = this.freshSignal();
    this.post({ type: 'scoring', message: 'Scoring the cells in the engine…' });
    try {
      const { peer } = await this.deps.engine.ensure();
      const s = await peer.request('gridScores', { checkpoint: this.checkpoint, cfgScales: g.cfgScales, seed: g.seed, steps: g.steps, sweep }, {
        timeoutMs: ENGINE_TIMEOUTS.gridScores, signal,
        onProgress: (p) => this.post({ type: 'scoring', message: `Scoring the cells: ${p.done} of ${p.total}, ${sweep ? GRID_SCORE_N.sweep : GRID_SCORE_N.quick} samples each…` }),
      });
      if (this.shown !== g) return;
      this.post({ type: 'scores', scores: gridScoresView(g, s) });
    } catch (e) {
      if (!signal.aborted) this.post({ type: 'scoring', message: `Scoring failed: ${message(e)}` });
    }
  }

  private cellRequest(at: GridCellAt): CellRequest {
    if (!this.shown) throw new Error('The grid is still being sampled.');
    return gridCellRequest(this.shown, this.checkpoint, at);
  }

  protected async receive(m: FromGrid): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'sample':
        this.settings = m.settings ?? this.settings;
        return this.load();
      case 'score':
        return this.score(m.sweep);
      case 'sampleCell': {
        const request = this.cellRequest(m);
        await vscode.commands.executeCommand('jit.sample', vscode.Uri.file(request.checkpoint), request);
        return;
      }
      case 'copyCell': {
        await vscode.env.clipboard.writeText(sampleCommandLine(this.cellRequest(m)));
        void vscode.window.setStatusBarMessage('JiT: the cell\'s jit sample command is copied', 3000);
        return;
      }
      case 'savePng': {
        const png = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(m.dataUrl);
        if (!png) throw new Error('The page sent no PNG image to save.');
        const home = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(runOf(this.checkpoint));
        const name = `${path.basename(runOf(this.checkpoint))}-cfg-ema-step${this.shown?.step ?? ''}-seed${this.shown?.seed ?? 0}-${m.interval === 0 ? 'interval' : 'no-interval'}.png`;
        const target = await vscode.window.showSaveDialog({ title: 'Save the CFG × EMA grid as PNG', defaultUri: vscode.Uri.joinPath(home, name), filters: { 'PNG image': ['png'] } });
        if (!target) return;
        await vscode.workspace.fs.writeFile(target, Buffer.from(png[1], 'base64'));
        void vscode.window.showInformationMessage(`Saved ${path.basename(target.fsPath)}.`);
        return;
      }
    }
  }
}
